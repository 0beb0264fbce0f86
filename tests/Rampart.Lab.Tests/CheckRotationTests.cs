using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Rampart.Tests.Shared;

namespace Rampart.Lab.Tests;

/// <summary>
/// <c>rampart check --next-cert</c> in the lab (real NSD, validating Unbound, MX receivers): dane.test publishes
/// <c>3 1 1</c> of mx.dane.test's key, dane-ta.test <c>2 1 1</c> of the lab intermediate. Next certificates are made here,
/// issued by the lab intermediate (its key from the lab state): on the same key (covered), on a fresh key (not covered:
/// a warning naming the exact record to add), and from a CA the TLSA does not name; for sts-enforce.test, the MTA-STS (WebPKI)
/// verdict on a next certificate from the lab CA and on a self-signed one.
/// </summary>
[Trait("Category", "integration")]
public sealed class CheckRotationTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("rampart-rotation-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>The lab's state directory (lab/run sets it): MX keys and the lab CA live under pki/.</summary>
    private static string State
    {
        get
        {
            Lab.RequireLab();
            return Environment.GetEnvironmentVariable("RAMPART_LAB_STATE") ?? throw new Xunit.Sdk.XunitException("RAMPART_LAB_STATE is not set (run the tests with lab/run)");
        }
    }

    [Fact]
    public async Task NextCert_SameKeyCertbotDirectory_ReadyAndExitOk()
    {
        using var key = MxKey("mx.dane.test");
        var live = WriteCertbot("same-key", Issue("mx.dane.test", key));

        var (exitCode, report) = await Check("dane.test", live);

        var ready = Finding(report, "dane.rotation.ready");
        Assert.Equal("mx.dane.test", ready.GetProperty("subject").GetString());
        Assert.Contains("3 1 1", ready.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain(Ids(report), id => id == "dane.rotation.next-not-covered");
        Assert.Equal("ok", report.GetProperty("status").GetString());
        Assert.Equal(0, exitCode);
    }

    [Fact]
    public async Task NextCert_FreshKey_WarningNamesTheRecordToAdd()
    {
        using var fresh = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var next = Issue("mx.dane.test", fresh);
        var file = WriteChain("fresh-key.pem", next, LabIntermediate());

        var (exitCode, report) = await Check("dane.test", file);

        Assert.Equal("mx.dane.test", Finding(report, "mta-sts.rotation.next-webpki-ok").GetProperty("subject").GetString());
        var warning = Finding(report, "dane.rotation.next-not-covered");
        var line = $"_25._tcp.mx.dane.test. IN TLSA 3 1 1 {Convert.ToHexString(SHA256.HashData(fresh.ExportSubjectPublicKeyInfo()))}";
        Assert.Equal("warning", warning.GetProperty("severity").GetString());
        Assert.Equal("mx.dane.test", warning.GetProperty("subject").GetString());
        Assert.Contains(line, warning.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(line, Assert.Single(warning.GetProperty("records").EnumerateArray()).GetString());
        Assert.Contains("wait", warning.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.True(warning.GetProperty("fix").GetString()!.Length <= 160, warning.GetProperty("fix").GetString());
        Assert.Equal("warning", report.GetProperty("status").GetString());
        Assert.Equal(1, exitCode);
        Assert.Contains(line, await Generate(file), StringComparison.Ordinal);
    }

    [Fact]
    public async Task NextCert_DaneTa_SameIssuerReadyOtherIssuerNotCovered()
    {
        using var fresh = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var sameIssuer = WriteChain("lab-issued.pem", Issue("mx.dane-ta.test", fresh), LabIntermediate());
        var (otherLeaf, otherCa) = OtherCa("mx.dane-ta.test");
        var otherIssuer = WriteChain("other-ca.pem", otherLeaf, otherCa);

        var (_, report) = await Check("dane-ta.test", sameIssuer, otherIssuer);

        var ready = Finding(report, "dane.rotation.ready");
        Assert.Contains("lab-issued.pem", ready.GetProperty("message").GetString(), StringComparison.Ordinal);
        var warning = Finding(report, "dane.rotation.next-not-covered");
        Assert.Contains("other-ca.pem", warning.GetProperty("message").GetString(), StringComparison.Ordinal);
        var line = $"_25._tcp.mx.dane-ta.test. IN TLSA 2 1 1 {Convert.ToHexString(SHA256.HashData(otherCa.PublicKey.ExportSubjectPublicKeyInfo()))}";
        Assert.Contains(line, warning.GetProperty("records").EnumerateArray().Select(r => r.GetString()));
    }

    /// <summary>
    /// The MTA-STS side of <c>--next-cert</c> for sts-enforce.test (mode enforce, no DANE): judged with the lab CA as the trust
    /// (SSL_CERT_FILE), a next certificate the lab intermediate issued for its MX is accepted; a self-signed one is refused.
    /// </summary>
    [Theory]
    [InlineData("lab-ca", "mta-sts.rotation.next-webpki-ok", "ok", 0, "MTA-STS senders would accept")]
    [InlineData("self-signed", "mta-sts.rotation.next-webpki-invalid", "failure", 2, "untrusted chain: enforcing MTA-STS senders would refuse")]
    public async Task NextCert_StsEnforce_WebPkiVerdict(string issuer, string id, string severity, int exitCode, string message)
    {
        const string host = "mx.sts-enforce.test";
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var file = issuer == "lab-ca"
            ? WriteChain($"sts-{issuer}.pem", Issue(host, key), LabIntermediate())
            : WriteChain($"sts-{issuer}.pem", SelfSigned(host, key));

        var (exit, report) = await Check("sts-enforce.test", file);

        var finding = Finding(report, id);
        Assert.Equal(severity, finding.GetProperty("severity").GetString());
        Assert.Equal(host, finding.GetProperty("subject").GetString());
        Assert.StartsWith(message, finding.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains($"sts-{issuer}.pem", finding.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Single(Ids(report), i => i.StartsWith("mta-sts.rotation.", StringComparison.Ordinal));
        Assert.Contains("dane.rotation.not-applicable", Ids(report));
        Assert.Equal(exitCode, exit);
    }

    [Fact]
    public async Task LiveMismatch_RecordsNameTheLiveRecord_DetailTheRunbook()
    {
        var live = X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(State, "pki", "mx", "mx.dane-mismatch.test", "cert.pem")));

        var (_, report) = await Check("dane-mismatch.test");

        var finding = Finding(report, "dane.tlsa.no-match");
        Assert.Equal($"_25._tcp.mx.dane-mismatch.test. IN TLSA 3 1 1 {Convert.ToHexString(SHA256.HashData(live.PublicKey.ExportSubjectPublicKeyInfo()))}",
            Assert.Single(finding.GetProperty("records").EnumerateArray()).GetString());
        Assert.Contains("Rotate in this order", finding.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.True(finding.GetProperty("fix").GetString()!.Length <= 160, finding.GetProperty("fix").GetString());
        Assert.Contains("docs/checks.md#dane", finding.GetProperty("docs").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task NextCert_BadPath_OneLineErrorExit3Unknown()
    {
        Lab.RequireLab();
        var missing = Path.Combine(_dir, "nope.pem");

        var result = await CliRunner.RunAsync(["check", "dane.test", "--next-cert", missing, "--json"]);

        Assert.Equal(3, result.ExitCode);
        Assert.False(CliRunner.HasStackTrace(result), result.ToString());
        Assert.Equal($"rampart: --next-cert {missing}: no such file or directory", result.Stderr.Trim());
        Assert.Empty(result.Stdout);
    }

    private static async Task<(int ExitCode, JsonElement Report)> Check(string domain, params string[] next)
    {
        Lab.RequireLab();
        var result = await CliRunner.RunAsync(["check", domain, "--json", "--timeout", "3", .. next.Length > 0 ? ["--next-cert", .. next] : Array.Empty<string>()],
            null, TimeSpan.FromSeconds(90));
        Assert.False(CliRunner.HasStackTrace(result), result.ToString());
        using var doc = JsonDocument.Parse(result.Stdout);
        return (result.ExitCode, doc.RootElement.GetProperty("domains")[0].Clone());
    }

    /// <summary>What <c>rampart tlsa generate</c> prints for the file: the rotation finding must give the same line.</summary>
    private static async Task<string> Generate(string file)
    {
        var result = await CliRunner.RunAsync(["tlsa", "generate", "--cert", file, "--name", "mx.dane.test"]);
        Assert.Equal(0, result.ExitCode);
        return result.Stdout;
    }

    private static List<string> Ids(JsonElement report) =>
        report.GetProperty("findings").EnumerateArray().Select(f => f.GetProperty("id").GetString()!).ToList();

    private static JsonElement Finding(JsonElement report, string id) =>
        report.GetProperty("findings").EnumerateArray().FirstOrDefault(f => f.GetProperty("id").GetString() == id) is { ValueKind: JsonValueKind.Object } found
            ? found
            : throw new Xunit.Sdk.XunitException($"no {id} finding in {report}");

    /// <summary>The key the lab's MX receiver for <paramref name="host"/> uses (what the zone's 3 1 1 pins).</summary>
    private static ECDsa MxKey(string host)
    {
        var path = Path.Combine(State, "pki", "mx", host, "key.pem");
        Assert.True(File.Exists(path), $"{path} is missing: is the lab up (RAMPART_LAB_STATE={State})?");
        var key = ECDsa.Create();
        key.ImportFromPem(File.ReadAllText(path));
        return key;
    }

    private static X509Certificate2 LabIntermediate()
    {
        var pki = Path.Combine(State, "pki");
        return X509Certificate2.CreateFromPemFile(Path.Combine(pki, "intermediate.crt"), Path.Combine(pki, "intermediate.key"));
    }

    /// <summary>A leaf for <paramref name="host"/> on <paramref name="key"/>, issued by the lab intermediate.</summary>
    private static X509Certificate2 Issue(string host, ECDsa key)
    {
        using var issuer = LabIntermediate();
        return Leaf(host, key, issuer);
    }

    private static X509Certificate2 Leaf(string host, ECDsa key, X509Certificate2 issuer)
    {
        var request = new CertificateRequest($"CN={host}", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(host);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        var now = DateTimeOffset.UtcNow;
        var notAfter = now.AddDays(90) < issuer.NotAfter ? now.AddDays(90) : issuer.NotAfter.AddMinutes(-1);
        return request.Create(issuer, now.AddHours(-1), notAfter, RandomNumberGenerator.GetBytes(12).Select((b, i) => i == 0 ? (byte)(b & 0x7f) : b).ToArray());
    }

    /// <summary>A self-signed server certificate for <paramref name="host"/>: no WebPKI sender trusts it.</summary>
    private static X509Certificate2 SelfSigned(string host, ECDsa key)
    {
        var request = new CertificateRequest($"CN={host}", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(host);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(90));
    }

    /// <summary>A CA the lab's TLSA records do not name, and a leaf it issued.</summary>
    private static (X509Certificate2 Leaf, X509Certificate2 Ca) OtherCa(string host)
    {
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=Rotation Test Other CA", caKey, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        var ca = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
        using var leafKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        return (Leaf(host, leafKey, ca), ca);
    }

    private string WriteChain(string name, params X509Certificate2[] chain)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, string.Concat(chain.Select(c => c.ExportCertificatePem() + "\n")));
        return path;
    }

    /// <summary>certbot's layout: live/NAME/{cert,chain,fullchain,privkey}.pem.</summary>
    private string WriteCertbot(string name, X509Certificate2 leaf)
    {
        var live = Directory.CreateDirectory(Path.Combine(_dir, "live", name)).FullName;
        using var intermediate = LabIntermediate();
        File.WriteAllText(Path.Combine(live, "cert.pem"), leaf.ExportCertificatePem() + "\n");
        File.WriteAllText(Path.Combine(live, "chain.pem"), intermediate.ExportCertificatePem() + "\n");
        File.WriteAllText(Path.Combine(live, "fullchain.pem"), leaf.ExportCertificatePem() + "\n" + intermediate.ExportCertificatePem() + "\n");
        File.WriteAllText(Path.Combine(live, "privkey.pem"), "-----BEGIN PRIVATE KEY-----\nnot read by rampart check\n-----END PRIVATE KEY-----\n");
        return live + "/";
    }
}
