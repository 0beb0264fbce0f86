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
    private readonly Lazy<RootIndex?> _roots;

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
        _roots = new(() => _policy.Value.TrustMode == X509ChainTrustMode.CustomRootTrust ? new RootIndex(_policy.Value.CustomTrustStore) : null,
            LazyThreadSafetyMode.ExecutionAndPublication);
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

    /// <summary>
    /// The chain policy for a TLS handshake whose verdict <see cref="CheckHandshake"/> gives. With the system store
    /// alone, <see cref="CreateChainPolicy"/>. With extra anchors, custom root trust with no anchor at all: OpenSSL
    /// builds a trust store of every anchor for every chain it builds (about 145 roots: a third of a policy fetch's
    /// CPU, measured in docs/benchmarks.md section 23), so the handshake builds the presented chain only and
    /// <see cref="CheckHandshake"/> anchors it against just the roots that can have issued it.
    /// </summary>
    public X509ChainPolicy CreateHandshakeChainPolicy()
    {
        if (_roots.Value is null)
        {
            return CreateChainPolicy();
        }
        var policy = CreateChainPolicy();
        policy.CustomTrustStore.Clear();
        return policy;
    }

    /// <summary>
    /// The verdict on a handshake made with <see cref="CreateHandshakeChainPolicy"/>: with the system store alone the
    /// handshake's own chain (<see cref="FromHandshake"/>); with extra anchors the chain built again against the
    /// anchors named as issuers in it, and, if that finds no trusted path, against every anchor (so a verdict of
    /// "not trusted" is always the whole store's).
    /// </summary>
    public WebPkiVerdict CheckHandshake(X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors, string hostname)
    {
        if (_roots.Value is not { } roots || certificate is null || !errors.HasFlag(SslPolicyErrors.RemoteCertificateChainErrors))
        {
            return FromHandshake(certificate, chain, errors, hostname);
        }
        using var leaf = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        var presented = new X509Certificate2Collection();
        if (chain is not null)
        {
            presented.AddRange(chain.ChainPolicy.ExtraStore);
            foreach (var element in chain.ChainElements)
            {
                presented.Add(element.Certificate);
            }
        }
        var statuses = BuildAgainst(leaf, presented, roots.IssuersOf(leaf, presented));
        if (statuses is not null)
        {
            statuses = BuildAgainst(leaf, presented, CreateChainPolicy().CustomTrustStore);
        }
        if (statuses is not null)
        {
            return ChainFailure(leaf, statuses);
        }
        return FromHandshake(certificate, chain, errors & ~SslPolicyErrors.RemoteCertificateChainErrors, hostname);
    }

    /// <summary>Builds the chain of <paramref name="leaf"/> with <paramref name="anchors"/> as the only trust: null when it is trusted, else its statuses.</summary>
    private List<X509ChainStatusFlags>? BuildAgainst(X509Certificate2 leaf, X509Certificate2Collection presented, X509Certificate2Collection anchors)
    {
        using var rebuilt = new X509Chain { ChainPolicy = CreateChainPolicy() };
        rebuilt.ChainPolicy.CustomTrustStore.Clear();
        rebuilt.ChainPolicy.CustomTrustStore.AddRange(anchors);
        rebuilt.ChainPolicy.ExtraStore.AddRange(presented);
        return rebuilt.Build(leaf) ? null : rebuilt.ChainStatus.Select(s => s.Status).Distinct().ToList();
    }

    /// <summary>The custom trust store by subject name: the anchors that can have issued a certificate, found without OpenSSL's store.</summary>
    private sealed class RootIndex
    {
        private readonly Dictionary<string, List<X509Certificate2>> _bySubject = new(StringComparer.Ordinal);

        public RootIndex(X509Certificate2Collection anchors)
        {
            foreach (var anchor in anchors)
            {
                var key = Convert.ToHexString(anchor.SubjectName.RawData);
                if (!_bySubject.TryGetValue(key, out var list))
                {
                    _bySubject[key] = list = [];
                }
                list.Add(anchor);
            }
        }

        /// <summary>The anchors whose subject is the issuer of the leaf or of a presented certificate, and their own issuers in turn.</summary>
        public X509Certificate2Collection IssuersOf(X509Certificate2 leaf, X509Certificate2Collection presented)
        {
            var found = new X509Certificate2Collection();
            var pending = new Queue<X509Certificate2>([leaf, .. presented]);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            while (pending.TryDequeue(out var cert))
            {
                var issuer = Convert.ToHexString(cert.IssuerName.RawData);
                if (seen.Add(issuer) && _bySubject.TryGetValue(issuer, out var anchors))
                {
                    found.AddRange(anchors.ToArray());
                    anchors.ForEach(pending.Enqueue);
                }
            }
            return found;
        }
    }

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
