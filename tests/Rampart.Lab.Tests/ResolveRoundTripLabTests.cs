using System.Net;
using System.Text.Json;
using Rampart.Lab.Tests.Servers;
using Rampart.Tests.Shared;

namespace Rampart.Lab.Tests;

/// <summary>
/// Issue 18: the first decision for a new domain (<c>rampart resolve</c> in a fresh process, its caches empty) waits for
/// no more DNS round trips in sequence than the protocols need: MX → the MX host's addresses → its TLSA records (3), the
/// MTA-STS discovery (the <c>_mta-sts</c> TXT record → the policy host's addresses) running beside it. Counted from the
/// log of a <see cref="DelayingDnsRelay"/> in front of Unbound (which query arrived after which was answered), not timed:
/// the relay's delay only separates the rounds. It is 1 s: a chain grows by a false link only when the client holds a
/// query back for longer than that (a fresh JIT process on a loaded machine was seen to take 210 ms between an answer and
/// the query it caused).
/// </summary>
[Trait("Category", "integration")]
public class ResolveRoundTripLabTests
{
    private static readonly TimeSpan Delay = TimeSpan.FromSeconds(1);

    [Theory]
    [InlineData("sts-enforce.test", "mta-sts")]
    [InlineData("nosts.test", "none")]
    [InlineData("dane.test", "dane-only")]
    public async Task FirstLookup_ThroughADelayingResolver_ThreeDnsRoundTripsInSequence(string domain, string policy)
    {
        Lab.RequireLab();
        await using var relay = DelayingDnsRelay.Start(new IPEndPoint(IPAddress.Loopback, 53), Delay);

        var result = await CliRunner.RunAsync(["resolve", domain, "--json", "--resolver", relay.Endpoint.ToString()], null, TimeSpan.FromSeconds(120));
        await relay.IdleAsync(); // a lookup the decision did not wait for (MTA-STS beside DANE) is logged too

        Assert.False(CliRunner.HasStackTrace(result), result.ToString());
        Assert.Equal(0, result.ExitCode);
        using var json = JsonDocument.Parse(result.Stdout);
        Assert.Equal(policy, json.RootElement.GetProperty("policy").GetString());
        var log = relay.Log;
        var chain = DelayingDnsRelay.LongestChain(log);
        var shown = $"{domain}: longest chain [{string.Join(" → ", chain)}]; all {log.Count} queries: [{string.Join("; ", log)}]";
        TestContext.Current.TestOutputHelper?.WriteLine(shown);
        Assert.Contains(log, q => q.Name == $"_mta-sts.{domain}." && q.Type == "TXT"); // MTA-STS was asked through the relay
        Assert.Contains(log, q => q.Type == "TLSA"); // and DANE's TLSA, which needs the MX and then its addresses first
        Assert.True(chain.Count <= 3, $"more than 3 DNS round trips in sequence: {shown}");
        Assert.True(chain.Count == 3, $"MX → address → TLSA is 3 round trips: fewer means the relay's log is wrong: {shown}");
        AssertStepTimings(json.RootElement.GetProperty("evidence"), mtaStsUsed: policy != "dane-only");
    }

    /// <summary>
    /// resolve --json says when each network step ran (ms from the decision's start): every mx, dane and mta-sts.txt step
    /// has start_ms ≤ end_ms (DANE's decision shows no MTA-STS step), and each MX host's DANE lookup starts once the MX answer is in (what causes it, not a race).
    /// </summary>
    private static void AssertStepTimings(JsonElement evidence, bool mtaStsUsed)
    {
        var timed = evidence.EnumerateArray()
            .Where(e => e.GetProperty("step").GetString() is "mx" or "dane" or "mta-sts.txt")
            .Select(e => (Step: e.GetProperty("step").GetString()!, Start: e.GetProperty("start_ms").GetDouble(), End: e.GetProperty("end_ms").GetDouble()))
            .ToList();
        Assert.All(timed, t => Assert.True(t.Start <= t.End, $"{t.Step}: start_ms {t.Start} after end_ms {t.End}"));
        var mx = Assert.Single(timed, t => t.Step == "mx");
        Assert.All(timed.Where(t => t.Step == "dane"), t => Assert.True(t.Start >= mx.End, $"a DANE lookup started at {t.Start} ms, before the MX answer at {mx.End} ms"));
        Assert.Equal(mtaStsUsed ? 1 : 0, timed.Count(t => t.Step == "mta-sts.txt")); // where DANE applies, MTA-STS's evidence is not shown
    }

    [Fact]
    public void LongestChain_CountsOnlyQueriesAskedAfterTheOneBeforeWasAnswered()
    {
        static DelayingDnsRelay.Query Q(string name, int arrived, int answered) =>
            new(name, "A", false, TimeSpan.FromMilliseconds(arrived), TimeSpan.FromMilliseconds(answered));
        // MX and TXT side by side; the address after MX; TLSA after the address; the policy host after TXT.
        var sideBySide = new[] { Q("mx", 0, 200), Q("txt", 1, 201), Q("addr", 202, 402), Q("policy-host", 203, 403), Q("tlsa", 404, 604) };
        // the same questions one after the other, as before issue 18: TXT after TLSA, then the policy host
        var sequential = new[] { Q("mx", 0, 200), Q("addr", 202, 402), Q("tlsa", 404, 604), Q("txt", 605, 805), Q("policy-host", 806, 1006) };

        Assert.Equal(["mx", "addr", "tlsa"], DelayingDnsRelay.LongestChain(sideBySide).Select(q => q.Name));
        Assert.Equal(5, DelayingDnsRelay.LongestChain(sequential).Count);
        Assert.Empty(DelayingDnsRelay.LongestChain([]));
    }
}
