using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Rampart.Lab.Tests;

/// <summary>Server certificates issued by the lab intermediate (what the lab's clients trust), in certbot's layout.</summary>
internal static class LabLeafCertificate
{
    public static string State => Environment.GetEnvironmentVariable("RAMPART_LAB_STATE")
                                  ?? throw new InvalidOperationException("RAMPART_LAB_STATE is not set (run through lab/run)");

    /// <summary>Writes <c>LIVE/HOST/fullchain.pem</c> and <c>privkey.pem</c> for <paramref name="host"/>; returns LIVE.</summary>
    public static string IssueInto(string live, string host)
    {
        var pki = Path.Combine(State, "pki");
        using var caKey = ECDsa.Create();
        caKey.ImportFromPem(File.ReadAllText(Path.Combine(pki, "intermediate.key")));
        var intermediatePem = File.ReadAllText(Path.Combine(pki, "intermediate.crt"));
        using var intermediate = X509Certificate2.CreateFromPem(intermediatePem);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=" + host, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(host);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(intermediate, true, false));
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f;
        using var leaf = request.Create(intermediate.SubjectName, X509SignatureGenerator.CreateForECDsa(caKey),
            DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(30), serial);
        Directory.CreateDirectory(Path.Combine(live, host));
        File.WriteAllText(Path.Combine(live, host, "fullchain.pem"), leaf.ExportCertificatePem() + "\n" + intermediatePem);
        File.WriteAllText(Path.Combine(live, host, "privkey.pem"), key.ExportPkcs8PrivateKeyPem());
        return live;
    }
}
