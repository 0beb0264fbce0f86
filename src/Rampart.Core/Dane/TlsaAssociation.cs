using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Rampart.Core.Dane;

/// <summary>
/// TLSA certificate association data (RFC 6698 §2.1.2–2.1.3): selector 0 takes the certificate's DER, selector 1 its
/// DER SubjectPublicKeyInfo exactly as encoded inside the certificate; matching type 0 keeps those bytes, 1 and 2 take
/// their SHA-256 and SHA-512 digests.
/// </summary>
public static class TlsaAssociation
{
    /// <summary>The bytes a selector picks from a certificate.</summary>
    public static byte[] Select(X509Certificate2 certificate, TlsaSelector selector)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return selector switch
        {
            TlsaSelector.Cert => certificate.RawData,
            TlsaSelector.Spki => SubjectPublicKeyInfo(certificate),
            _ => throw new ArgumentOutOfRangeException(nameof(selector), selector, "selector must be 0 or 1"),
        };
    }

    /// <summary>The certificate's SubjectPublicKeyInfo, byte for byte as it appears in the certificate.</summary>
    public static byte[] SubjectPublicKeyInfo(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return CertificateDer.TryRead(certificate.RawDataMemory)?.SubjectPublicKeyInfo ?? certificate.PublicKey.ExportSubjectPublicKeyInfo();
    }

    /// <summary>Applies a matching type to selected content.</summary>
    public static byte[] Digest(ReadOnlySpan<byte> selected, TlsaMatchingType matchingType) => matchingType switch
    {
        TlsaMatchingType.Full => selected.ToArray(),
        TlsaMatchingType.Sha256 => SHA256.HashData(selected),
        TlsaMatchingType.Sha512 => SHA512.HashData(selected),
        _ => throw new ArgumentOutOfRangeException(nameof(matchingType), matchingType, "matching type must be 0, 1 or 2"),
    };

    /// <summary>The association data for a certificate.</summary>
    public static byte[] Compute(X509Certificate2 certificate, TlsaSelector selector, TlsaMatchingType matchingType) =>
        Digest(Select(certificate, selector), matchingType);

    /// <summary>The TLSA record that pins <paramref name="certificate"/> (or its key) with the given parameters.</summary>
    public static TlsaRecord For(X509Certificate2 certificate, TlsaUsage usage, TlsaSelector selector, TlsaMatchingType matchingType) =>
        new(usage, selector, matchingType, Compute(certificate, selector, matchingType));

    /// <summary>
    /// The selector-1 record for a bare public key given as DER SubjectPublicKeyInfo (e.g. from <see cref="PemBundle"/>,
    /// which also turns private keys into their SubjectPublicKeyInfo).
    /// </summary>
    public static TlsaRecord ForPublicKey(ReadOnlySpan<byte> subjectPublicKeyInfo, TlsaUsage usage, TlsaMatchingType matchingType) =>
        new(usage, TlsaSelector.Spki, matchingType, Digest(subjectPublicKeyInfo, matchingType));

    /// <summary>True when the record's association data matches <paramref name="certificate"/> (usage not considered).</summary>
    public static bool Matches(TlsaRecord record, X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (record.Selector is not (TlsaSelector.Cert or TlsaSelector.Spki) || record.MatchingType > TlsaMatchingType.Sha512)
        {
            return false;
        }
        return Compute(certificate, record.Selector, record.MatchingType).AsSpan().SequenceEqual(record.Data);
    }
}
