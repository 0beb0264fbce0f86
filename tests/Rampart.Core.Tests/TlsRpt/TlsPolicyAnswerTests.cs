using Microsoft.Extensions.Time.Testing;
using Rampart.Core.Dane;
using Rampart.Core.MtaSts;
using Rampart.Core.Policy;
using Rampart.Core.Tests.Fakes;
using Rampart.Core.TlsRpt;

namespace Rampart.Core.Tests.TlsRpt;

/// <summary>What the daemon's decision means for a TLS-RPT report (the Postfix 3.7 log source's policy join), from real resolver decisions.</summary>
public sealed class TlsPolicyAnswerTests
{
    private const string Ee = "3 1 1 0000000000000000000000000000000000000000000000000000000000000001";
    private static readonly DateTimeOffset s_at = new(2026, 12, 7, 10, 0, 0, TimeSpan.Zero);
    private readonly FakeDnsResolver _dns = new();
    private readonly FakePolicyFetcher _fetcher = new();

    private Task<SenderPolicyDecision> Decide(string domain)
    {
        var time = new FakeTimeProvider(s_at);
        var provider = new MtaStsPolicyProvider(_dns, _fetcher, new InMemoryMtaStsPolicyStore(), new MtaStsPolicySettings(), time);
        return new SenderPolicyResolver(_dns, new DaneHostLookup(_dns), provider, new SenderPolicySettings())
            .DecideAsync(DomainName.Parse(domain), TestContext.Current.CancellationToken);
    }

    [Theory]
    [InlineData("enforce")]
    [InlineData("testing")]
    public async Task For_MtaStsPolicy_StsWithItsLinesAndMxAsWritten(string mode)
    {
        _dns.Mx("example.org", (10, "mx.example.org"));
        _dns.Txt("_mta-sts.example.org", "v=STSv1; id=1");
        _fetcher.Serve("example.org", $"version: STSv1\nmode: {mode}\nmx: MX.example.org\nmax_age: 86400\n");

        var answer = TlsPolicyAnswer.For(await Decide("example.org"), s_at);

        Assert.Equal(new TlsSessionPolicy(TlsRptPolicyTypes.Sts, "example.org", [], []).PolicyType, answer.Policy.PolicyType);
        Assert.Equal("example.org", answer.Policy.PolicyDomain);
        Assert.Equal(["version: STSv1", $"mode: {mode}", "mx: MX.example.org", "max_age: 86400"], answer.Policy.PolicyStrings);
        Assert.Equal(["MX.example.org"], answer.Policy.MxHostPatterns);
        Assert.Null(answer.PolicyFailure);
        Assert.Equal(s_at, answer.At);
    }

    [Theory]
    [InlineData(MtaStsFetchError.ConnectFailed, TlsRptResultTypes.StsPolicyFetchError)]
    [InlineData(MtaStsFetchError.HttpStatus, TlsRptResultTypes.StsPolicyFetchError)]
    [InlineData(MtaStsFetchError.CertificateInvalid, TlsRptResultTypes.StsWebpkiInvalid)]
    public async Task For_FetchFailedNothingCached_StsWithoutStringsAndTheFailure(MtaStsFetchError error, string type)
    {
        _dns.Mx("example.org", (10, "mx.example.org"));
        _dns.Txt("_mta-sts.example.org", "v=STSv1; id=1");
        _fetcher.Fail("example.org", error);

        var decision = await Decide("example.org");
        var answer = TlsPolicyAnswer.For(decision, s_at);

        Assert.Equal(SenderPolicyKind.None, decision.Kind); // RFC 8461 §5: no policy for delivery...
        Assert.Equal(type, decision.MtaStsFailure);           // ...but reported (RFC 8460 §4.3.2.2)
        Assert.Equal(new TlsPolicyAnswer("example.org", s_at, answer.Policy, type), answer);
        Assert.Equal(TlsRptPolicyTypes.Sts, answer.Policy.PolicyType);
        Assert.Empty(answer.Policy.PolicyStrings);
    }

    [Fact]
    public async Task For_InvalidPolicy_StsPolicyInvalid()
    {
        _dns.Mx("example.org", (10, "mx.example.org"));
        _dns.Txt("_mta-sts.example.org", "v=STSv1; id=1");
        _fetcher.Serve("example.org", "version: STSv1\nmode: sometimes\n");

        Assert.Equal(TlsRptResultTypes.StsPolicyInvalid, TlsPolicyAnswer.For(await Decide("example.org"), s_at).PolicyFailure);
    }

    [Fact]
    public async Task For_Dane_TlsaWithTheUsableRecords()
    {
        _dns.Mx("example.org", (10, "mx.example.org"));
        _dns.Address("mx.example.org", "192.0.2.1").Tlsa("_25._tcp.mx.example.org", Ee);

        var answer = TlsPolicyAnswer.For(await Decide("example.org"), s_at);

        Assert.Equal(TlsRptPolicyTypes.Tlsa, answer.Policy.PolicyType);
        Assert.Equal("example.org", answer.Policy.PolicyDomain);
        Assert.Equal([Ee.ToUpperInvariant()], answer.Policy.PolicyStrings);
        Assert.Empty(answer.Policy.MxHostPatterns);
    }

    [Fact]
    public async Task For_NoPolicy_NoPolicyFound()
    {
        _dns.Mx("example.org", (10, "mx.example.org"));

        var answer = TlsPolicyAnswer.For(await Decide("example.org"), s_at);

        Assert.Equal(TlsSessionPolicy.NoPolicyFound, answer.Policy);
        Assert.Null(answer.PolicyFailure);
        Assert.True(answer.SameAs(answer with { At = s_at.AddHours(1) }));
        Assert.False(answer.SameAs(answer with { PolicyFailure = TlsRptResultTypes.StsPolicyFetchError }));
    }
}
