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
/// WebPKI validation as MTA-STS requires it (RFC 8461 §4.2): a chain to a trusted root (system store plus the extra
/// anchors), valid at the given time, and a name matching the host (RFC 6125 rules as implemented by
/// <see cref="X509Certificate2.MatchesHostname"/>). A pure function of its inputs: TLS callbacks only adapt to it.
/// </summary>
public sealed class WebPkiValidator(TrustAnchors anchors, TimeProvider time)
{
    public WebPkiVerdict Validate(X509Certificate2? leaf, IReadOnlyList<X509Certificate2> presented, string hostname)
    {
        if (leaf is null)
        {
            return new(false, WebPkiFailure.NoCertificate, "the server presented no certificate");
        }
        var now = time.GetUtcNow();
        if (now < leaf.NotBefore.ToUniversalTime() || now > leaf.NotAfter.ToUniversalTime())
        {
            return new(false, WebPkiFailure.Expired,
                $"certificate for {Subject(leaf)} is outside its validity period ({leaf.NotBefore.ToUniversalTime():u} to {leaf.NotAfter.ToUniversalTime():u})");
        }
        var chainError = BuildChain(leaf, presented, now, customRoots: null);
        if (chainError is not null && anchors.ExtraRoots.Count > 0)
        {
            chainError = BuildChain(leaf, presented, now, anchors.ExtraRoots);
        }
        if (chainError is not null)
        {
            return new(false, chainError.Value.Failure, $"certificate for {Subject(leaf)} is not trusted: {chainError.Value.Detail}");
        }
        if (!leaf.MatchesHostname(hostname, allowWildcards: true, allowCommonName: false))
        {
            return new(false, WebPkiFailure.HostMismatch,
                $"certificate names [{string.Join(", ", DnsNames(leaf))}] do not cover {hostname}");
        }
        return WebPkiVerdict.Valid($"certificate for {hostname} is valid (issuer {leaf.Issuer}, expires {leaf.NotAfter.ToUniversalTime():u})");
    }

    private static (WebPkiFailure Failure, string Detail)? BuildChain(
        X509Certificate2 leaf, IReadOnlyList<X509Certificate2> presented, DateTimeOffset now, X509Certificate2Collection? customRoots)
    {
        using var chain = new X509Chain();
        var policy = chain.ChainPolicy;
        policy.RevocationMode = X509RevocationMode.NoCheck;
        policy.VerificationTime = now.UtcDateTime;
        policy.VerificationTimeIgnored = false;
        policy.DisableCertificateDownloads = true;
        foreach (var cert in presented)
        {
            if (!cert.RawDataMemory.Span.SequenceEqual(leaf.RawDataMemory.Span))
            {
                policy.ExtraStore.Add(cert);
            }
        }
        if (customRoots is not null)
        {
            policy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            policy.CustomTrustStore.AddRange(customRoots);
        }
        if (chain.Build(leaf))
        {
            return null;
        }
        var statuses = chain.ChainStatus.Select(s => s.Status).Distinct().ToList();
        var failure = statuses.Any(s => s == X509ChainStatusFlags.NotTimeValid) ? WebPkiFailure.Expired : WebPkiFailure.NotTrusted;
        return (failure, string.Join(", ", statuses));
    }

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
