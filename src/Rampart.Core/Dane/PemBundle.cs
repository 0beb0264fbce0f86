using System.Diagnostics.CodeAnalysis;
using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Rampart.Core.Dane;

/// <summary>
/// The certificates (in file order, so a chain stays leaf first) and public keys found in a PEM file, as operators
/// hand them to <c>rampart tlsa</c>: a certificate, a chain, a <c>PUBLIC KEY</c>, or a private key (only its public
/// half is kept, as DER SubjectPublicKeyInfo). A single DER certificate is accepted too.
/// </summary>
public sealed class PemBundle
{
    private const string RsaEncryption = "1.2.840.113549.1.1.1";
    private const string EcPublicKey = "1.2.840.10045.2.1";

    private PemBundle(IReadOnlyList<X509Certificate2> certificates, IReadOnlyList<byte[]> publicKeys, IReadOnlyList<string> ignoredLabels)
    {
        Certificates = certificates;
        PublicKeys = publicKeys;
        IgnoredLabels = ignoredLabels;
    }

    public IReadOnlyList<X509Certificate2> Certificates { get; }

    /// <summary>DER SubjectPublicKeyInfo of each key block, in file order.</summary>
    public IReadOnlyList<byte[]> PublicKeys { get; }

    /// <summary>Labels of PEM blocks that are neither certificates nor keys (e.g. <c>X509 CRL</c>).</summary>
    public IReadOnlyList<string> IgnoredLabels { get; }

    /// <summary>
    /// Reads every certificate and key; false with one sentence when the input is empty, holds no certificate or key,
    /// or a block cannot be decoded (the error names the block by its position and label).
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> content, [NotNullWhen(true)] out PemBundle? bundle, [NotNullWhen(false)] out string? error)
    {
        bundle = null;
        if (content.Trim(" \r\n\t"u8).IsEmpty)
        {
            error = "is empty";
            return false;
        }
        string text;
        try
        {
            text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(content);
        }
        catch (DecoderFallbackException)
        {
            text = "";
        }
        if (!text.Contains("-----BEGIN ", StringComparison.Ordinal))
        {
            return TryReadDer(content, out bundle, out error);
        }
        var certificates = new List<X509Certificate2>();
        var keys = new List<byte[]>();
        var ignored = new List<string>();
        var rest = text.AsMemory();
        var index = 0;
        while (PemEncoding.TryFind(rest.Span, out var fields))
        {
            index++;
            var label = rest.Span[fields.Label].ToString();
            var der = Convert.FromBase64String(rest.Span[fields.Base64Data].ToString());
            rest = rest[fields.Location.End..];
            var blockError = label switch
            {
                "CERTIFICATE" => AddCertificate(der, certificates),
                "PUBLIC KEY" or "RSA PUBLIC KEY" or "PRIVATE KEY" or "RSA PRIVATE KEY" or "EC PRIVATE KEY" => AddKey(label, der, keys),
                "ENCRYPTED PRIVATE KEY" => "is an encrypted private key: give the certificate, or export the public key with 'openssl pkey -in FILE -pubout'",
                _ => Ignore(label, ignored),
            };
            if (blockError is not null)
            {
                error = $"PEM block {index} ({label}) {blockError}";
                return false;
            }
        }
        if (index == 0)
        {
            error = "has a '-----BEGIN' line but no complete, well-formed PEM block (check the base64 and the END line)";
            return false;
        }
        if (certificates.Count == 0 && keys.Count == 0)
        {
            error = $"holds no certificate or key (only {string.Join(", ", ignored)})";
            return false;
        }
        bundle = new PemBundle(certificates, keys, ignored);
        error = null;
        return true;
    }

    private static string? Ignore(string label, List<string> ignored)
    {
        ignored.Add(label);
        return null;
    }

    private static bool TryReadDer(ReadOnlySpan<byte> content, [NotNullWhen(true)] out PemBundle? bundle, [NotNullWhen(false)] out string? error)
    {
        bundle = null;
        List<X509Certificate2> certificates = [];
        if (AddCertificate(content.ToArray(), certificates) is not null)
        {
            error = "is neither PEM (no '-----BEGIN CERTIFICATE-----' or key block) nor a DER certificate";
            return false;
        }
        bundle = new PemBundle(certificates, [], []);
        error = null;
        return true;
    }

    private static string? AddCertificate(byte[] der, List<X509Certificate2> certificates)
    {
        try
        {
            var certificate = X509CertificateLoader.LoadCertificate(der);
            if (CertificateDer.TryRead(certificate.RawDataMemory) is null)
            {
                return "is not a valid X.509 certificate";
            }
            certificates.Add(certificate);
            return null;
        }
        catch (CryptographicException)
        {
            return "is not a valid X.509 certificate";
        }
    }

    private static string? AddKey(string label, byte[] der, List<byte[]> keys)
    {
        try
        {
            var spki = label switch
            {
                "PUBLIC KEY" => CheckedSpki(der),
                "RSA PUBLIC KEY" => WithRsa(rsa => rsa.ImportRSAPublicKey(der, out _)),
                "RSA PRIVATE KEY" => WithRsa(rsa => rsa.ImportRSAPrivateKey(der, out _)),
                "EC PRIVATE KEY" => WithEcdsa(ec => ec.ImportECPrivateKey(der, out _)),
                _ => Pkcs8(der),
            };
            keys.Add(spki);
            return null;
        }
        catch (Exception ex) when (ex is CryptographicException or AsnContentException)
        {
            return $"is not a usable key: {ex.Message}";
        }
    }

    private static byte[] CheckedSpki(byte[] der)
    {
        var reader = new AsnReader(der, AsnEncodingRules.DER);
        var spki = reader.ReadSequence();
        spki.ReadSequence().ReadObjectIdentifier();
        spki.ReadBitString(out _);
        if (reader.HasData || spki.HasData)
        {
            throw new CryptographicException("trailing data after the SubjectPublicKeyInfo");
        }
        return der;
    }

    /// <summary>PKCS#8 PrivateKeyInfo (RFC 5208 §5): RSA and EC keys; others (Ed25519…) need their public key exported.</summary>
    private static byte[] Pkcs8(byte[] der)
    {
        var info = new AsnReader(der, AsnEncodingRules.BER).ReadSequence();
        info.ReadEncodedValue(); // version
        var algorithm = info.ReadSequence().ReadObjectIdentifier();
        return algorithm switch
        {
            RsaEncryption => WithRsa(rsa => rsa.ImportPkcs8PrivateKey(der, out _)),
            EcPublicKey => WithEcdsa(ec => ec.ImportPkcs8PrivateKey(der, out _)),
            _ => throw new CryptographicException(
                $"key algorithm {algorithm} is not supported here; export the public key with 'openssl pkey -in FILE -pubout' and give that"),
        };
    }

    private static byte[] WithRsa(Action<RSA> import)
    {
        using var rsa = RSA.Create();
        import(rsa);
        return rsa.ExportSubjectPublicKeyInfo();
    }

    private static byte[] WithEcdsa(Action<ECDsa> import)
    {
        using var ecdsa = ECDsa.Create();
        import(ecdsa);
        return ecdsa.ExportSubjectPublicKeyInfo();
    }
}
