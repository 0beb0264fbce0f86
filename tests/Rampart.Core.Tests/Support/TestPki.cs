using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Rampart.Core.Tests.Support;

/// <summary>Certificates made by the tests themselves: a root, an intermediate, and leaves with chosen names and dates.</summary>
internal sealed class TestPki
{
    public static readonly DateTimeOffset Now = new(2026, 11, 1, 12, 0, 0, TimeSpan.Zero);

    public TestPki(string name = "Test")
    {
        Root = CreateCa($"CN={name} Root", null, Now.AddYears(-1), Now.AddYears(10));
        Intermediate = CreateCa($"CN={name} Intermediate", Root, Now.AddYears(-1), Now.AddYears(5));
    }

    public X509Certificate2 Root { get; }

    public X509Certificate2 Intermediate { get; }

    public X509Certificate2 Leaf(string dnsName, DateTimeOffset? notBefore = null, DateTimeOffset? notAfter = null, X509Certificate2? issuer = null)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={dnsName}", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(dnsName);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        issuer ??= Intermediate;
        using var cert = request.Create(issuer, notBefore ?? Now.AddDays(-30), notAfter ?? Now.AddDays(60), RandomSerial());
        return cert.CopyWithPrivateKey(key);
    }

    private static X509Certificate2 CreateCa(string subject, X509Certificate2? issuer, DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        if (issuer is null)
        {
            return request.CreateSelfSigned(notBefore, notAfter);
        }
        using var cert = request.Create(issuer, notBefore, notAfter, RandomSerial());
        return cert.CopyWithPrivateKey(key);
    }

    /// <summary>
    /// Issues any certificate, signed by <paramref name="issuer"/>'s private key (self-signed when null), without the
    /// runtime's "issuer must outlive the subject" check, so expired CAs and odd chains can be made. A CA gets
    /// basicConstraints cA and keyCertSign; <paramref name="dnsNames"/> null means no subjectAltName at all.
    /// </summary>
    public static X509Certificate2 Issue(
        string subject, X509Certificate2? issuer, DateTimeOffset? notBefore = null, DateTimeOffset? notAfter = null,
        bool ca = false, IEnumerable<string>? dnsNames = null, bool rsa = false, bool pss = false)
    {
        using var ecKey = rsa ? null : ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var rsaKey = rsa ? RSA.Create(2048) : null;
        var padding = pss ? RSASignaturePadding.Pss : RSASignaturePadding.Pkcs1;
        var request = rsa
            ? new CertificateRequest(subject, rsaKey!, HashAlgorithmName.SHA256, padding)
            : new CertificateRequest(subject, ecKey!, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(ca, false, 0, true));
        if (ca)
        {
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        }
        if (dnsNames is not null)
        {
            var san = new SubjectAlternativeNameBuilder();
            foreach (var name in dnsNames)
            {
                san.AddDnsName(name);
            }
            request.CertificateExtensions.Add(san.Build());
        }
        var generator = issuer switch
        {
            null when rsa => X509SignatureGenerator.CreateForRSA(rsaKey!, padding),
            null => X509SignatureGenerator.CreateForECDsa(ecKey!),
            _ when issuer.GetECDsaPrivateKey() is { } issuerEc => X509SignatureGenerator.CreateForECDsa(issuerEc),
            _ => X509SignatureGenerator.CreateForRSA(issuer.GetRSAPrivateKey()!, padding),
        };
        using var cert = request.Create(issuer?.SubjectName ?? new X500DistinguishedName(subject), generator,
            notBefore ?? Now.AddDays(-30), notAfter ?? Now.AddDays(60), RandomSerial());
        return rsa ? cert.CopyWithPrivateKey(rsaKey!) : cert.CopyWithPrivateKey(ecKey!);
    }

    /// <summary>A leaf for <paramref name="dnsNames"/> issued by this PKI's intermediate (or <paramref name="issuer"/>), dates unchecked.</summary>
    public X509Certificate2 LeafFor(IEnumerable<string> dnsNames, DateTimeOffset? notBefore = null, DateTimeOffset? notAfter = null, X509Certificate2? issuer = null) =>
        Issue($"CN={dnsNames.First()}", issuer ?? Intermediate, notBefore, notAfter, dnsNames: dnsNames);

    private static byte[] RandomSerial() => RandomNumberGenerator.GetBytes(12);

    /// <summary>Writes the root as a PEM bundle and returns its path.</summary>
    public string WriteRootPem(string directory)
    {
        var path = Path.Combine(directory, "root.pem");
        File.WriteAllText(path, Root.ExportCertificatePem());
        return path;
    }
}
