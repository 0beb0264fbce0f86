using Rampart.Core;
using Rampart.Core.Dane;
using System.Diagnostics;
using Rampart.Core.Dns;
using Rampart.Core.MtaSts;
using Rampart.Core.Policy;

namespace Rampart.Lab.Tests;

/// <summary>The DNS layer against the lab's validating Unbound: AD read and trusted from loopback, outages are errors.</summary>
[Trait("Category", "integration")]
public class DnsLabTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task SignedZone_SecureMx()
    {
        var mx = await Lab.Dns().QueryMxAsync("sts-enforce.test", Ct);

        Assert.Equal(DnsOutcome.Records, mx.Outcome);
        Assert.True(mx.IsSecure, mx.Describe());
        Assert.Equal("mx.sts-enforce.test", Assert.Single(mx.Records).Exchange);
    }

    [Fact]
    public async Task UnsignedDelegation_Insecure()
    {
        var txt = await Lab.Dns().QueryTxtAsync("_mta-sts.insecure.test", Ct);

        Assert.Equal(DnsOutcome.Records, txt.Outcome);
        Assert.False(txt.IsSecure);
    }

    [Fact]
    public async Task MissingName_SecureNxDomain()
    {
        var txt = await Lab.Dns().QueryTxtAsync("_mta-sts.nosts.test", Ct);

        Assert.True(txt.Outcome is DnsOutcome.NxDomain or DnsOutcome.NoData, txt.Describe());
        Assert.True(txt.IsSecure, txt.Describe());
    }

    [Fact]
    public async Task TwoTxtRecords_BothReturnedWhole()
    {
        var txt = await Lab.Dns().QueryTxtAsync("_mta-sts.sts-multi-txt.test", Ct);

        Assert.Equal(2, txt.Records.Count(r => r.StartsWith("v=STSv1", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task ExplicitNonLoopbackResolverOption_IsNamedTrusted()
    {
        var settings = DnsResolverSettings.FromOptions(new DnsResolverOptions { Resolver = "127.0.0.1:53" });

        Assert.True(settings.TrustAd);
        Assert.Null(settings.Warning);
        await Task.CompletedTask;
    }

    [Fact]
    public async Task ResolverOutage_TempFailWithinTheTimeout()
    {
        Lab.RequireLab();
        var silent = Lab.SilentResolver(out var listener);
        using var _ = listener;
        var dns = new DnsClientResolver(DnsResolverSettings.FromOptions(new DnsResolverOptions
        {
            Resolver = $"127.0.0.1:{silent.Port}",
            Timeout = TimeSpan.FromMilliseconds(500),
            Retries = 0,
        }));
        var resolver = new SenderPolicyResolver(dns, new DaneHostLookup(dns), Lab.MtaSts(dns), new SenderPolicySettings());
        var clock = Stopwatch.StartNew();

        var decision = await resolver.DecideAsync(DomainName.Parse("sts-enforce.test"), Ct);

        Assert.Equal(SenderPolicyKind.TempFail, decision.Kind);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
    }
}
