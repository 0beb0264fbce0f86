using System.Net;
using System.Text.Json;
using Rampart.Lab.Tests.Servers;
using Rampart.Tests.Shared;

namespace Rampart.Lab.Tests;

/// <summary>
/// <c>rampart check --watch --once</c> in the lab (real NSD, validating Unbound, MX receivers): rounds on sts-enforce.test (WebPKI MX, no DANE)
/// with a change in between (the certificate warning threshold raised past the lab certificate's lifetime, then back),
/// so a real finding appears, then clears; each change reaches a webhook served by a real HTTP listener in the test. And a
/// running monitor whose resolver stops answering, then answers again (the resolver-down probe).
/// </summary>
[Trait("Category", "integration")]
public sealed class CheckWatchLabTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("rampart-watch-lab-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Once_Twice_CertWarningAppearsThenClears_WebhookGetsBoth()
    {
        Lab.RequireLab();
        var ct = TestContext.Current.CancellationToken;
        var file = Path.Combine(_dir, "domains.txt");
        await File.WriteAllTextAsync(file, "# lab\nsts-enforce.test\n", ct);
        await using var hook = WebhookListener.Start();
        string[] Args(string certDays) => ["check", "--watch", file, "--once", "--state-dir", Path.Combine(_dir, "state"), "--timeout", "5",
            "--cert-days", certDays, "--webhook", hook.Url];

        var baseline = await CliRunner.RunAsync(Args("0"), null, TimeSpan.FromSeconds(90));
        var raised = await CliRunner.RunAsync(Args("3650"), null, TimeSpan.FromSeconds(90));
        var lowered = await CliRunner.RunAsync(Args("0"), null, TimeSpan.FromSeconds(90));
        var bodies = (await hook.StopAsync()).Select(b => b.Body).ToList();

        Assert.Equal(0, baseline.ExitCode);
        Assert.Contains("round 1: 1 domains (1 ok, 0 warning, 0 failure)", baseline.Stdout, StringComparison.Ordinal);
        Assert.Equal(1, raised.ExitCode);
        Assert.Contains("sts-enforce.test: appeared warning tls.cert.expiring [mx.sts-enforce.test", raised.Stdout, StringComparison.Ordinal);
        Assert.Contains("0 cleared", raised.Stdout, StringComparison.Ordinal);
        Assert.Equal(0, lowered.ExitCode);
        Assert.Contains("sts-enforce.test: cleared warning tls.cert.expiring [mx.sts-enforce.test", lowered.Stdout, StringComparison.Ordinal);
        Assert.Contains("0 appeared", lowered.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("the monitor goes on", baseline.Stdout + raised.Stdout + lowered.Stdout, StringComparison.Ordinal);

        Assert.True(bodies.Count >= 2, string.Join("\n", bodies));
        using var appeared = JsonDocument.Parse(bodies[^2]);
        using var cleared = JsonDocument.Parse(bodies[^1]);
        Assert.Equal("warning", appeared.RootElement.GetProperty("status").GetString());
        Assert.Contains(appeared.RootElement.GetProperty("appeared").EnumerateArray(), f => f.GetProperty("id").GetString() == "tls.cert.expiring");
        Assert.Equal("ok", cleared.RootElement.GetProperty("status").GetString());
        Assert.Empty(cleared.RootElement.GetProperty("appeared").EnumerateArray());
        var gone = Assert.Single(cleared.RootElement.GetProperty("cleared").EnumerateArray());
        Assert.Equal("tls.cert.expiring", gone.GetProperty("id").GetString());
    }

    /// <summary>
    /// The resolver-down probe in a running monitor, with the lab's real Unbound behind a relay the test silences (the
    /// resolver's address stops answering, as an outage looks to a client) and then opens again. The two domains do not
    /// exist (NXDOMAIN, DNSSEC-proven by the real Unbound from the real NSD): a failure that stays the same from round to
    /// round and needs no SMTP, so any appeared or cleared line would be the outage's doing. Each outage round logs one
    /// warn line and nothing else; the first round back compares with the last judged round; the webhook gets the two
    /// change events of round 1, then one resolver-down and one resolver-up event, however many rounds the outage lasts.
    /// The interval (20 s) leaves more than 10 s between an outage round's line and the next round, whose DNS the test
    /// has opened by then: an outage round is bounded by the DNS timeouts (--timeout 4: about 8 s).
    /// </summary>
    [Fact]
    public async Task Monitor_ResolverUnreachableThenBack_OneLinePerOutageRound_ComparedWithTheLastJudgedRound()
    {
        Lab.RequireLab();
        var ct = TestContext.Current.CancellationToken;
        var file = Path.Combine(_dir, "outage.txt");
        await File.WriteAllTextAsync(file, "nosuch-a.test\nnosuch-b.test\n", ct);
        await using var relay = DelayingDnsRelay.Start(new IPEndPoint(IPAddress.Loopback, 53), TimeSpan.Zero);
        await using var hook = WebhookListener.Start();
        await using var monitor = RampartProcess.Start(["check", "--watch", file, "--interval", "20s", "--timeout", "4",
            "--state-dir", Path.Combine(_dir, "outage-state"), "--resolver", relay.Endpoint.ToString(), "--webhook", hook.Url]);

        var first = await monitor.WaitForLineAsync(l => l.Contains("watch: round 1: 2 domains", StringComparison.Ordinal), TimeSpan.FromSeconds(120));
        relay.Silent = true;
        await monitor.WaitForLineAsync(l => l.Contains(" warn ", StringComparison.Ordinal) && l.Contains(": the local resolver ", StringComparison.Ordinal), TimeSpan.FromSeconds(180));
        relay.Silent = false;
        var back = await monitor.WaitForLineAsync(l => l.Contains("the local resolver answers again", StringComparison.Ordinal), TimeSpan.FromSeconds(180));
        var round = RoundOf(back);
        var summary = await monitor.WaitForLineAsync(l => l.Contains($"watch: round {round}: 2 domains", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
        Assert.Equal(0, await monitor.StopAsync());
        var events = (await hook.StopAsync()).Select(b => JsonDocument.Parse(b.Body).RootElement.GetProperty("event").GetString()).ToList();

        var lines = monitor.Lines;
        var all = string.Join('\n', lines);
        Assert.Contains("(0 ok, 0 warning, 2 failure)", first, StringComparison.Ordinal);
        Assert.Contains("nosuch-a.test: appeared failure mx.domain-missing [nosuch-a.test]", all, StringComparison.Ordinal);
        var afterFirst = lines.SkipWhile(l => l != first).Skip(1).TakeWhile(l => l != summary).ToList();
        Assert.DoesNotContain(afterFirst, l => l.Contains(": appeared ", StringComparison.Ordinal) || l.Contains(": cleared ", StringComparison.Ordinal));
        var outage = afterFirst.Where(l => l.Contains(" warn ", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(outage);
        foreach (var line in outage)
        {
            Assert.Contains($"the local resolver {relay.Endpoint} does not answer for 'test' either", line, StringComparison.Ordinal);
            Assert.Single(lines, l => l.Contains($"watch: round {RoundOf(line)}: ", StringComparison.Ordinal));
        }
        Assert.Contains($"after {outage.Count} round(s) down", back, StringComparison.Ordinal);
        Assert.Contains("(0 ok, 0 warning, 2 failure); 0 appeared, ", summary, StringComparison.Ordinal);
        Assert.Contains(", 0 cleared;", summary, StringComparison.Ordinal);
        Assert.Equal(["change", "change", "resolver-down", "resolver-up"], events);
        Assert.DoesNotContain("   at ", all, StringComparison.Ordinal);
    }

    private static int RoundOf(string line) =>
        int.Parse(System.Text.RegularExpressions.Regex.Match(line, @"watch: round (\d+): ").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
}
