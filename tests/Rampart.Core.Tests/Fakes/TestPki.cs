using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Rampart.Core.Tests.Fakes;

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

    private static byte[] RandomSerial() => RandomNumberGenerator.GetBytes(12);

    /// <summary>Writes the root as a PEM bundle and returns its path.</summary>
    public string WriteRootPem(string directory)
    {
        var path = Path.Combine(directory, "root.pem");
        File.WriteAllText(path, Root.ExportCertificatePem());
        return path;
    }
}
