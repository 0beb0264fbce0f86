using System.Security.Cryptography.X509Certificates;
using Rampart.Core.Check;
using Rampart.Core.Tests.Support;

namespace Rampart.Core.Tests.Check;

/// <summary>
/// The MTA-STS side of <c>--next-cert</c> (RFC 8461 §4.1): the next certificate judged as an MTA-STS sender would, with the
/// checker's own trust (the test PKI's root as the extra anchor), on each MX host it names. Certificates are made here.
/// </summary>
public sealed class MtaStsRotationCheckTests : IDisposable
{
    private const string Host = "mx.example.org";
    private readonly CheckHarness _h = new();

    public void Dispose() => _h.Dispose();

    [Fact]
    public async Task Enforce_NextFromTrustedCaForTheMx_Ok()
    {
        Policy("enforce");

        var report = await CheckWith(Next(_h.Pki.Leaf(Host), _h.Pki.Intermediate));

        var ok = report.Single("mta-sts.rotation.next-webpki-ok");
        Assert.Equal(Host, ok.Subject);
        Assert.Contains("would accept", ok.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(report.Findings, f => f.Id == "mta-sts.rotation.next-webpki-invalid");
        Assert.Equal(CheckStatus.Ok, report.Status);
    }

    [Fact]
    public async Task Enforce_SelfSigned_UntrustedChainFailure()
    {
        Policy("enforce");

        var report = await CheckWith(Next(TestPki.Issue($"CN={Host}", null, dnsNames: [Host])));

        var invalid = report.Single("mta-sts.rotation.next-webpki-invalid");
        Assert.Equal(CheckSeverity.Failure, invalid.Severity);
        Assert.Equal(Host, invalid.Subject);
        Assert.StartsWith("untrusted chain:", invalid.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("only the leaf", invalid.Message, StringComparison.Ordinal);
        Assert.Equal(CheckStatus.Failure, report.Status);
    }

    [Fact]
    public async Task Enforce_MissingIntermediate_UntrustedChain()
    {
        Policy("enforce");

        var report = await CheckWith(Next(_h.Pki.Leaf(Host)));

        var message = report.Single("mta-sts.rotation.next-webpki-invalid").Message;
        Assert.StartsWith("untrusted chain:", message, StringComparison.Ordinal);
        Assert.Contains("only the leaf was given", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Enforce_Expired_Failure()
    {
        Policy("enforce");
        var expired = _h.Pki.LeafFor([Host], TestPki.Now.AddDays(-100), TestPki.Now.AddDays(-10));

        var report = await CheckWith(Next(expired, _h.Pki.Intermediate));

        Assert.StartsWith("expired:", report.Single("mta-sts.rotation.next-webpki-invalid").Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Enforce_NotYetValid_Failure()
    {
        Policy("enforce");
        var future = _h.Pki.LeafFor([Host], TestPki.Now.AddDays(5), TestPki.Now.AddDays(95));

        var report = await CheckWith(Next(future, _h.Pki.Intermediate));

        Assert.StartsWith("not yet valid:", report.Single("mta-sts.rotation.next-webpki-invalid").Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Enforce_ExpiresWithinCertDays_ExpiringWarning()
    {
        Policy("enforce");
        var shortLived = _h.Pki.LeafFor([Host], TestPki.Now.AddDays(-80), TestPki.Now.AddDays(10));

        var report = await CheckWith(Next(shortLived, _h.Pki.Intermediate));

        var expiring = report.Single("mta-sts.rotation.next-webpki-expiring");
        Assert.Equal(CheckSeverity.Warning, expiring.Severity);
        Assert.Contains("expires in 10 days", expiring.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(report.Findings, f => f.Id == "mta-sts.rotation.next-webpki-ok");
    }

    [Fact]
    public async Task Enforce_NamesNoMxHost_FailureNamingTheMxHosts()
    {
        Policy("enforce");

        var report = await CheckWith(Next(_h.Pki.Leaf("mail.example.net"), _h.Pki.Intermediate));

        var invalid = report.Single("mta-sts.rotation.next-webpki-invalid");
        Assert.Equal("example.org", invalid.Subject);
        Assert.StartsWith("name mismatch:", invalid.Message, StringComparison.Ordinal);
        Assert.Contains("[mail.example.net]", invalid.Message, StringComparison.Ordinal);
        Assert.Contains($"({Host})", invalid.Message, StringComparison.Ordinal);
        Assert.Equal(CheckSeverity.Failure, invalid.Severity);
    }

    [Fact]
    public async Task Enforce_WildcardNextCert_CoversTheMx()
    {
        Policy("enforce");

        var report = await CheckWith(Next(_h.Pki.Leaf("*.example.org"), _h.Pki.Intermediate));

        Assert.Equal(Host, report.Single("mta-sts.rotation.next-webpki-ok").Subject);
    }

    [Fact]
    public async Task Testing_SelfSigned_WarningNotFailure()
    {
        Policy("testing");

        var report = await CheckWith(Next(TestPki.Issue($"CN={Host}", null, dnsNames: [Host])));

        var invalid = report.Single("mta-sts.rotation.next-webpki-invalid");
        Assert.Equal(CheckSeverity.Warning, invalid.Severity);
        Assert.Contains("testing MTA-STS senders would report", invalid.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TwoMxHosts_EachJudgedByTheCertificateNamingIt()
    {
        _h.Dns.Mx("example.org", (10, "mx1.example.org"), (20, "mx2.example.org"))
            .Address("mx1.example.org", "192.0.2.1").Address("mx2.example.org", "192.0.2.2")
            .Txt("_mta-sts.example.org", "v=STSv1; id=7");
        _h.Fetcher.Serve("example.org", "version: STSv1\nmode: enforce\nmx: *.example.org\nmax_age: 604800\n");
        _h.Probe.Tls("192.0.2.1", _h.Pki.Leaf("mx1.example.org"), _h.Pki.Intermediate).Tls("192.0.2.2", _h.Pki.Leaf("mx2.example.org"), _h.Pki.Intermediate);
        var both = _h.Pki.LeafFor(["mx1.example.org", "mx2.example.org"]);

        var report = await CheckWith(Next(both, _h.Pki.Intermediate));

        Assert.Equal(["mx1.example.org", "mx2.example.org"],
            report.Findings.Where(f => f.Id == "mta-sts.rotation.next-webpki-ok").Select(f => f.Subject));
    }

    [Theory]
    [InlineData("none")]
    [InlineData(null)]
    public async Task NoPolicyOrModeNone_NoMtaStsRotationFindings(string? mode)
    {
        if (mode is null)
        {
            _h.Domain("example.org", "192.0.2.1");
            _h.Probe.Tls("192.0.2.1", _h.Pki.Leaf(Host), _h.Pki.Intermediate);
        }
        else
        {
            Policy(mode);
        }

        var report = await CheckWith(Next(TestPki.Issue($"CN={Host}", null, dnsNames: [Host])));

        Assert.DoesNotContain(report.Findings, f => f.Id.StartsWith("mta-sts.rotation.", StringComparison.Ordinal));
    }

    [Fact]
    public async Task NoNextCert_NoMtaStsRotationFindings()
    {
        Policy("enforce");

        var report = await _h.CheckAsync("example.org");

        Assert.DoesNotContain(report.Findings, f => f.Id.StartsWith("mta-sts.rotation.", StringComparison.Ordinal));
    }

    private void Policy(string mode)
    {
        _h.Domain("example.org", "192.0.2.1").Dns.Txt("_mta-sts.example.org", "v=STSv1; id=1");
        _h.Fetcher.Serve("example.org", $"version: STSv1\nmode: {mode}\nmx: {Host}\nmax_age: 604800\n");
        _h.Probe.Tls("192.0.2.1", _h.Pki.Leaf(Host), _h.Pki.Intermediate);
    }

    private Task<DomainCheckReport> CheckWith(params NextCertificate[] next)
    {
        _h.Settings = _h.Settings with { NextCertificates = next };
        return _h.CheckAsync("example.org");
    }

    private static NextCertificate Next(params X509Certificate2[] chain) => new("next.pem", chain);
}
