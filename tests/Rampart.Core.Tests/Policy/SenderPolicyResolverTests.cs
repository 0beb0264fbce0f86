using Rampart.Core.Dane;
using Microsoft.Extensions.Time.Testing;
using Rampart.Core.Dns;
using Rampart.Core.MtaSts;
using Rampart.Core.Policy;
using Rampart.Core.Tests.Fakes;

namespace Rampart.Core.Tests.Policy;

public class SenderPolicyResolverTests
{
    private readonly FakeDnsResolver _dns = new();
    private readonly FakePolicyFetcher _fetcher = new();

    private Task<SenderPolicyDecision> Decide(string domain, SenderPolicySettings? settings = null)
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero));
        var provider = new MtaStsPolicyProvider(_dns, _fetcher, new InMemoryMtaStsPolicyStore(), new MtaStsPolicySettings(), time);
        return new SenderPolicyResolver(_dns, new DaneHostLookup(_dns), provider, settings ?? new SenderPolicySettings()).DecideAsync(DomainName.Parse(domain), TestContext.Current.CancellationToken);
    }

    private void Sts(string domain, string mode, params string[] mx)
    {
        _dns.Txt("_mta-sts." + domain, "v=STSv1; id=1");
        _fetcher.Serve(domain, $"version: STSv1\nmode: {mode}\n" + string.Concat(mx.Select(m => $"mx: {m}\n")) + "max_age: 86400\n");
    }

    [Fact]
    public async Task Decide_EnforcePolicy_SecureMatchWithServername()
    {
        _dns.Mx("example.org", (10, "mx.example.org"));
        Sts("example.org", "enforce", "mx.example.org");

        var decision = await Decide("Example.ORG.");

        Assert.Equal(SenderPolicyKind.MtaSts, decision.Kind);
        Assert.Equal("example.org", decision.Domain);
        Assert.Equal(TlsRequirement.Secure(["mx.example.org"]), decision.Requirement);
    }

    [Fact]
    public async Task Decide_RequireSniOff_NoServername()
    {
        _dns.Mx("example.org", (10, "mx.example.org"));
        Sts("example.org", "enforce", "mx.example.org");

        var decision = await Decide("example.org", new SenderPolicySettings { RequireSni = false });

        Assert.Equal(TlsRequirement.Secure(["mx.example.org"], sendServerName: false), decision.Requirement);
    }

    [Fact]
    public async Task Decide_TlsRptZone_DecisionCarriesTheMtaStsPolicyForTlsRpt()
    {
        _dns.Mx("example.org", (10, "a.mx.example.org"), (20, "MX2.Example.org"));
        _dns.Txt("_mta-sts.example.org", "v=STSv1; id=1");
        _fetcher.Serve("example.org", "version: STSv1\r\nmode: enforce\r\nmx: *.mx.example.org\r\n\r\nmx: MX2.Example.org.\r\nmax_age: 604800\r\n");

        var plain = await Decide("example.org");
        var tlsrpt = await Decide("example.org", new SenderPolicySettings { TlsRpt = true });

        Assert.Equal(TlsRequirement.Secure(["a.mx.example.org", "mx2.example.org"]), plain.Requirement);
        Assert.Null(plain.TlsRpt);
        Assert.Equal(plain.Requirement, tlsrpt.Requirement);
        Assert.Equal("example.org", tlsrpt.TlsRpt?.PolicyDomain);
        Assert.Same(tlsrpt.MtaStsPolicy, tlsrpt.TlsRpt?.Policy);
    }

    [Fact]
    public async Task Decide_TlsRptZone_NoPolicyDataOnNonMtaStsAnswers()
    {
        _dns.Mx("example.org", (10, "mx.example.org"));

        var decision = await Decide("example.org", new SenderPolicySettings { TlsRpt = true });

        Assert.Equal(TlsRequirement.NoPolicy, decision.Requirement);
        Assert.Null(decision.TlsRpt);
    }

    [Fact]
    public async Task Decide_TestingMode_NotFoundUnlessStrict()
    {
        _dns.Mx("example.org", (10, "mx.example.org"));
        Sts("example.org", "testing", "mx.example.org");

        var relaxed = await Decide("example.org");
        var strict = await Decide("example.org", new SenderPolicySettings { StrictTesting = true });

        Assert.Equal(SenderPolicyKind.MtaStsTesting, relaxed.Kind);
        Assert.Equal(TlsRequirement.NoPolicy, relaxed.Requirement);
        Assert.Equal(SenderPolicyKind.MtaStsTesting, strict.Kind);
        Assert.Equal(TlsRequirement.Secure(["mx.example.org"]), strict.Requirement);
    }

    [Fact]
    public async Task Decide_ModeNone_NoPolicy()
    {
        _dns.Mx("example.org", (10, "mx.example.org"));
        Sts("example.org", "none");

        var decision = await Decide("example.org");

        Assert.Equal(SenderPolicyKind.None, decision.Kind);
        Assert.Equal(TlsRequirement.NoPolicy, decision.Requirement);
    }

    [Fact]
    public async Task Decide_MxLookupError_TempFailNeverNone()
    {
        _dns.Fail("example.org", "MX");
        _dns.Txt("_mta-sts.example.org", "v=STSv1; id=1");
        _fetcher.Fail("example.org", MtaStsFetchError.ConnectFailed);

        var decision = await Decide("example.org");

        Assert.Equal(SenderPolicyKind.TempFail, decision.Kind);
        Assert.Equal(TlsRequirementKind.Defer, decision.Requirement.Kind);
    }

    [Fact]
    public async Task Decide_MxLookupErrorAndAPolicyFetchedBesideIt_TempFailAsTheDomainsDaneVerdictIsUnknown()
    {
        // The MTA-STS lookup runs beside the MX lookup (issue 18) and fetches the policy, but without the MX answer
        // nobody knows whether DANE applies (RFC 8461 §2: then MTA-STS must not be used), so the outage defers; the
        // answer is the same whichever of the two lookups finishes first, as the MX failure waits for the other.
        _dns.Fail("example.org", "MX");
        Sts("example.org", "enforce", "mx.example.org");

        var decision = await Decide("example.org");

        Assert.Equal(SenderPolicyKind.TempFail, decision.Kind);
        Assert.Equal(1, _fetcher.Fetches);
    }

    [Fact]
    public async Task Decide_WildcardPattern_ExpandsToOneLabelMxOnly()
    {
        _dns.Mx("w.test", (10, "mx.w.test"), (20, "a.mx.w.test"));
        Sts("w.test", "enforce", "*.w.test");

        var decision = await Decide("w.test");

        Assert.Equal(TlsRequirement.Secure(["mx.w.test"]), decision.Requirement);
        Assert.Contains(decision.Evidence, e => e.Step == "mta-sts.mx-match" && e.Message.Contains("a.mx.w.test", StringComparison.Ordinal) && e.Outcome == EvidenceOutcome.Warning);
    }

    [Fact]
    public async Task Decide_WildcardMatchingNoMx_TempFail()
    {
        _dns.Mx("w.test", (10, "a.mx.w.test"));
        Sts("w.test", "enforce", "*.w.test");

        var decision = await Decide("w.test");

        Assert.Equal(TlsRequirementKind.Defer, decision.Requirement.Kind);
    }

    [Fact]
    public async Task Decide_MxNotInPolicy_StillEnforcesPolicyPatterns()
    {
        _dns.Mx("example.org", (10, "mx-new.example.org"));
        Sts("example.org", "enforce", "mx.example.org");

        var decision = await Decide("example.org");

        Assert.Equal(TlsRequirement.Secure(["mx.example.org"]), decision.Requirement);
        Assert.Contains(decision.Evidence, e => e.Outcome == EvidenceOutcome.Warning && e.Message.Contains("mx-new.example.org", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Decide_NoMxRecord_DomainIsImplicitMx()
    {
        _dns.Set("example.org", "MX", new DnsResult<MxRecord>("example.org", DnsOutcome.NoData, true, [], []));
        Sts("example.org", "enforce", "example.org");

        var decision = await Decide("example.org");

        Assert.Equal(["example.org"], decision.Mx);
        Assert.Equal(TlsRequirement.Secure(["example.org"]), decision.Requirement);
    }

    [Fact]
    public async Task Decide_NoStsRecord_NotFound()
    {
        _dns.Mx("example.org", (10, "mx.example.org"));

        var decision = await Decide("example.org");

        Assert.Equal(SenderPolicyKind.None, decision.Kind);
        Assert.Equal(TlsRequirement.NoPolicy, decision.Requirement);
        Assert.Equal(0, _fetcher.Fetches);
    }

    [Fact]
    public void MatchNames_UnknownMx_FallsBackToDotForm()
    {
        var policy = MtaStsPolicyParser.Parse("version: STSv1\nmode: enforce\nmx: *.example.org\nmx: mx.other.org\nmax_age: 60\n").Policy!;

        var match = SenderPolicyResolver.MatchNames(policy, null);

        Assert.Equal([".example.org", "mx.other.org"], match.Order());
    }
}
