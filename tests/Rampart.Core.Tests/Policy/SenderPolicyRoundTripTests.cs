using Microsoft.Extensions.Time.Testing;
using Rampart.Core.Dane;
using Rampart.Core.Dns;
using Rampart.Core.MtaSts;
using Rampart.Core.Policy;
using Rampart.Core.Tests.Fakes;

namespace Rampart.Core.Tests.Policy;

/// <summary>
/// Issue 18: the first decision for a new domain waits for no more DNS round trips in sequence than the protocols need:
/// MX → each MX host's addresses → its TLSA records (3), with the MTA-STS discovery (_mta-sts TXT → the policy host's
/// addresses → the fetch) running beside it. Before, the two ran one after the other: 5 for an MTA-STS domain, 4 for a
/// domain with no policy. Rounds are counted by <see cref="RoundTripDns"/>, not timed.
/// </summary>
public sealed class SenderPolicyRoundTripTests
{
    private const string Ee = "3 1 1 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF";
    private readonly FakeDnsResolver _zone = new();
    private readonly FakePolicyFetcher _fetcher = new();

    private Task<(SenderPolicyDecision Decision, int Rounds)> DecideAsync(string domain)
    {
        var dns = new RoundTripDns(_zone);
        var provider = new MtaStsPolicyProvider(dns, new ResolvingFetcher(dns, _fetcher), new InMemoryMtaStsPolicyStore(), new MtaStsPolicySettings(),
            new FakeTimeProvider(new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero)));
        var resolver = new SenderPolicyResolver(dns, new DaneHostLookup(dns), provider, new SenderPolicySettings());
        return dns.CountRoundsAsync(() => resolver.DecideAsync(DomainName.Parse(domain), TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task FirstDecision_MtaStsDomainWithoutTlsa_AtMostThreeRoundTrips()
    {
        _zone.Mx("sts.test", (10, "mx.sts.test")).Address("mx.sts.test", "192.0.2.1").Address("mta-sts.sts.test", "192.0.2.2");
        _zone.Txt("_mta-sts.sts.test", "v=STSv1; id=1");
        _fetcher.Serve("sts.test", "version: STSv1\nmode: enforce\nmx: mx.sts.test\nmax_age: 86400\n");

        var (decision, rounds) = await DecideAsync("sts.test");

        Assert.Equal(SenderPolicyKind.MtaSts, decision.Kind);
        Assert.InRange(rounds, 1, 3);
    }

    [Fact]
    public async Task FirstDecision_NoPolicy_AtMostThreeRoundTrips()
    {
        _zone.Mx("nosts.test", (10, "mx.nosts.test")).Address("mx.nosts.test", "192.0.2.1");

        var (decision, rounds) = await DecideAsync("nosts.test");

        Assert.Equal(SenderPolicyKind.None, decision.Kind);
        Assert.InRange(rounds, 1, 3);
    }

    [Fact]
    public async Task FirstDecision_Dane_AtMostThreeRoundTripsAndTheMtaStsAnswerUnused()
    {
        _zone.Mx("dane.test", (10, "mx.dane.test")).Address("mx.dane.test", "192.0.2.1").Tlsa("_25._tcp.mx.dane.test", Ee);
        _zone.Txt("_mta-sts.dane.test", "v=STSv1; id=1").Address("mta-sts.dane.test", "192.0.2.2");
        _fetcher.Serve("dane.test", "version: STSv1\nmode: enforce\nmx: other.dane.test\nmax_age: 86400\n");

        var (decision, rounds) = await DecideAsync("dane.test");

        Assert.Equal(SenderPolicyKind.DaneOnly, decision.Kind);
        Assert.Null(decision.MtaStsPolicy);
        Assert.InRange(rounds, 1, 3);
    }

    [Fact]
    public async Task FirstDecision_MxLookupFails_DefersAfterTheMtaStsLookupBesideIt()
    {
        _zone.Fail("down.test", "MX");
        _zone.Txt("_mta-sts.down.test", "v=STSv1; id=1"); // announced, but its policy host cannot be reached

        var (decision, rounds) = await DecideAsync("down.test");

        Assert.Equal(SenderPolicyKind.TempFail, decision.Kind);
        Assert.Equal(2, rounds); // the TXT record beside the MX, then the policy host: nothing after that
    }

    /// <summary>Resolves the policy host first, as the real fetcher does (one more round trip after the TXT record).</summary>
    private sealed class ResolvingFetcher(IDnsResolver dns, IMtaStsPolicyFetcher fetcher) : IMtaStsPolicyFetcher
    {
        public async Task<MtaStsFetchResult> FetchAsync(string domain, CancellationToken cancellationToken)
        {
            await dns.QueryAddressesAsync("mta-sts." + domain, cancellationToken);
            return await fetcher.FetchAsync(domain, cancellationToken);
        }
    }
}
