using Rampart.Core;
using System.Diagnostics;
using Microsoft.Extensions.Time.Testing;
using Rampart.Core.MtaSts;
using Rampart.Core.Policy;
using Rampart.Postfix.Socketmap;

namespace Rampart.Lab.Tests;

/// <summary>Every sts-* scenario of LAB.md against the real lab: Unbound, NSD and the HTTPS policy host.</summary>
[Trait("Category", "integration")]
[Collection(StsIdChange.Collection)]
public class MtaStsScenarioTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Task<SenderPolicyDecision> Decide(string domain, TimeSpan? fetchTimeout = null) =>
        Lab.Sender(fetchTimeout).DecideAsync(DomainName.Parse(domain), Ct);

    private static async Task<MtaStsFetchResult> Fetch(string domain, TimeSpan? total = null) =>
        await Lab.Fetcher(Lab.Dns(), total).FetchAsync(domain, Ct);

    [Fact]
    public async Task Enforce_SecureMatchOnTheListedMx()
    {
        var decision = await Decide("sts-enforce.test");

        Assert.Equal(SenderPolicyKind.MtaSts, decision.Kind);
        Assert.Equal("OK secure match=mx.sts-enforce.test servername=hostname", SocketmapPolicyReply.For(decision).Text);
    }

    [Fact]
    public async Task Testing_ReportedNotEnforced()
    {
        var decision = await Decide("sts-testing.test");

        Assert.Equal(SenderPolicyKind.MtaStsTesting, decision.Kind);
        Assert.Equal("NOTFOUND ", SocketmapPolicyReply.For(decision).Text);
    }

    [Fact]
    public async Task ModeNone_NoPolicy()
    {
        var decision = await Decide("sts-none.test");

        Assert.Equal(SenderPolicyKind.None, decision.Kind);
        Assert.NotNull(decision.MtaStsPolicy);
        Assert.Equal(MtaStsMode.None, decision.MtaStsPolicy.Mode);
    }

    [Fact]
    public async Task Wildcard_CoversOneLabelOnly()
    {
        var decision = await Decide("sts-wildcard.test");

        Assert.Equal("OK secure match=mx.sts-wildcard.test servername=hostname", SocketmapPolicyReply.For(decision).Text);
        Assert.Contains("a.mx.sts-wildcard.test", decision.Mx);
        Assert.Contains(decision.Evidence, e => e.Outcome == EvidenceOutcome.Warning && e.Message.Contains("a.mx.sts-wildcard.test", StringComparison.Ordinal));
    }

    [Fact]
    public async Task MxMismatch_NewMxRefused()
    {
        var decision = await Decide("sts-mx-mismatch.test");

        Assert.Equal("OK secure match=mx.sts-mx-mismatch.test servername=hostname", SocketmapPolicyReply.For(decision).Text);
        Assert.DoesNotContain("mx-new", SocketmapPolicyReply.For(decision).Text, StringComparison.Ordinal);
        Assert.Contains(decision.Evidence, e => e.Outcome == EvidenceOutcome.Warning && e.Message.Contains("mx-new.sts-mx-mismatch.test", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("sts-404.test", MtaStsFetchError.HttpStatus)]
    [InlineData("sts-redirect.test", MtaStsFetchError.Redirect)]
    [InlineData("sts-badtype.test", MtaStsFetchError.ContentType)]
    [InlineData("sts-huge.test", MtaStsFetchError.TooLarge)]
    [InlineData("sts-badcert.test", MtaStsFetchError.CertificateInvalid)]
    [InlineData("wrongname.sts-badcert.test", MtaStsFetchError.CertificateInvalid)]
    [InlineData("expired.sts-badcert.test", MtaStsFetchError.CertificateInvalid)]
    public async Task FetchRule_ErrorClass(string domain, MtaStsFetchError expected)
    {
        var fetch = await Fetch(domain);

        Assert.Equal(expected, fetch.Error);
        Assert.Null(fetch.Body);
    }

    [Theory]
    [InlineData("sts-404.test")]
    [InlineData("sts-redirect.test")]
    [InlineData("sts-badtype.test")]
    [InlineData("sts-huge.test")]
    [InlineData("sts-badcert.test")]
    public async Task FetchError_NoPolicyApplies(string domain)
    {
        var decision = await Decide(domain);

        Assert.Equal(SenderPolicyKind.None, decision.Kind);
        Assert.Contains(decision.Evidence, e => e.Step == "mta-sts.fetch" && e.Outcome == EvidenceOutcome.Fail);
    }

    [Fact]
    public async Task Slow_DrippingServerStoppedWithinTheTotalTimeout()
    {
        var timeout = TimeSpan.FromSeconds(2);
        var clock = Stopwatch.StartNew();

        var fetch = await Fetch("sts-slow.test", timeout);

        Assert.Equal(MtaStsFetchError.Timeout, fetch.Error);
        Assert.True(clock.Elapsed < timeout + TimeSpan.FromSeconds(3), $"took {clock.Elapsed}");
    }

    [Fact]
    public async Task BadSyntax_PolicyInvalid()
    {
        var result = await Lab.MtaSts(Lab.Dns()).LookupAsync("sts-badsyntax.test", Ct);

        Assert.Equal(MtaStsLookupStatus.PolicyInvalid, result.Status);
        Assert.Contains(result.Evidence, e => e.Step == "mta-sts.policy" && e.Outcome == EvidenceOutcome.Fail);
    }

    [Fact]
    public async Task MultiTxt_NoPolicyAndNoFetch()
    {
        var result = await Lab.MtaSts(Lab.Dns()).LookupAsync("sts-multi-txt.test", Ct);

        Assert.Equal(MtaStsLookupStatus.NoPolicy, result.Status);
        Assert.DoesNotContain(result.Evidence, e => e.Step == "mta-sts.fetch");
    }

    [Fact]
    public async Task Insecure_MtaStsStillApplies()
    {
        var decision = await Decide("insecure.test");

        Assert.Equal(SenderPolicyKind.MtaSts, decision.Kind);
        Assert.Contains(decision.Evidence, e => e.Step == "mx" && e.Message.Contains("unsigned", StringComparison.Ordinal));
    }

    [Fact]
    public async Task NoSts_Opportunistic()
    {
        var decision = await Decide("nosts.test");

        Assert.Equal(SenderPolicyKind.None, decision.Kind);
        Assert.Equal("NOTFOUND ", SocketmapPolicyReply.For(decision).Text);
    }

    [Theory]
    [InlineData("a1.bench.test")]
    [InlineData("zz-top.bench.test")]
    public async Task Bench_AnyLabelHasAnEnforcedPolicy(string domain)
    {
        var decision = await Decide(domain);

        Assert.Equal(SenderPolicyKind.MtaSts, decision.Kind);
    }

    [Fact]
    public async Task IdChange_RefetchedOnNewId_CachedUntilThen()
    {
        var dns = Lab.Dns();
        var store = new InMemoryMtaStsPolicyStore();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var provider = Lab.MtaSts(dns, store, time: time);
        var first = await provider.LookupAsync("sts-idchange.test", Ct);
        Assert.Equal(MtaStsLookupStatus.Policy, first.Status);

        time.Advance(TimeSpan.FromHours(2));
        var unchanged = await provider.LookupAsync("sts-idchange.test", Ct);
        Assert.True(unchanged.FromCache);
        Assert.Equal(first.PolicyId, unchanged.PolicyId);

        Assert.Equal(0, await Lab.ExecAsync("lab-bump", "sts-idchange.test"));
        time.Advance(TimeSpan.FromHours(2));
        var bumped = await provider.LookupAsync("sts-idchange.test", Ct);

        Assert.False(bumped.FromCache);
        Assert.NotEqual(first.PolicyId, bumped.PolicyId);
        Assert.NotEqual(first.Policy!.Text, bumped.Policy!.Text);
    }
}
