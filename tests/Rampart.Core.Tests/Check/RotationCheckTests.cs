using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Rampart.Core.Check;
using Rampart.Core.Dane;
using Rampart.Core.Tests.Support;

namespace Rampart.Core.Tests.Check;

/// <summary>
/// Rotation safety (<c>--next-cert</c>): the published TLSA set against the next certificate, judged by DaneMatcher, and
/// the exact zone line to publish when it is not covered; the live-mismatch fix carries the same procedure.
/// </summary>
public sealed class RotationCheckTests : IDisposable
{
    private const string Host = "mx.example.org";
    private const string TlsaName = "_25._tcp.mx.example.org";
    private readonly CheckHarness _h = new();

    public void Dispose() => _h.Dispose();

    [Fact]
    public async Task NextCert_SameKey311_Ready()
    {
        var current = _h.Pki.Leaf(Host);
        var next = SameKey(current, Host, _h.Pki.Intermediate);
        Serve(current, CheckHarness.DaneEe(current));

        var report = await CheckWith(Next(next, _h.Pki.Intermediate));

        var finding = report.Single("dane.rotation.ready");
        Assert.Equal(Host, finding.Subject);
        Assert.Contains("3 1 1", finding.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(report.Findings, f => f.Id == "dane.rotation.next-not-covered");
        Assert.Equal(CheckStatus.Ok, report.Status);
    }

    [Fact]
    public async Task NextCert_FreshKey311_WarningNamesExactRecordAndRunbook()
    {
        var current = _h.Pki.Leaf(Host);
        var next = _h.Pki.Leaf(Host);
        Serve(current, CheckHarness.DaneEe(current));

        var report = await CheckWith(Next(next, _h.Pki.Intermediate));

        var finding = report.Single("dane.rotation.next-not-covered");
        var line = $"{TlsaName}. IN TLSA {CheckHarness.DaneEe(next)}";
        Assert.Equal(CheckSeverity.Warning, finding.Severity);
        Assert.Contains(line, finding.Message, StringComparison.Ordinal);
        Assert.Equal(line, Assert.Single(finding.Records));
        Assert.Equal(RotationRunbook.Steps, finding.Detail);
        Assert.True(finding.Fix.Length <= CheckDefinition.MaxFixLength, finding.Fix);
        Assert.Equal(CheckStatus.Warning, report.Status);
    }

    [Fact]
    public async Task NextCert_SameKeyButRecord301_NotCoveredWithCertificateDigest()
    {
        var current = _h.Pki.Leaf(Host);
        var next = SameKey(current, Host, _h.Pki.Intermediate);
        Serve(current, $"3 0 1 {Convert.ToHexString(SHA256.HashData(current.RawData))}");

        var report = await CheckWith(Next(next, _h.Pki.Intermediate));

        var finding = report.Single("dane.rotation.next-not-covered");
        Assert.Contains($"{TlsaName}. IN TLSA 3 0 1 {Convert.ToHexString(SHA256.HashData(next.RawData))}", finding.Records);
    }

    [Fact]
    public async Task NextCert_NextRecordPrePublished_Ready()
    {
        var current = _h.Pki.Leaf(Host);
        var next = _h.Pki.Leaf(Host);
        Serve(current, CheckHarness.DaneEe(current), CheckHarness.DaneEe(next));

        var report = await CheckWith(Next(next, _h.Pki.Intermediate));

        Assert.Equal(CheckSeverity.Ok, report.Single("dane.rotation.ready").Severity);
        Assert.Contains(report.Findings, f => f.Id == "dane.tlsa.rollover-ready");
    }

    [Fact]
    public async Task NextCert_DigestAgility_Sha256RecordBesideSha512Ignored()
    {
        var current = _h.Pki.Leaf(Host);
        var next = _h.Pki.Leaf(Host);
        var current512 = $"3 1 2 {Convert.ToHexString(SHA512.HashData(current.PublicKey.ExportSubjectPublicKeyInfo()))}";
        Serve(current, current512, CheckHarness.DaneEe(next));

        var report = await CheckWith(Next(next, _h.Pki.Intermediate));

        var finding = report.Single("dane.rotation.next-not-covered");
        Assert.Contains(finding.Records, r => r.EndsWith($"3 1 2 {Convert.ToHexString(SHA512.HashData(next.PublicKey.ExportSubjectPublicKeyInfo()))}", StringComparison.Ordinal));
    }

    [Fact]
    public async Task NextCert_DaneTaSameIssuer_Ready()
    {
        var current = _h.Pki.Leaf(Host);
        Serve(current, CheckHarness.DaneTa(_h.Pki.Intermediate));

        var report = await CheckWith(Next(_h.Pki.Leaf(Host), _h.Pki.Intermediate));

        Assert.Contains("2 1 1", report.Single("dane.rotation.ready").Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NextCert_DaneTaNewIssuer_NotCoveredWithIssuerRecord()
    {
        var other = new TestPki("Other");
        Serve(_h.Pki.Leaf(Host), CheckHarness.DaneTa(_h.Pki.Intermediate));

        var report = await CheckWith(Next(other.Leaf(Host), other.Intermediate));

        var finding = report.Single("dane.rotation.next-not-covered");
        Assert.Contains($"{TlsaName}. IN TLSA {CheckHarness.DaneTa(other.Intermediate)}", finding.Records);
    }

    [Fact]
    public async Task NextCert_DaneTaLeafOnly_NotCoveredAnd311Offered()
    {
        var next = _h.Pki.Leaf(Host);
        Serve(_h.Pki.Leaf(Host), CheckHarness.DaneTa(_h.Pki.Intermediate));

        var report = await CheckWith(Next(next));

        var finding = report.Single("dane.rotation.next-not-covered");
        Assert.Contains($"{TlsaName}. IN TLSA {CheckHarness.DaneEe(next)}", finding.Records);
    }

    [Fact]
    public async Task NextCert_DaneTaWrongName_NotCovered()
    {
        Serve(_h.Pki.Leaf(Host), CheckHarness.DaneTa(_h.Pki.Intermediate));

        var report = await CheckWith(Next(_h.Pki.Leaf("mail.example.net"), _h.Pki.Intermediate));

        Assert.Contains("do not cover", report.Single("dane.rotation.next-not-covered").Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NextCerts_SeveralHosts_EachCheckedAgainstTheCertificateNamingIt()
    {
        var mx1 = _h.Pki.Leaf("mx1.example.org");
        var mx2 = _h.Pki.Leaf("mx2.example.org");
        _h.Dns.Mx("example.org", (10, "mx1.example.org"), (20, "mx2.example.org"))
            .Address("mx1.example.org", "192.0.2.1").Address("mx2.example.org", "192.0.2.2")
            .Tlsa("_25._tcp.mx1.example.org", CheckHarness.DaneEe(mx1))
            .Tlsa("_25._tcp.mx2.example.org", CheckHarness.DaneEe(mx2));
        _h.Probe.Tls("192.0.2.1", mx1, _h.Pki.Intermediate).Tls("192.0.2.2", mx2, _h.Pki.Intermediate);
        var next1 = SameKey(mx1, "mx1.example.org", _h.Pki.Intermediate);
        var next2 = _h.Pki.Leaf("mx2.example.org");

        var report = await CheckWith(Next(next1, _h.Pki.Intermediate), Next(next2, _h.Pki.Intermediate));

        Assert.Equal("mx1.example.org", report.Single("dane.rotation.ready").Subject);
        var warning = report.Single("dane.rotation.next-not-covered");
        Assert.Equal("mx2.example.org", warning.Subject);
        Assert.Equal($"_25._tcp.mx2.example.org. IN TLSA {CheckHarness.DaneEe(next2)}", Assert.Single(warning.Records));
    }

    [Fact]
    public async Task NextCert_NamesNoHost_CheckedAgainstEveryDaneHost()
    {
        var current = _h.Pki.Leaf(Host);
        Serve(current, CheckHarness.DaneEe(current));

        var report = await CheckWith(Next(SameKey(current, "other.example.net", _h.Pki.Intermediate), _h.Pki.Intermediate));

        Assert.Contains("checked anyway", report.Single("dane.rotation.ready").Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NextCert_NoTlsa_NotApplicableInfo()
    {
        _h.Domain("example.org", "192.0.2.1");
        _h.Probe.Tls("192.0.2.1", _h.Pki.Leaf(Host), _h.Pki.Intermediate);

        var report = await CheckWith(Next(_h.Pki.Leaf(Host), _h.Pki.Intermediate));

        Assert.Equal(CheckSeverity.Info, report.Single("dane.rotation.not-applicable").Severity);
    }

    [Fact]
    public async Task NoNextCert_NoRotationFindings()
    {
        var current = _h.Pki.Leaf(Host);
        Serve(current, CheckHarness.DaneEe(current));

        var report = await _h.CheckAsync("example.org");

        Assert.DoesNotContain(report.Findings, f => f.Id.StartsWith("dane.rotation.", StringComparison.Ordinal));
    }

    [Fact]
    public async Task LiveMismatch_RecordsAreTheLiveCertificatesDetailTheRunbook_FixShort()
    {
        var old = _h.Pki.Leaf(Host);
        var live = _h.Pki.Leaf(Host);
        Serve(live, CheckHarness.DaneEe(old));

        var report = await _h.CheckAsync("example.org");

        var finding = report.Single("dane.tlsa.no-match");
        Assert.Equal($"{TlsaName}. IN TLSA {CheckHarness.DaneEe(live)}", Assert.Single(finding.Records));
        Assert.EndsWith(RotationRunbook.Steps, finding.Detail, StringComparison.Ordinal);
        Assert.Equal(CheckCatalog.DaneNoMatch.Fix, finding.Fix);
        Assert.True(finding.Fix.Length <= CheckDefinition.MaxFixLength, finding.Fix);
    }

    [Fact]
    public void Generator_SameRecordsAsTlsaAssociation_AndDaneTaNeedsTheCa()
    {
        var leaf = _h.Pki.Leaf(Host);

        Assert.True(TlsaGenerator.TryCreate([leaf, _h.Pki.Intermediate], TlsaUsage.DaneEe, TlsaSelector.Spki, TlsaMatchingType.Sha256, out var ee, out _));
        Assert.Equal(CheckHarness.DaneEe(leaf), ee.ToString());
        Assert.True(TlsaGenerator.TryCreate([leaf, _h.Pki.Intermediate], TlsaUsage.DaneTa, TlsaSelector.Spki, TlsaMatchingType.Sha256, out var ta, out _));
        Assert.Equal(CheckHarness.DaneTa(_h.Pki.Intermediate), ta.ToString());
        Assert.False(TlsaGenerator.TryCreate([leaf], TlsaUsage.DaneTa, TlsaSelector.Spki, TlsaMatchingType.Sha256, out _, out var error));
        Assert.Contains("chain", error, StringComparison.Ordinal);
        Assert.Equal($"_25._tcp.mx.example.org. IN TLSA {ee}", TlsaGenerator.ZoneLine("mx.example.org.", 25, ee));
    }

    private void Serve(X509Certificate2 live, params string[] tlsa)
    {
        _h.Domain("example.org", "192.0.2.1").Dns.Tlsa(TlsaName, tlsa);
        _h.Probe.Tls("192.0.2.1", live, _h.Pki.Intermediate);
    }

    private Task<DomainCheckReport> CheckWith(params NextCertificate[] next)
    {
        _h.Settings = _h.Settings with { NextCertificates = next };
        return _h.CheckAsync("example.org");
    }

    private static NextCertificate Next(params X509Certificate2[] chain) => new("next.pem", chain);

    /// <summary>A new certificate for <paramref name="name"/> on the key of <paramref name="current"/> (a renewal that keeps the key).</summary>
    internal static X509Certificate2 SameKey(X509Certificate2 current, string name, X509Certificate2 issuer)
    {
        using var key = current.GetECDsaPrivateKey() ?? throw new InvalidOperationException("the current certificate has no private key");
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(name);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        var serial = RandomNumberGenerator.GetBytes(12);
        serial[0] &= 0x7f;
        return request.Create(issuer, TestPki.Now.AddDays(-1), TestPki.Now.AddDays(90), serial);
    }
}
