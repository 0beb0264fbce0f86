using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Rampart.Core.Dane;

/// <summary>A DANE-TA trust anchor: a certificate (presented by the server or carried whole in a <c>2 0 0</c> record) or a bare key (<c>2 1 0</c>).</summary>
internal sealed record DaneAnchor(byte[] SubjectPublicKeyInfo, X509Certificate2? Certificate, int? PresentedDepth)
{
    public static DaneAnchor Presented(X509Certificate2 certificate, int depth) =>
        new(TlsaAssociation.SubjectPublicKeyInfo(certificate), certificate, depth);
}

/// <summary>The verdict on the path from the leaf to a DANE-TA anchor.</summary>
internal readonly record struct ChainVerdict(bool IsValid, DaneFailure Failure, string Message, int Depth, string Method)
{
    public static ChainVerdict Fail(DaneFailure failure, string message) => new(false, failure, message, 0, "");
}

/// <summary>
/// Verifies the presented chain from the leaf up to a DANE-TA trust anchor at a given time (RFC 7671 §5.2, RFC 7672 §3.1.2):
/// signatures, validity dates of every certificate on the path (the anchor's too when it is a certificate), CA flags.
/// <para>
/// A self-issued anchor certificate goes to <see cref="X509Chain"/> (<c>CustomRootTrust</c>, the anchor as the only
/// trusted root, the presented certificates as the extra store, no revocation, no downloads). X509Chain on Linux only
/// accepts self-signed roots in the custom trust store (an intermediate there gives <c>PartialChain</c>) and cannot take
/// a bare key, so for a non-self-issued anchor certificate or a <c>2 1 0</c> key the path is walked here: each
/// certificate's issuer is looked up among the presented ones by name, its signature over the TBSCertificate is checked
/// with the issuer's (or the anchor's) key (<see cref="CertificateSignature"/>), and dates, basicConstraints,
/// keyUsage, pathLenConstraint and unknown critical extensions are checked as a chain builder would.
/// </para>
/// </summary>
internal static class DaneChainVerifier
{
    private const int MaxPath = 8;

    private static readonly HashSet<string> s_knownCritical =
    [
        "2.5.29.19", // basicConstraints
        "2.5.29.15", // keyUsage
        "2.5.29.37", // extKeyUsage
        "2.5.29.17", // subjectAltName
        "2.5.29.32", // certificatePolicies (no policy is required, so any is acceptable)
        "2.5.29.14", // subjectKeyIdentifier
        "2.5.29.35", // authorityKeyIdentifier
    ];

    public static ChainVerdict Verify(IReadOnlyList<X509Certificate2> chain, DaneAnchor anchor, DateTimeOffset at)
    {
        if (anchor.Certificate is { } certificate && certificate.SubjectName.RawData.AsSpan().SequenceEqual(certificate.IssuerName.RawData))
        {
            return WithX509Chain(chain, certificate, anchor.PresentedDepth, at);
        }
        return WalkPath(chain, anchor, at);
    }

    /// <summary>A self-signed leaf published as its own <c>2 1 0</c> anchor: its own key must verify it, and its dates must hold.</summary>
    public static ChainVerdict VerifySelfSignedLeaf(X509Certificate2 leaf, DateTimeOffset at)
    {
        var der = CertificateDer.Read(leaf);
        if (!der.IsSelfIssued || CertificateSignature.Verify(der, der.SubjectPublicKeyInfo) is not null)
        {
            return ChainVerdict.Fail(DaneFailure.ChainInvalid,
                "it matched the leaf itself, which is not self-signed; a DANE-TA record must match a certificate or key above the leaf (RFC 7672 §3.1.2)");
        }
        return DatesError(leaf, Describe(leaf, 0), at) is { } dates
            ? ChainVerdict.Fail(DaneFailure.Expired, dates)
            : new(true, DaneFailure.None, "", 0, "the self-signed leaf verifies with its own key");
    }

