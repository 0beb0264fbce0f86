using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Rampart.Core.Dane;

/// <summary>
/// The parts of a DER certificate (RFC 5280 §4.1) that DANE needs byte for byte: the signed TBSCertificate, the
/// signature algorithm and value, the issuer and subject names, and the SubjectPublicKeyInfo exactly as encoded.
/// <code>
/// Certificate  ::= SEQUENCE { tbsCertificate TBSCertificate, signatureAlgorithm AlgorithmIdentifier, signatureValue BIT STRING }
/// TBSCertificate ::= SEQUENCE { version [0] EXPLICIT OPTIONAL, serialNumber, signature, issuer, validity, subject, subjectPublicKeyInfo, ... }
/// </code>
/// </summary>
internal sealed class CertificateDer
{
    private CertificateDer(byte[] tbs, string signatureAlgorithm, byte[]? signatureParameters, byte[] signature, byte[] issuer, byte[] subject, byte[] spki)
    {
        Tbs = tbs;
        SignatureAlgorithm = signatureAlgorithm;
        SignatureParameters = signatureParameters;
        Signature = signature;
        Issuer = issuer;
        Subject = subject;
        SubjectPublicKeyInfo = spki;
    }

    public byte[] Tbs { get; }
    public string SignatureAlgorithm { get; }
    public byte[]? SignatureParameters { get; }
    public byte[] Signature { get; }
    public byte[] Issuer { get; }
    public byte[] Subject { get; }
    public byte[] SubjectPublicKeyInfo { get; }

    public bool IsSelfIssued => Issuer.AsSpan().SequenceEqual(Subject);

    /// <summary>Reads the certificate's DER; null when it is not a certificate (BER leniency as the runtime's own loader).</summary>
    public static CertificateDer? TryRead(ReadOnlyMemory<byte> der)
    {
        try
        {
            var outer = new AsnReader(der, AsnEncodingRules.BER);
            var certificate = outer.ReadSequence();
            var tbs = certificate.ReadEncodedValue();
            var algorithm = certificate.ReadSequence();
            var oid = algorithm.ReadObjectIdentifier();
            var parameters = algorithm.HasData ? algorithm.ReadEncodedValue().ToArray() : null;
            var signature = certificate.ReadBitString(out _);

            var fields = new AsnReader(tbs, AsnEncodingRules.BER).ReadSequence();
            if (fields.PeekTag().HasSameClassAndValue(new Asn1Tag(TagClass.ContextSpecific, 0)))
            {
                fields.ReadEncodedValue();
            }
            fields.ReadEncodedValue(); // serialNumber
            fields.ReadEncodedValue(); // signature (AlgorithmIdentifier)
            var issuer = fields.ReadEncodedValue();
            fields.ReadEncodedValue(); // validity
            var subject = fields.ReadEncodedValue();
            var spki = fields.ReadEncodedValue();
            return new CertificateDer(tbs.ToArray(), oid, parameters, signature, issuer.ToArray(), subject.ToArray(), spki.ToArray());
        }
        catch (AsnContentException)
        {
            return null;
        }
    }

    public static CertificateDer Read(X509Certificate2 certificate) =>
        TryRead(certificate.RawDataMemory) ?? throw new CryptographicException($"certificate {certificate.Subject} cannot be parsed as DER");
}

/// <summary>
/// Verifies a certificate's signature with an issuer's SubjectPublicKeyInfo, for the DANE-TA paths that
/// <see cref="X509Chain"/> cannot build: a trust anchor that is a bare key (<c>2 1 0</c>) or a CA certificate that is
/// not self-signed (an intermediate pinned by <c>2 x x</c>). Supported: RSA PKCS#1 v1.5 and RSASSA-PSS (salt length =
/// hash length, MGF1 with the same hash) and ECDSA, each with SHA-256/384/512. SHA-1 and MD5 signatures are refused.
/// </summary>
internal static class CertificateSignature
{
    private const string RsaEncryption = "1.2.840.113549.1.1.1";
    private const string RsaPss = "1.2.840.113549.1.1.10";
    private const string EcPublicKey = "1.2.840.10045.2.1";
    private const string Mgf1 = "1.2.840.113549.1.1.8";

    /// <summary>Null when <paramref name="subject"/> is signed by the key in <paramref name="issuerSpki"/>; else why not.</summary>
    public static string? Verify(CertificateDer subject, ReadOnlySpan<byte> issuerSpki)
    {
        string keyAlgorithm;
        try
        {
            var spki = new AsnReader(issuerSpki.ToArray(), AsnEncodingRules.BER).ReadSequence();
            keyAlgorithm = spki.ReadSequence().ReadObjectIdentifier();
        }
        catch (AsnContentException)
        {
            return "the issuer key is not a valid SubjectPublicKeyInfo";
        }
        try
        {
            return (keyAlgorithm, SignatureScheme(subject)) switch
            {
                (_, { Error: { } error }) => error,
                (RsaEncryption, { IsRsa: true } s) => VerifyRsa(subject, issuerSpki, s.Hash, s.Padding!),
                (EcPublicKey, { IsRsa: false } s) => VerifyEcdsa(subject, issuerSpki, s.Hash),
                _ => $"the issuer key ({keyAlgorithm}) cannot make a {subject.SignatureAlgorithm} signature",
            };
        }
        catch (CryptographicException ex)
        {
            return $"the signature cannot be checked: {ex.Message}";
        }
    }

