using System.Diagnostics;
using System.Net;
using System.Security.Authentication;
using Rampart.Core.Check;
using Rampart.Core.Dns;
using Rampart.Core.MtaSts;
using Rampart.Core.Smtp;
using Rampart.Core.Tests.Support;

namespace Rampart.Core.Tests.Check;

public sealed class DomainCheckerTests : IDisposable
{
    private const string Enforce = "version: STSv1\nmode: enforce\nmx: mx.example.org\nmax_age: 604800\n";
    private readonly CheckHarness _h = new();

    public void Dispose() => _h.Dispose();

    [Fact]
    public async Task Check_GoodStsDomain_StatusOk()
    {
        _h.Domain("example.org", "192.0.2.1").Dns.Txt("_mta-sts.example.org", "v=STSv1; id=1").Txt("_smtp._tls.example.org", "v=TLSRPTv1; rua=mailto:r@example.org");
        _h.Fetcher.Serve("example.org", Enforce);
        _h.Probe.Tls("192.0.2.1", _h.Pki.Leaf("mx.example.org"), _h.Pki.Intermediate);

        var report = await _h.CheckAsync("example.org");

        Assert.True(report.Status == CheckStatus.Ok, report.Describe());
        Assert.Contains(report.Findings, f => f.Id == "mta-sts.enforce.ready");
        Assert.Contains(report.Findings, f => f.Id == "tls-rpt.ok");
        Assert.Contains(report.Findings, f => f.Id == "tls.cert.valid");
    }

