using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Rampart.Tests.Shared;

/// <summary>A certbot-style lineage (fullchain.pem + privkey.pem) with a self-signed certificate for one host name.</summary>
internal static class SelfSignedLineage
{
    public static async Task WriteAsync(string lineage, string host, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(lineage);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=" + host, key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(host);
        request.CertificateExtensions.Add(san.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        await File.WriteAllTextAsync(Path.Combine(lineage, "fullchain.pem"), certificate.ExportCertificatePem(), cancellationToken);
        await File.WriteAllTextAsync(Path.Combine(lineage, "privkey.pem"), key.ExportPkcs8PrivateKeyPem(), cancellationToken);
    }
}
