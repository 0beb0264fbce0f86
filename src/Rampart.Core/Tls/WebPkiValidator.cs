using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Rampart.Core.Tls;

/// <summary>The WebPKI verdict on a presented certificate chain for one host name.</summary>
public sealed record WebPkiVerdict(bool IsValid, WebPkiFailure Failure, string Message)
{
    public static WebPkiVerdict Valid(string message) => new(true, WebPkiFailure.None, message);
}

/// <summary>Why WebPKI validation failed; maps onto TLS-RPT result types (RFC 8460 §4.3.2).</summary>
public enum WebPkiFailure
{
    None,
    /// <summary>certificate-host-mismatch</summary>
    HostMismatch,
    /// <summary>certificate-expired (or not yet valid)</summary>
    Expired,
    /// <summary>certificate-not-trusted: no path to a trusted root</summary>
    NotTrusted,
    /// <summary>No certificate at all.</summary>
    NoCertificate,
}

/// <summary>
/// WebPKI validation as MTA-STS requires it (RFC 8461 §4.2): a chain to a trusted root (the system store plus the
/// extra anchors), valid at the time, and a name matching the host (RFC 6125, wildcards only as the whole leftmost
/// label). One chain policy serves both paths: a TLS handshake builds the chain once with <see cref="CreateChainPolicy"/>
/// and <see cref="FromHandshake"/> reads its result; <see cref="Validate"/> builds it for certificates at rest.
/// </summary>
public sealed class WebPkiValidator
{
    private readonly TimeProvider _time;
    private readonly Lazy<X509ChainPolicy> _policy;

    /// <summary>
    /// Reads nothing yet: with extra anchors the system store is read (every file of /etc/ssl/certs, 0.3–0.5 s) at the
    /// first validation, not here, so a daemon answers its first lookups without waiting for it. Thread-safe: concurrent
    /// first validations build the policy once.
    /// </summary>
    public WebPkiValidator(TrustAnchors anchors, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(anchors);
        _time = time;
        _policy = new(() => ChainPolicy(anchors), LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>True once the chain policy (and with extra anchors the system store) has been read: tests only.</summary>
    internal bool HasReadTrustStore => _policy.IsValueCreated;

    private static X509ChainPolicy ChainPolicy(TrustAnchors anchors)
    {
        var policy = new X509ChainPolicy
        {
            RevocationMode = X509RevocationMode.NoCheck,
            DisableCertificateDownloads = true,
        };
        if (anchors.ExtraRoots.Count > 0)
        {
            // Custom root trust replaces the system store, so the system roots join the extra anchors (read once).
            policy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            policy.CustomTrustStore.AddRange(SystemRoots.Value);
            policy.CustomTrustStore.AddRange(anchors.ExtraRoots);
        }
        return policy;
    }

    private static readonly Lazy<X509Certificate2Collection> SystemRoots = new(() =>
    {
        using var store = new X509Store(StoreName.Root, StoreLocation.LocalMachine);
        store.Open(OpenFlags.ReadOnly | OpenFlags.OpenExistingOnly);
        return store.Certificates;
    });

    /// <summary>A copy of the chain policy for <see cref="SslClientAuthenticationOptions.CertificateChainPolicy"/>.</summary>
    public X509ChainPolicy CreateChainPolicy() => _policy.Value.Clone();

    /// <summary>Maps the chain the TLS handshake built (with <see cref="CreateChainPolicy"/>) to a verdict, without building another.</summary>
    public static WebPkiVerdict FromHandshake(X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors, string hostname)
    {
        if (certificate is null || errors.HasFlag(SslPolicyErrors.RemoteCertificateNotAvailable))
        {
            return new(false, WebPkiFailure.NoCertificate, "the server presented no certificate");
        }
        using var leaf = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        if (errors.HasFlag(SslPolicyErrors.RemoteCertificateChainErrors))
        {
            var statuses = chain?.ChainStatus.Select(s => s.Status).Distinct().ToList() ?? [];
            return ChainFailure(leaf, statuses);
        }
        if (errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch))
        {
            return NameMismatch(leaf, hostname);
        }
        return Valid(leaf, hostname);
    }

    /// <summary>Validates a leaf and the certificates presented with it, at the injected time.</summary>
    public WebPkiVerdict Validate(X509Certificate2? leaf, IReadOnlyList<X509Certificate2> presented, string hostname)
    {
        if (leaf is null)
        {
            return new(false, WebPkiFailure.NoCertificate, "the server presented no certificate");
        }
        using var chain = new X509Chain { ChainPolicy = CreateChainPolicy() };
        chain.ChainPolicy.VerificationTime = _time.GetUtcNow().UtcDateTime;
        chain.ChainPolicy.VerificationTimeIgnored = false;
        foreach (var cert in presented)
        {
            if (!cert.RawDataMemory.Span.SequenceEqual(leaf.RawDataMemory.Span))
            {
                chain.ChainPolicy.ExtraStore.Add(cert);
            }
        }
        if (!chain.Build(leaf))
        {
            return ChainFailure(leaf, chain.ChainStatus.Select(s => s.Status).Distinct().ToList());
        }
        return leaf.MatchesHostname(hostname, allowWildcards: true, allowCommonName: false) ? Valid(leaf, hostname) : NameMismatch(leaf, hostname);
    }

    private static WebPkiVerdict ChainFailure(X509Certificate2 leaf, List<X509ChainStatusFlags> statuses)
    {
        if (statuses.Contains(X509ChainStatusFlags.NotTimeValid))
        {
            return new(false, WebPkiFailure.Expired,
                $"certificate for {Subject(leaf)} is outside its validity period ({leaf.NotBefore.ToUniversalTime():u} to {leaf.NotAfter.ToUniversalTime():u}) or a CA in its chain is");
        }
        return new(false, WebPkiFailure.NotTrusted, $"certificate for {Subject(leaf)} is not trusted: {string.Join(", ", statuses)}");
    }

    private static WebPkiVerdict NameMismatch(X509Certificate2 leaf, string hostname) =>
        new(false, WebPkiFailure.HostMismatch, $"certificate names [{string.Join(", ", DnsNames(leaf))}] do not cover {hostname}");

    private static WebPkiVerdict Valid(X509Certificate2 leaf, string hostname) =>
        WebPkiVerdict.Valid($"certificate for {hostname} is valid (issuer {leaf.Issuer}, expires {leaf.NotAfter.ToUniversalTime():u})");

    private static string Subject(X509Certificate2 cert) =>
        DnsNames(cert).FirstOrDefault() ?? cert.GetNameInfo(X509NameType.SimpleName, forIssuer: false);

    internal static IEnumerable<string> DnsNames(X509Certificate2 cert)
    {
        foreach (var ext in cert.Extensions)
        {
            if (ext is X509SubjectAlternativeNameExtension san)
            {
                foreach (var name in san.EnumerateDnsNames())
                {
                    yield return name;
                }
            }
        }
    }
}