    private static ChainVerdict WithX509Chain(IReadOnlyList<X509Certificate2> presented, X509Certificate2 anchor, int? presentedDepth, DateTimeOffset at)
    {
        using var chain = new X509Chain();
        var policy = chain.ChainPolicy;
        policy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        policy.CustomTrustStore.Add(anchor);
        policy.RevocationMode = X509RevocationMode.NoCheck;
        policy.DisableCertificateDownloads = true;
        policy.VerificationTime = at.UtcDateTime;
        policy.VerificationTimeIgnored = false;
        for (var i = 1; i < presented.Count; i++)
        {
            policy.ExtraStore.Add(presented[i]);
        }
        var built = chain.Build(presented[0]);
        var elements = chain.ChainElements;
        var top = elements.Count > 0 ? elements[^1].Certificate : null;
        if (built && top is not null && top.RawDataMemory.Span.SequenceEqual(anchor.RawDataMemory.Span))
        {
            return new(true, DaneFailure.None, "", presentedDepth ?? elements.Count - 1, "X509Chain, the anchor as its only trusted root");
        }
        for (var i = 0; i < elements.Count; i++)
        {
            if (elements[i].ChainElementStatus.Any(s => s.Status.HasFlag(X509ChainStatusFlags.NotTimeValid)))
            {
                var name = Describe(elements[i].Certificate, DepthOf(presented, elements[i].Certificate));
                return ChainVerdict.Fail(DaneFailure.Expired, DatesError(elements[i].Certificate, name, at) ?? $"{name} is not valid at {at:u}");
            }
        }
        var statuses = chain.ChainStatus.Select(s => s.Status.ToString()).Distinct().ToList();
        var detail = statuses.Count > 0 ? string.Join(", ", statuses) : "the chain ends elsewhere";
        return ChainVerdict.Fail(DaneFailure.ChainInvalid, $"the leaf does not chain to {Describe(anchor, presentedDepth)}: {detail}");
    }

    private static ChainVerdict WalkPath(IReadOnlyList<X509Certificate2> chain, DaneAnchor anchor, DateTimeOffset at)
    {
        CertificateDer[] ders;
        try
        {
            ders = [.. chain.Select(CertificateDer.Read)];
        }
        catch (CryptographicException ex)
        {
            return ChainVerdict.Fail(DaneFailure.ChainInvalid, ex.Message);
        }
        var anchorDer = anchor.Certificate is { } c ? CertificateDer.Read(c) : null;
        var anchorName = anchor.Certificate is { } a ? Describe(a, anchor.PresentedDepth) : "the trust-anchor key";
        (DaneFailure Failure, string Message)? firstError = null;
        var path = new List<int> { 0 };
        if (Walk(0))
        {
            var depth = anchor.PresentedDepth ?? path.Count;
            return new(true, DaneFailure.None, "", depth, "signatures checked link by link, as X509Chain takes only self-signed roots");
        }
        var (failure, message) = firstError ?? (DaneFailure.ChainInvalid, $"the leaf does not chain to {anchorName}");
        return ChainVerdict.Fail(failure, message);

        bool Walk(int current)
        {
            var certificate = chain[current];
            var position = path.Count - 1;
            if (CertificateError(certificate, Describe(certificate, current), position, ca: position > 0, at) is { } error)
            {
                firstError ??= error;
                return false;
            }
            if (anchor.PresentedDepth == current)
            {
                return true;
            }
            string? anchorWhy = null;
            if (anchor.PresentedDepth is null && (anchorDer is null || SameName(anchorDer.Subject, ders[current].Issuer)))
            {
                anchorWhy = CertificateSignature.Verify(ders[current], anchor.SubjectPublicKeyInfo);
                if (anchorWhy is null)
                {
                    if (anchor.Certificate is not null && CertificateError(anchor.Certificate, anchorName, path.Count, ca: true, at) is { } anchorError)
                    {
                        firstError ??= anchorError;
                        return false;
                    }
                    return true;
                }
            }
            if (path.Count >= MaxPath)
            {
                firstError ??= (DaneFailure.ChainInvalid, $"the path from the leaf is longer than {MaxPath} certificates");
                return false;
            }
            var tried = false;
            for (var i = 1; i < chain.Count; i++)
            {
                if (path.Contains(i) || !SameName(ders[i].Subject, ders[current].Issuer))
                {
                    continue;
                }
                tried = true;
                if (CertificateSignature.Verify(ders[current], ders[i].SubjectPublicKeyInfo) is { } why)
                {
                    firstError ??= (DaneFailure.ChainInvalid, $"{Describe(certificate, current)} is not signed by the certificate at depth {i}: {why}");
                    continue;
                }
                path.Add(i);
                if (Walk(i))
                {
                    return true;
                }
                path.RemoveAt(path.Count - 1);
            }
            if (!tried)
            {
                firstError ??= anchorWhy is not null
                    ? (DaneFailure.ChainInvalid, $"{Describe(certificate, current)} is not signed by {anchorName}: {anchorWhy}")
                    : (DaneFailure.ChainInvalid, $"the server sent no issuer of {Describe(certificate, current)} on the way to {anchorName}");
            }
            return false;
        }
    }