    private static string? VerifyRsa(CertificateDer subject, ReadOnlySpan<byte> spki, HashAlgorithmName hash, RSASignaturePadding padding)
    {
        using var rsa = RSA.Create();
        rsa.ImportSubjectPublicKeyInfo(spki, out _);
        return rsa.VerifyData(subject.Tbs, subject.Signature, hash, padding) ? null : "the signature does not verify with the issuer key";
    }

    private static string? VerifyEcdsa(CertificateDer subject, ReadOnlySpan<byte> spki, HashAlgorithmName hash)
    {
        using var ecdsa = ECDsa.Create();
        ecdsa.ImportSubjectPublicKeyInfo(spki, out _);
        return ecdsa.VerifyData(subject.Tbs, subject.Signature, hash, DSASignatureFormat.Rfc3279DerSequence)
            ? null
            : "the signature does not verify with the issuer key";
    }

    private readonly record struct Scheme(bool IsRsa, HashAlgorithmName Hash, RSASignaturePadding? Padding, string? Error);

    private static Scheme SignatureScheme(CertificateDer subject) => subject.SignatureAlgorithm switch
    {
        "1.2.840.113549.1.1.11" => new(true, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1, null),
        "1.2.840.113549.1.1.12" => new(true, HashAlgorithmName.SHA384, RSASignaturePadding.Pkcs1, null),
        "1.2.840.113549.1.1.13" => new(true, HashAlgorithmName.SHA512, RSASignaturePadding.Pkcs1, null),
        "1.2.840.10045.4.3.2" => new(false, HashAlgorithmName.SHA256, null, null),
        "1.2.840.10045.4.3.3" => new(false, HashAlgorithmName.SHA384, null, null),
        "1.2.840.10045.4.3.4" => new(false, HashAlgorithmName.SHA512, null, null),
        RsaPss => PssScheme(subject.SignatureParameters),
        "1.2.840.113549.1.1.5" or "1.2.840.113549.1.1.4" or "1.2.840.10045.4.1" =>
            new(false, default, null, $"signature algorithm {subject.SignatureAlgorithm} (SHA-1/MD5) is refused"),
        var other => new(false, default, null, $"signature algorithm {other} is not supported for DANE-TA path checks"),
    };

    /// <summary>RSASSA-PSS-params (RFC 4055 §3.1); only salt length = hash length with MGF1 over the same hash, as .NET signs.</summary>
    private static Scheme PssScheme(byte[]? parameters)
    {
        var unsupported = new Scheme(true, default, null, "RSASSA-PSS parameters other than SHA-2 with MGF1 and salt = hash length are not supported");
        if (parameters is null)
        {
            return unsupported; // defaults are SHA-1
        }
        try
        {
            var p = new AsnReader(parameters, AsnEncodingRules.BER).ReadSequence();
            string? hash = null, mgfHash = null;
            var salt = 20;
            if (p.HasData && p.PeekTag().HasSameClassAndValue(new Asn1Tag(TagClass.ContextSpecific, 0)))
            {
                hash = p.ReadSequence(new Asn1Tag(TagClass.ContextSpecific, 0)).ReadSequence().ReadObjectIdentifier();
            }
            if (p.HasData && p.PeekTag().HasSameClassAndValue(new Asn1Tag(TagClass.ContextSpecific, 1)))
            {
                var mgf = p.ReadSequence(new Asn1Tag(TagClass.ContextSpecific, 1)).ReadSequence();
                if (mgf.ReadObjectIdentifier() != Mgf1)
                {
                    return unsupported;
                }
                mgfHash = mgf.ReadSequence().ReadObjectIdentifier();
            }
            if (p.HasData && p.PeekTag().HasSameClassAndValue(new Asn1Tag(TagClass.ContextSpecific, 2)))
            {
                if (!p.ReadSequence(new Asn1Tag(TagClass.ContextSpecific, 2)).TryReadInt32(out salt))
                {
                    return unsupported;
                }
            }
            (HashAlgorithmName Name, int Length)? digest = hash switch
            {
                "2.16.840.1.101.3.4.2.1" => (HashAlgorithmName.SHA256, 32),
                "2.16.840.1.101.3.4.2.2" => (HashAlgorithmName.SHA384, 48),
                "2.16.840.1.101.3.4.2.3" => (HashAlgorithmName.SHA512, 64),
                _ => null,
            };
            return digest is { } d && mgfHash == hash && salt == d.Length ? new(true, d.Name, RSASignaturePadding.Pss, null) : unsupported;
        }
        catch (AsnContentException)
        {
            return unsupported;
        }
    }
}
