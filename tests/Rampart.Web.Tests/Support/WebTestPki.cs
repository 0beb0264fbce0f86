using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Rampart.Core.Dns;

namespace Rampart.Web.Tests.Support;

/// <summary>A throw-away CA and leaves written in certbot's layout (live/NAME/fullchain.pem + privkey.pem).</summary>
internal sealed class WebTestPki : IDisposable
{
    private readonly ECDsa _caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    public WebTestPki()
    {
        Directory.CreateDirectory(Live);
        var request = new CertificateRequest("CN=Rampart web test CA", _caKey, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        Ca = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
        File.WriteAllText(CaFile, Ca.ExportCertificatePem());
    }

    public string Root { get; } = Directory.CreateTempSubdirectory("rampart-web-").FullName;
    public string Live => Path.Combine(Root, "live");
    public string CaFile => Path.Combine(Root, "ca.pem");
    public X509Certificate2 Ca { get; }

    /// <summary>Issues a leaf for <paramref name="name"/> into live/<paramref name="lineage"/>/ and returns it.</summary>
    public X509Certificate2 IssueInto(string lineage, string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(name);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(Ca, true, false));
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f;
        var leaf = request.Create(Ca.SubjectName, X509SignatureGenerator.CreateForECDsa(_caKey), DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(30), serial);
        var dir = Path.Combine(Live, lineage);
        Directory.CreateDirectory(dir);
        // Written to new files then renamed in, as certbot swaps its symlinks: a reader never sees half a file.
        File.WriteAllText(Path.Combine(dir, "privkey.pem.new"), key.ExportPkcs8PrivateKeyPem());
        File.WriteAllText(Path.Combine(dir, "fullchain.pem.new"), leaf.ExportCertificatePem() + "\n" + Ca.ExportCertificatePem());
        File.Move(Path.Combine(dir, "privkey.pem.new"), Path.Combine(dir, "privkey.pem"), true);
        File.Move(Path.Combine(dir, "fullchain.pem.new"), Path.Combine(dir, "fullchain.pem"), true);
        return leaf;
    }

    public void Dispose()
    {
        _caKey.Dispose();
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>Answers every address question with 127.0.0.1 (a hand-written fake: the fetcher's DNS is not under test here).</summary>
internal sealed class LoopbackDns : IDnsResolver
{
    public Task<DnsResult<string>> QueryTxtAsync(string name, CancellationToken cancellationToken) => throw new NotSupportedException();
    public Task<DnsResult<MxRecord>> QueryMxAsync(string name, CancellationToken cancellationToken) => throw new NotSupportedException();
    public Task<DnsResult<TlsaRecordData>> QueryTlsaAsync(string name, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task<DnsResult<IPAddress>> QueryAddressesAsync(string name, CancellationToken cancellationToken) =>
        Task.FromResult(new DnsResult<IPAddress>(name, DnsOutcome.Records, false, [IPAddress.Loopback], []));
}