    /// <summary>Dates, and for a CA on the path: basicConstraints cA, keyCertSign, pathLenConstraint; unknown critical extensions.</summary>
    private static (DaneFailure, string)? CertificateError(X509Certificate2 certificate, string name, int position, bool ca, DateTimeOffset at)
    {
        if (DatesError(certificate, name, at) is { } dates)
        {
            return (DaneFailure.Expired, dates);
        }
        if (certificate.Extensions.FirstOrDefault(e => e.Critical && !s_knownCritical.Contains(e.Oid?.Value ?? "")) is { } critical)
        {
            return (DaneFailure.ChainInvalid, $"{name} has a critical extension {critical.Oid?.Value} that is not supported here");
        }
        if (!ca)
        {
            return null;
        }
        var constraints = certificate.Extensions.OfType<X509BasicConstraintsExtension>().FirstOrDefault();
        if (constraints is not { CertificateAuthority: true })
        {
            return (DaneFailure.ChainInvalid, $"{name} is not a CA certificate (basicConstraints cA is not set)");
        }
        if (constraints.HasPathLengthConstraint && position - 1 > constraints.PathLengthConstraint)
        {
            return (DaneFailure.ChainInvalid, $"{name} allows {constraints.PathLengthConstraint} intermediate(s) below it, the path has {position - 1}");
        }
        if (certificate.Extensions.OfType<X509KeyUsageExtension>().FirstOrDefault() is { } usage && !usage.KeyUsages.HasFlag(X509KeyUsageFlags.KeyCertSign))
        {
            return (DaneFailure.ChainInvalid, $"{name} may not sign certificates (keyUsage has no keyCertSign)");
        }
        return null;
    }

    internal static string? DatesError(X509Certificate2 certificate, string name, DateTimeOffset at)
    {
        var notBefore = new DateTimeOffset(certificate.NotBefore.ToUniversalTime(), TimeSpan.Zero);
        var notAfter = new DateTimeOffset(certificate.NotAfter.ToUniversalTime(), TimeSpan.Zero);
        if (at > notAfter)
        {
            return $"{name} expired on {notAfter:u}";
        }
        return at < notBefore ? $"{name} is not valid before {notBefore:u}" : null;
    }

    internal static string Describe(X509Certificate2 certificate, int? depth) => depth switch
    {
        0 => $"the leaf ({certificate.Subject})",
        { } d => $"the certificate at depth {d} ({certificate.Subject})",
        null => $"the anchor certificate ({certificate.Subject})",
    };

    private static int? DepthOf(IReadOnlyList<X509Certificate2> presented, X509Certificate2 certificate)
    {
        for (var i = 0; i < presented.Count; i++)
        {
            if (presented[i].RawDataMemory.Span.SequenceEqual(certificate.RawDataMemory.Span))
            {
                return i;
            }
        }
        return null;
    }

    private static bool SameName(byte[] a, byte[] b) =>
        a.AsSpan().SequenceEqual(b) || string.Equals(new X500DistinguishedName(a).Name, new X500DistinguishedName(b).Name, StringComparison.OrdinalIgnoreCase);
}