    [Fact]
    public async Task Check_OtherTxtAtTlsRptName_NoneNamingWhatIsThere()
    {
        // A wildcard TXT (an MTA-STS record, say) also answers _smtp._tls: it is not a TLS-RPT record.
        _h.Domain("example.org", "192.0.2.1").Dns.Txt("_smtp._tls.example.org", "v=STSv1; id=1");
        _h.Probe.Tls("192.0.2.1", _h.Pki.Leaf("mx.example.org"), _h.Pki.Intermediate);

        var report = await _h.CheckAsync("example.org");

        var none = report.Single("tls-rpt.none");
        Assert.Equal(CheckSeverity.Info, none.Severity);
        Assert.Contains("none beginning with 'v=TLSRPTv1' (first: 'v=STSv1; id=1')", none.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_NullMx_OnlyNullFinding()
    {
        _h.Dns.Mx("example.org", (0, ""));

        var report = await _h.CheckAsync("example.org");

        Assert.Equal(CheckSeverity.Info, report.Single("mx.null").Severity);
        Assert.DoesNotContain(report.Findings, f => f.Id.StartsWith("smtp.", StringComparison.Ordinal));
        Assert.Equal(CheckStatus.Ok, report.Status);
    }

    [Fact]
    public async Task Check_NullMxBesideOthers_Failure()
    {
        _h.Dns.Mx("example.org", (0, ""), (10, "mx.example.org")).Address("mx.example.org", "192.0.2.1");
        _h.Probe.Tls("192.0.2.1", _h.Pki.Leaf("mx.example.org"), _h.Pki.Intermediate);

        var report = await _h.CheckAsync("example.org");

        Assert.Equal(CheckSeverity.Failure, report.Single("mx.null-mixed").Severity);
    }

    [Fact]
    public async Task Check_MxProblems_AllCollected()
    {
        _h.Dns.Mx("example.org", (10, "a.example.org"), (20, "a.example.org"), (30, "gone.example.org"), (40, "broken.example.org"))
            .Address("a.example.org", "192.0.2.1")
            .Fail("broken.example.org", "ADDR");
        _h.Probe.Tls("192.0.2.1", _h.Pki.Leaf("a.example.org"), _h.Pki.Intermediate);

        var report = await _h.CheckAsync("example.org");

        Assert.Equal("a.example.org", report.Single("mx.duplicate").Subject);
        Assert.Equal("gone.example.org", report.Single("mx.unresolvable").Subject);
        Assert.Equal("broken.example.org", report.Single("mx.address-lookup-error").Subject);
        Assert.DoesNotContain(report.Findings, f => f.Id == "mx.ok");
        Assert.Single(_h.Probe.Calls);
    }

    [Theory]
    [InlineData(DnsOutcome.NxDomain, "mx.domain-missing", CheckSeverity.Failure)]
    [InlineData(DnsOutcome.NoData, "mx.none", CheckSeverity.Warning)]
    [InlineData(DnsOutcome.LookupError, "mx.lookup-error", CheckSeverity.Failure)]
    public async Task Check_NoUsableMx_Finding(DnsOutcome outcome, string id, CheckSeverity severity)
    {
        if (outcome == DnsOutcome.LookupError)
        {
            _h.Dns.Fail("example.org", "MX");
        }
        else if (outcome == DnsOutcome.NoData)
        {
            _h.Dns.Mx("example.org");
        }

        var report = await _h.CheckAsync("example.org");

        Assert.Equal(severity, report.Single(id).Severity);
    }

    [Fact]
    public async Task Check_TlsaLookupError_ErrorNotAbsence()
    {
        _h.Domain("example.org", "192.0.2.1").Dns.Fail("_25._tcp.mx.example.org", "TLSA");
        _h.Probe.Tls("192.0.2.1", _h.Pki.Leaf("mx.example.org"), _h.Pki.Intermediate);

        var report = await _h.CheckAsync("example.org");

        Assert.Equal(CheckSeverity.Failure, report.Single("dane.tlsa.lookup-error").Severity);
        Assert.DoesNotContain(report.Findings, f => f.Id == "dane.tlsa.none");
        Assert.Equal(CheckStatus.Failure, report.Status);
    }

    [Fact]
    public async Task Check_TlsaOfOldKey_NoMatchFailure()
    {
        var old = _h.Pki.Leaf("mx.example.org");
        var current = _h.Pki.Leaf("mx.example.org");
        _h.Domain("example.org", "192.0.2.1").Dns.Tlsa("_25._tcp.mx.example.org", CheckHarness.DaneEe(old));
        _h.Probe.Tls("192.0.2.1", current, _h.Pki.Intermediate);

        var report = await _h.CheckAsync("example.org");

        var finding = report.Single("dane.tlsa.no-match");
        Assert.Equal(CheckSeverity.Failure, finding.Severity);
        Assert.Equal("mx.example.org [192.0.2.1]", finding.Subject);
        Assert.Equal("mx.example.org", _h.Probe.Calls.Single().ServerName);
    }

    [Fact]
    public async Task Check_TlsaCurrentAndNext_RolloverReady()
    {
        var current = _h.Pki.Leaf("mx.example.org");
        var next = _h.Pki.Leaf("mx.example.org");
        _h.Domain("example.org", "192.0.2.1").Dns.Tlsa("_25._tcp.mx.example.org", CheckHarness.DaneEe(current), CheckHarness.DaneEe(next));
        _h.Probe.Tls("192.0.2.1", current, _h.Pki.Intermediate);

        var report = await _h.CheckAsync("example.org");

        Assert.Contains(report.Findings, f => f.Id == "dane.tlsa.match");
        Assert.Contains(report.Findings, f => f.Id == "dane.tlsa.rollover-ready");
        Assert.DoesNotContain(report.Findings, f => f.Id == "dane.tlsa.rollover-not-ready");
    }

    [Fact]
    public async Task Check_OnlyCurrentTlsa_RolloverNotReadyIsInfo()
    {
        var current = _h.Pki.Leaf("mx.example.org");
        _h.Domain("example.org", "192.0.2.1").Dns.Tlsa("_25._tcp.mx.example.org", CheckHarness.DaneEe(current));
        _h.Probe.Tls("192.0.2.1", current, _h.Pki.Intermediate);

        var report = await _h.CheckAsync("example.org");

        Assert.Equal(CheckSeverity.Info, report.Single("dane.tlsa.rollover-not-ready").Severity);
        Assert.Equal(CheckStatus.Ok, report.Status);
    }

    [Fact]
    public async Task Check_CertificateProblemsOnDaneHost_Informational()
    {
        var selfSigned = TestPki.Issue("CN=other.example", null, TestPki.Now.AddDays(-10), TestPki.Now.AddDays(5), dnsNames: ["other.example"]);
        _h.Domain("example.org", "192.0.2.1").Dns.Tlsa("_25._tcp.mx.example.org", CheckHarness.DaneEe(selfSigned));
        _h.Probe.Tls("192.0.2.1", selfSigned);

        var report = await _h.CheckAsync("example.org");

        var cert = Assert.Single(report.Findings, f => f.Id.StartsWith("tls.cert.", StringComparison.Ordinal) && f.Id != "tls.cert.expiring");
        Assert.Equal(CheckSeverity.Info, cert.Severity);
        Assert.Equal(CheckSeverity.Info, report.Single("tls.cert.expiring").Severity);
    }

    [Fact]
    public async Task Check_CertificateProblemsWithoutDane_Warnings()
    {
        _h.Domain("example.org", "192.0.2.1");
        _h.Probe.Tls("192.0.2.1", _h.Pki.Leaf("wrong.example.net", notAfter: TestPki.Now.AddDays(3)), _h.Pki.Intermediate);

        var report = await _h.CheckAsync("example.org");

        Assert.Equal(CheckSeverity.Warning, report.Single("tls.cert.name-mismatch").Severity);
        var expiring = report.Single("tls.cert.expiring");
        Assert.Equal(CheckSeverity.Warning, expiring.Severity);
        Assert.Contains("expires in 3 days", expiring.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_ExpiredCertificate_ExpiredFinding()
    {
        _h.Domain("example.org", "192.0.2.1");
        _h.Probe.Tls("192.0.2.1", _h.Pki.Leaf("mx.example.org", TestPki.Now.AddDays(-90), TestPki.Now.AddDays(-1)), _h.Pki.Intermediate);

        var report = await _h.CheckAsync("example.org");

        Assert.Equal(CheckSeverity.Warning, report.Single("tls.cert.expired").Severity);
        Assert.DoesNotContain(report.Findings, f => f.Id == "tls.cert.expiring");
    }

    [Theory]
    [InlineData(SmtpProbeStage.Connect, "smtp.unreachable")]
    [InlineData(SmtpProbeStage.Greeting, "smtp.error")]
    [InlineData(SmtpProbeStage.TlsHandshake, "smtp.tls-failed")]
    public async Task Check_ProbeFails_FailureNamingTheStage(SmtpProbeStage stage, string id)
    {
        _h.Domain("example.org", "192.0.2.1");
        _h.Probe.Fail("192.0.2.1", stage, "fake trouble");

        var report = await _h.CheckAsync("example.org");

        var finding = report.Single(id);
        Assert.Equal(CheckSeverity.Failure, finding.Severity);
        Assert.Contains("fake trouble", finding.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_NoStartTlsButTlsa_MissingAndUnverified()
    {
        _h.Domain("example.org", "192.0.2.1").Dns.Tlsa("_25._tcp.mx.example.org", CheckHarness.DaneEe(_h.Pki.Leaf("mx.example.org")));
        _h.Probe.NoStartTls("192.0.2.1");

        var report = await _h.CheckAsync("example.org");

        Assert.Equal(CheckSeverity.Failure, report.Single("smtp.starttls-missing").Severity);
        Assert.Equal(CheckSeverity.Failure, report.Single("dane.tlsa.unverified").Severity);
    }

    [Fact]
    public async Task Check_Tls11_OldVersionFailure()
    {
        _h.Domain("example.org", "192.0.2.1");
#pragma warning disable SYSLIB0039, CA5397 // the probe reports what the server negotiated
        _h.Probe.Tls("192.0.2.1", SslProtocols.Tls11, _h.Pki.Leaf("mx.example.org"), _h.Pki.Intermediate);
#pragma warning restore SYSLIB0039, CA5397

        var report = await _h.CheckAsync("example.org");

        Assert.Equal(CheckSeverity.Failure, report.Single("smtp.tls-version-old").Severity);
        Assert.DoesNotContain(report.Findings, f => f.Id == "smtp.starttls");
    }

    [Fact]
    public async Task Check_PartialDane_Warning()
    {
        _h.Dns.Mx("example.org", (10, "mx1.example.org"), (20, "mx2.example.org"))
            .Address("mx1.example.org", "192.0.2.1").Address("mx2.example.org", "192.0.2.2");
        var leaf = _h.Pki.Leaf("mx1.example.org");
        _h.Dns.Tlsa("_25._tcp.mx1.example.org", CheckHarness.DaneEe(leaf));
        _h.Probe.Tls("192.0.2.1", leaf, _h.Pki.Intermediate).Tls("192.0.2.2", _h.Pki.Leaf("mx2.example.org"), _h.Pki.Intermediate);

        var report = await _h.CheckAsync("example.org");

        Assert.Contains("mx2.example.org", report.Single("dane.partial").Message, StringComparison.Ordinal);
        Assert.Equal(CheckStatus.Warning, report.Status);
    }

    [Fact]
    public async Task Check_RrsigExpiringSoon_Warning()
    {
        _h.Domain("example.org", "192.0.2.1");
        _h.Probe.Tls("192.0.2.1", _h.Pki.Leaf("mx.example.org"), _h.Pki.Intermediate);
        _h.Signing.Expirations[("mx.example.org", "A")] = TestPki.Now.AddDays(2);

        var report = await _h.CheckAsync("example.org");

        var finding = report.Single("dnssec.rrsig-expiring");
        Assert.Equal("mx.example.org", finding.Subject);
        Assert.Contains("expires in 2 days", finding.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_RrsigFarAway_NoWarning()
    {
        _h.Domain("example.org", "192.0.2.1");
        _h.Probe.Tls("192.0.2.1", _h.Pki.Leaf("mx.example.org"), _h.Pki.Intermediate);
        _h.Signing.Expirations[("mx.example.org", "A")] = TestPki.Now.AddDays(8);

        var report = await _h.CheckAsync("example.org");

        Assert.DoesNotContain(report.Findings, f => f.Id == "dnssec.rrsig-expiring");
    }

    [Fact]
    public async Task Check_InsecureDomain_InfoAndNoTlsaLookup()
    {
        _h.Dns.SecureByDefault = false;
        _h.Domain("example.org", "192.0.2.1");
        _h.Probe.Tls("192.0.2.1", _h.Pki.Leaf("mx.example.org"), _h.Pki.Intermediate);

        var report = await _h.CheckAsync("example.org");

        Assert.Equal(CheckSeverity.Info, report.Single("dnssec.insecure").Severity);
        Assert.Equal(0, _h.Dns.Count("TLSA"));
    }

    [Fact]
    public async Task Check_StsPolicyProblems_AllCollected()
    {
        _h.Dns.Mx("example.org", (10, "mx.example.org"), (20, "new.example.org"))
            .Address("mx.example.org", "192.0.2.1").Address("new.example.org", "192.0.2.2")
            .Txt("_mta-sts.example.org", "v=STSv1; id=2");
        _h.Fetcher.Serve("example.org", "version: STSv1\nmode: enforce\nmx: mx.example.org\nmx: old.example.org\nmax_age: 3600\n");
        _h.Probe.Tls("192.0.2.1", _h.Pki.Leaf("other.example.org"), _h.Pki.Intermediate).Tls("192.0.2.2", _h.Pki.Leaf("new.example.org"), _h.Pki.Intermediate);

        var report = await _h.CheckAsync("example.org");

        Assert.Equal(CheckSeverity.Warning, report.Single("mta-sts.policy.max-age-short").Severity);
        Assert.Equal("new.example.org", report.Single("mta-sts.policy.mx-not-covered").Subject);
        Assert.Contains("old.example.org", report.Single("mta-sts.policy.pattern-unused").Message, StringComparison.Ordinal);
        var webPki = report.Single("mta-sts.enforce.webpki-invalid");
        Assert.Equal(CheckSeverity.Failure, webPki.Severity);
        Assert.Contains("mx.example.org [192.0.2.1]", webPki.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("new.example.org", webPki.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_TestingPolicy_NotCoveredIsWarningAndLongMaxAgeFlagged()
    {
        _h.Domain("example.org", "192.0.2.1", host: "new.example.org").Dns.Txt("_mta-sts.example.org", "v=STSv1; id=3");
        _h.Fetcher.Serve("example.org", "version: STSv1\nmode: testing\nmx: mx.example.org\nmax_age: 31557600\n");
        _h.Probe.Tls("192.0.2.1", _h.Pki.Leaf("new.example.org"), _h.Pki.Intermediate);

        var report = await _h.CheckAsync("example.org");

        Assert.Equal(CheckSeverity.Warning, report.Single("mta-sts.policy.mx-not-covered").Severity);
        Assert.Equal(CheckSeverity.Warning, report.Single("mta-sts.policy.testing-max-age-long").Severity);
        Assert.Contains(report.Findings, f => f.Id == "mta-sts.policy.testing");
    }

    [Fact]
    public async Task Check_FetchFails_FailureNamingTheErrorClass()
    {
        _h.Domain("example.org", "192.0.2.1").Dns.Txt("_mta-sts.example.org", "v=STSv1; id=4");
        _h.Fetcher.Fail("example.org", MtaStsFetchError.Redirect);
        _h.Probe.Tls("192.0.2.1", _h.Pki.Leaf("mx.example.org"), _h.Pki.Intermediate);

        var report = await _h.CheckAsync("example.org");

        Assert.StartsWith("redirect:", report.Single("mta-sts.fetch.failed").Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("v=STSv1; id=a; ", "v=STSv1; id=b;", "mta-sts.txt.multiple")]
    [InlineData("v=STSv1; id=bad-id!", null, "mta-sts.txt.invalid")]
    public async Task Check_StsTxtProblems_Failure(string first, string? second, string id)
    {
        _h.Domain("example.org", "192.0.2.1").Dns.Txt("_mta-sts.example.org", second is null ? [first] : [first, second]);
        _h.Probe.Tls("192.0.2.1", _h.Pki.Leaf("mx.example.org"), _h.Pki.Intermediate);

        var report = await _h.CheckAsync("example.org");

        Assert.Equal(CheckSeverity.Failure, report.Single(id).Severity);
        Assert.Equal(0, _h.Fetcher.Fetches);
    }

    [Fact]
    public async Task Check_InvalidPolicy_EveryErrorInOneFinding()
    {
        _h.Domain("example.org", "192.0.2.1").Dns.Txt("_mta-sts.example.org", "v=STSv1; id=5");
        _h.Fetcher.Serve("example.org", "version: STSv2\nmode: strict\nmx: 192.0.2.1\nmax_age: forever\n");
        _h.Probe.Tls("192.0.2.1", _h.Pki.Leaf("mx.example.org"), _h.Pki.Intermediate);

        var report = await _h.CheckAsync("example.org");

        var finding = report.Single("mta-sts.policy.invalid");
        Assert.Contains("line 1", finding.Message, StringComparison.Ordinal);
        Assert.Contains("line 2", finding.Message, StringComparison.Ordinal);
        Assert.Contains("line 4", finding.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_DaneAndStsWithWebPkiFailingDaneHost_ConsistencyWarning()
    {
        var selfSigned = TestPki.Issue("CN=mx.example.org", null, TestPki.Now.AddDays(-10), TestPki.Now.AddDays(300), dnsNames: ["mx.example.org"]);
        _h.Domain("example.org", "192.0.2.1").Dns.Tlsa("_25._tcp.mx.example.org", CheckHarness.DaneEe(selfSigned))
            .Txt("_mta-sts.example.org", "v=STSv1; id=6");
        _h.Fetcher.Serve("example.org", Enforce);
        _h.Probe.Tls("192.0.2.1", selfSigned);

        var report = await _h.CheckAsync("example.org");

        Assert.Contains(report.Findings, f => f.Id == "consistency.dane-and-sts");
        Assert.Equal(CheckSeverity.Warning, report.Single("consistency.dane-host-fails-sts").Severity);
        Assert.Contains(report.Findings, f => f.Id == "consistency.tls-rpt-missing");
    }

    [Fact]
    public async Task Check_InvalidDomain_DomainInvalidFinding()
    {
        var report = await _h.CheckAsync("not a domain");

        Assert.Equal(CheckSeverity.Failure, report.Single("check.domain-invalid").Severity);
    }

    [Fact]
    public async Task Check_ResolverNeverAnswers_LookupErrorsWithinTimeout()
    {
        _h.Settings = new CheckSettings { Timeout = TimeSpan.FromMilliseconds(300) };
        var watch = Stopwatch.StartNew();

        var report = await _h.Checker(new SilentDnsResolver(), TimeProvider.System).CheckAsync("example.org", TestContext.Current.CancellationToken);

        Assert.Contains("timeout", report.Single("mx.lookup-error").Message, StringComparison.Ordinal);
        Assert.Contains(report.Findings, f => f.Id == "mta-sts.txt.lookup-error");
        Assert.Contains(report.Findings, f => f.Id == "tls-rpt.lookup-error");
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30), $"took {watch.Elapsed}");
    }

    [Fact]
    public async Task Check_ProbeHangs_UnreachableWithinTimeout()
    {
        _h.Settings = new CheckSettings { Timeout = TimeSpan.FromMilliseconds(200) };
        _h.Domain("example.org", "192.0.2.1");
        _h.Probe.Hang = true;

        var report = await _h.Checker(time: TimeProvider.System).CheckAsync("example.org", TestContext.Current.CancellationToken);

        Assert.Contains("no answer within", report.Single("smtp.unreachable").Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_CallerCancels_Throws()
    {
        _h.Domain("example.org", "192.0.2.1");
        _h.Probe.Hang = true;
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _h.Checker(time: TimeProvider.System).CheckAsync("example.org", cts.Token));
    }

    [Fact]
    public async Task Check_ManyDomainsSharingOneMx_OneConnectionAtATimePerAddress()
    {
        _h.Settings = new CheckSettings { Timeout = TimeSpan.FromSeconds(5), MaxConcurrentDomains = 8 };
        var domains = Enumerable.Range(1, 8).Select(i => $"d{i}.example").ToList();
        foreach (var domain in domains)
        {
            _h.Dns.Mx(domain, (10, "mx.shared.example"), (20, $"own.{domain}")).Address($"own.{domain}", $"192.0.2.{domains.IndexOf(domain) + 10}");
        }
        _h.Dns.Address("mx.shared.example", "192.0.2.1");
        _h.Probe.Delay = TimeSpan.FromMilliseconds(20);

        var reports = await _h.Checker(time: TimeProvider.System).CheckAsync(domains, TestContext.Current.CancellationToken);

        Assert.Equal(domains, reports.Select(r => r.Domain));
        Assert.Equal(16, _h.Probe.Calls.Count);
        Assert.Equal(1, _h.Probe.MaxOpen[IPAddress.Parse("192.0.2.1")]);
        Assert.True(_h.Probe.MaxOpen.Count == 9);
    }
}
