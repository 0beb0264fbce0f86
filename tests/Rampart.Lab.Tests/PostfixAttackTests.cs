using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

using static Rampart.Lab.Tests.LabAttacks;

namespace Rampart.Lab.Tests;

/// <summary>
/// A real Postfix (lab/postfix/instance: its own config, queue and log, no inbound service) asking a real
/// <c>rampart daemon</c> over socketmap, delivering to the lab's MX receivers, with the lab's attacker
/// (<c>Rampart.Lab mitm</c>) in front of mitm-sts.test's MX (= sts-enforce.test) and mitm-dane.test's MX
/// (= dane.test). One Postfix and one daemon for the whole class (~3 s to start).
/// </summary>
public class PostfixLab() : LabSender("rampart-postfix")
{
    public string Instance => Path.Combine(Root, "postfix");

    /// <summary>The port of 127.0.0.1 where the instance takes mail by SMTP (relaying for loopback), or null: none.</summary>
    public virtual int? SmtpdPort => null;

    public static string Script => BesideLabBin("..", "postfix", "instance");

    public override async ValueTask InitializeAsync()
    {
        if (Environment.GetEnvironmentVariable("RAMPART_LAB") != "1")
        {
            return; // each test fails with Lab.RequireLab's instructions
        }

        // the postfix user must reach the queue: CreateTempSubdirectory makes a 0700 dir
        OpenRootToOthers();
        await StartDaemonAsync(DefaultDaemonState);
        await RunAsync("create", [Port.ToString(CultureInfo.InvariantCulture), .. SmtpdPort is { } smtpd ? [smtpd.ToString(CultureInfo.InvariantCulture)] : Array.Empty<string>()]);
        await RunAsync("start");
    }

    public override async ValueTask DisposeAsync()
    {
        if (Directory.Exists(Instance))
        {
            try
            {
                await RunAsync("stop");
            }
            catch (InvalidOperationException)
            {
            }
        }

        await base.DisposeAsync();
        GC.SuppressFinalize(this);
    }

    public async Task<string> RunAsync(string command, params string[] args)
    {
        // generous: `postfix check` + start forks dozens of processes, slow on a loaded 2-core machine (30 s was seen to pass)
        var (code, output) = await Lab.RunAsync(Script, [command, Instance, .. args], TimeSpan.FromSeconds(120));
        if (code != 0)
        {
            throw new InvalidOperationException($"lab/postfix/instance {command}: exit {code}: {output}");
        }

        return output;
    }

    public string Log() => File.Exists(Path.Combine(Instance, "log", "postfix.log")) ? File.ReadAllText(Path.Combine(Instance, "log", "postfix.log")) : "";

    /// <summary>Waits until the message to RCPT sits in the queue with a delay reason; returns it.</summary>
    public async Task<string> DeferredAsync(string rcpt, TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        while (DateTime.UtcNow < deadline)
        {
            if ((await QueueAsync()).TryGetValue(rcpt, out var why) && why.Length > 0)
            {
                return why;
            }

            await Task.Delay(200, TestContext.Current.CancellationToken);
        }

        Assert.Fail($"{rcpt} was not deferred within {within.TotalSeconds} s; queue: {string.Join("; ", await QueueAsync())}\n{Log()}");
        return "";
    }

    /// <summary>Queued messages: recipient → delay reason.</summary>
    public async Task<Dictionary<string, string>> QueueAsync()
    {
        var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var line in (await RunAsync("queue")).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (!line.StartsWith('{'))
            {
                continue;
            }

            using var doc = JsonDocument.Parse(line);
            foreach (var r in doc.RootElement.GetProperty("recipients").EnumerateArray())
            {
                result[r.GetProperty("address").GetString()!] = r.TryGetProperty("delay_reason", out var why) ? why.GetString() ?? "" : "";
            }
        }

        return result;
    }

    /// <summary>
    /// Deletes every queued message until the queue shows none (postsuper can miss a message qmgr is moving between
    /// queues at that moment), within 60 s. For tests that count what the log shows: nothing left to retry later.
    /// </summary>
    public async Task EmptyQueueAsync()
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        Dictionary<string, string> left;
        while (true)
        {
            await RunAsync("purge");
            left = await QueueAsync();
            if (left.Count == 0)
            {
                return;
            }
            Assert.True(DateTime.UtcNow < deadline, $"messages still queued 60 s after the first purge: {string.Join("; ", left)}");
            await Task.Delay(200, TestContext.Current.CancellationToken);
        }
    }
}

[Trait("Category", "integration")]
[Collection(LabAttacks.Collection)]
public sealed class PostfixAttackTests(PostfixLab postfix) : IClassFixture<PostfixLab>
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    /// <summary>Waits until the message to RCPT sits in the queue with a delay reason; returns it.</summary>
    private Task<string> DeferredAsync(string rcpt) => postfix.DeferredAsync(rcpt, Bound);

    private async Task DeliverAsync(string rcpt, string mxHost, string logLine)
    {
        var token = Token();
        await postfix.RunAsync("send", rcpt, token);

        var eml = await ReceivedAsync(mxHost, token, Bound);

        Assert.True(eml is not null, $"{rcpt} not delivered within {Bound.TotalSeconds} s:\n{postfix.Log()}");
        Assert.StartsWith("X-Lab-Received: tls=yes ", eml, StringComparison.Ordinal);
        Assert.Contains(logLine + " TLS connection established to " + mxHost, postfix.Log(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Postfix_StsEnforce_DeliversOverVerifiedTls()
    {
        Lab.RequireLab();
        // Postfix says "Verified" for a `secure` policy whose match= name the lab CA certificate carries
        await DeliverAsync("user@sts-enforce.test", "mx.sts-enforce.test", "Verified");
    }

    [Fact]
    public async Task Postfix_Dane_DeliversOverDaneVerifiedTls()
    {
        Lab.RequireLab();
        await DeliverAsync("user@dane.test", "mx.dane.test", "Verified");
    }

    [Fact]
    public async Task Postfix_NoPolicy_DeliversOpportunistically()
    {
        Lab.RequireLab();
        // `may`: TLS is used when offered; with smtp_tls_CAfile set the log says "Trusted"
        await DeliverAsync("user@nosts.test", "mx.nosts.test", "Trusted");
    }

    [Fact]
    public async Task Postfix_MitmPassThrough_StillDelivers()
    {
        Lab.RequireLab();
        await WithMitmAsync("127.0.1.50", "pass", () => DeliverAsync("user@mitm-sts.test", "mx.mitm-sts.test", "Verified"));
    }

    [Theory]
    [InlineData("mitm-sts.test", "127.0.1.50", "strip", "TLS is required, but was not offered")]
    [InlineData("mitm-dane.test", "127.0.2.50", "strip", "TLS is required, but was not offered")]
    [InlineData("mitm-sts.test", "127.0.1.50", "forge", "Server certificate not verified")]
    [InlineData("mitm-dane.test", "127.0.2.50", "forge", "Server certificate not verified")]
    public async Task Postfix_Mitm_DefersAndNothingReachesTheAttackerInClear(string domain, string mxAddress, string mode, string reason)
    {
        Lab.RequireLab();
        var rcpt = "user@" + domain;
        var mxHost = "mx." + domain;
        var token = Token();
        var clock = Stopwatch.StartNew();

        await WithMitmAsync(mxAddress, mode, async () =>
        {
            // what Postfix is told: were it NOTFOUND (`may`), the stripped or forged session would carry the mail
            Assert.Equal(domain == "mitm-dane.test" ? "OK dane-only" : $"OK secure match={mxHost} servername=hostname",
                (await postfix.AskDaemonAsync(domain, Bound)).Reply);
            await postfix.RunAsync("send", rcpt, token);
            var why = await DeferredAsync(rcpt);
            // one retry through the attacker as well (short backoff): still deferred, still nothing in clear
            await postfix.RunAsync("flush");
            await Task.Delay(TimeSpan.FromSeconds(2.5), TestContext.Current.CancellationToken);

            Assert.Contains(reason, why, StringComparison.Ordinal);
            Assert.Contains(rcpt, (await postfix.QueueAsync()).Keys);
        });

        Assert.Null(await ReceivedAsync(mxHost, token, TimeSpan.Zero));
        var captures = Path.Combine(PostfixLab.State, "mitm", "capture", mxHost);
        foreach (var file in Directory.Exists(captures) ? Directory.GetFiles(captures) : [])
        {
            Assert.DoesNotContain(token, await File.ReadAllTextAsync(file, TestContext.Current.CancellationToken), StringComparison.Ordinal);
        }

        var mitmLog = await File.ReadAllLinesAsync(Path.Combine(PostfixLab.State, "log", "mitm.log"), TestContext.Current.CancellationToken);
        var ours = mitmLog.Where(l => l.Contains($" close mode={mode} host={mxHost} ", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(ours);
        Assert.DoesNotContain(ours, l => l.Contains(" data=yes ", StringComparison.Ordinal));
        await postfix.RunAsync("purge");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"took {clock.Elapsed}");
    }

    /// <summary>
    /// "TLSA not updated after rotation" (dane-mismatch.test: the MX presents a key its TLSA no longer pins) and "MX not in
    /// the policy" (sts-mx-mismatch.test: the DNS MX points at a host the MTA-STS policy does not list, as a spoofed MX
    /// would): Postfix, told dane-only / secure match=… by the daemon, defers and the MX receives nothing.
    /// </summary>
    [Theory]
    [InlineData("dane-mismatch.test", "mx.dane-mismatch.test", "no matching DANE TLSA records")]
    [InlineData("sts-mx-mismatch.test", "mx-new.sts-mx-mismatch.test", "Server certificate not verified")]
    public async Task Postfix_PolicyRefusesTheMx_Deferred(string domain, string mxHost, string logReason)
    {
        Lab.RequireLab();
        var rcpt = "user@" + domain;
        var token = Token();

        await postfix.RunAsync("send", rcpt, token);
        var why = await DeferredAsync(rcpt);

        Assert.Contains("certificate", why, StringComparison.OrdinalIgnoreCase);
        Assert.Contains(postfix.Log().Split('\n'), line => line.Contains(mxHost + "[", StringComparison.Ordinal) && line.Contains(logReason, StringComparison.Ordinal));
        Assert.Null(await ReceivedAsync(mxHost, token, TimeSpan.Zero));
        await postfix.RunAsync("purge");
    }

    /// <summary>
    /// "MX spoofed to attacker" on an unsigned zone (mitm-insecure.test, a copy of insecure.test: MTA-STS enforce,
    /// <c>mx: mx.mitm-insecure.test</c>), its DNS forged in the lab's Unbound for Postfix and the daemon alike:
    /// (a) the MX answered with the attacker's own host, whose lab-CA certificate is valid for the attacker's name
    /// (mx.mitm-attacker.test, MitM in pass mode to its real receiver): not in the policy, so the name check fails;
    /// (b) the A record of the listed MX answered with the attacker's address, where the attacker (spoof mode) speaks
    /// SMTP for the spoofed name with a certificate of its own: WebPKI fails. Both deferred, nothing reaches anyone.
    /// </summary>
    [Theory]
    [InlineData("mitm-insecure.test. 30 IN MX 10 mx.mitm-attacker.test.", "pass", "mx.mitm-attacker.test[127.0.1.52]")]
    [InlineData("mx.mitm-insecure.test. 30 IN A 127.0.1.52", "spoof", "mx.mitm-insecure.test[127.0.1.52]")]
    public async Task Postfix_MxSpoofedToAttacker_UnsignedZone_Deferred(string forgedRecord, string mode, string attackerRelay)
    {
        Lab.RequireLab();
        const string rcpt = "user@mitm-insecure.test";
        var token = Token();
        var mitmLog = MitmLogLength();

        await using (var forged = new ForgedDns())
        {
            await forged.AddAsync(forgedRecord);
            await WithMitmAsync(AttackerAddress, mode, async () =>
            {
                // the policy pins the real MX name whatever the forged DNS says (NOTFOUND would let `may` deliver to the attacker)
                Assert.Equal("OK secure match=mx.mitm-insecure.test servername=hostname", (await postfix.AskDaemonAsync("mitm-insecure.test", Bound)).Reply);
                await postfix.RunAsync("send", rcpt, token);
                var why = await DeferredAsync(rcpt);

                Assert.Contains("Server certificate not verified", why, StringComparison.Ordinal);
                Assert.Contains(postfix.Log().Split('\n'), line => line.Contains(attackerRelay, StringComparison.Ordinal)
                                                                   && line.Contains("Server certificate not verified", StringComparison.Ordinal));
                await postfix.RunAsync("purge"); // while the forgery holds: a retry after it could reach the real MX
            });
        }

        await AssertNothingInClearAsync(token, mitmLog, AttackerHost, mode, "mx.mitm-insecure.test", AttackerHost);
    }

    /// <summary>
    /// "First fetch blocked, policy cached" (mitm-sts.test): one delivery lets a fresh daemon fetch and store the policy;
    /// then the attacker makes the policy host unreachable (mta-sts.mitm-sts.test → a dead address) and announces a new
    /// policy id (so a sender would try to refetch), the daemon restarts (decision memory gone, SQLite cache kept) and
    /// STARTTLS is stripped: still <c>secure match=…</c>, deferred, nothing in clear. The control: a sender with no cache
    /// (<c>rampart resolve</c>) under the same forgery fails the fetch and answers NOTFOUND, so the cache is what protects.
    /// </summary>
    [Fact]
    public async Task Postfix_FirstFetchBlocked_PolicyCached_StillEnforced()
    {
        // every daemon here runs with the class's ordinary settings, so later tests need no restore
        Lab.RequireLab();
        var state = postfix.NewDaemonState();
        await postfix.StartDaemonAsync(state);
        await WithMitmAsync("127.0.1.50", "pass", () => DeliverAsync("user@mitm-sts.test", "mx.mitm-sts.test", "Verified"));

        await using var forged = new ForgedDns();
        await forged.AddAsync("mta-sts.mitm-sts.test. 30 IN A 127.0.3.254"); // nothing listens there: connection refused
        await forged.AddAsync("_mta-sts.mitm-sts.test. 30 IN TXT \"v=STSv1; id=attacker1\"");
        var uncached = await Rampart.Tests.Shared.CliRunner.RunAsync(["resolve", "mitm-sts.test", "--json"], timeout: Bound);
        Assert.True(uncached.ExitCode == 0 && uncached.Stdout.Contains("127.0.3.254", StringComparison.Ordinal), uncached.ToString());
        using (var json = JsonDocument.Parse(uncached.Stdout))
        {
            Assert.Equal("none", json.RootElement.GetProperty("policy").GetString());
            Assert.Equal("NOTFOUND ", json.RootElement.GetProperty("postfix").GetString());
        }

        await postfix.StartDaemonAsync(state);
        await StrippedAndDeferredAsync("mitm-sts.test");
    }

    /// <summary>
    /// "DNS outage, policy cached" (mitm-sts.test): with the policy stored, the daemon restarts with <c>--resolver</c> on
    /// an unresponsive resolver (127.0.0.3: reads queries, never answers) while Postfix keeps resolving through Unbound;
    /// the daemon answers the cached <c>secure match=…</c> at once (no stall: under 1 s while its refresh hangs on the dead
    /// resolver, which it provably asked; a lookup waiting for DNS takes seconds), and the stripped delivery is deferred.
    /// </summary>
    [Fact]
    public async Task Postfix_DnsOutage_PolicyCached_EnforcedWithoutStall()
    {
        Lab.RequireLab();
        var state = postfix.NewDaemonState();
        try
        {
            await postfix.StartDaemonAsync(state);
            await WithMitmAsync("127.0.1.50", "pass", () => DeliverAsync("user@mitm-sts.test", "mx.mitm-sts.test", "Verified"));

            await using var outage = UnresponsiveResolver.Start();
            await postfix.StartDaemonAsync(state, "--resolver", $"{UnresponsiveResolver.Address.Address}:{UnresponsiveResolver.Address.Port}");
            // the first answer after the restart (cold: JIT, SQLite opened) must not have waited for DNS (≥ 3 s timeout)
            var (cold, coldElapsed) = await postfix.AskDaemonAsync("mitm-sts.test", Bound);
            Assert.Equal("OK secure match=mx.mitm-sts.test servername=hostname", cold);
            Assert.True(coldElapsed < TimeSpan.FromSeconds(2.5), $"the first cached answer took {coldElapsed.TotalMilliseconds:0} ms (waited for DNS?)");
            var asked = await Task.WhenAny(outage.Asked, Task.Delay(Bound, TestContext.Current.CancellationToken)) == outage.Asked;

            Assert.True(asked, $"the daemon never asked the unresponsive resolver\n{postfix.DaemonOutput()}");
            // now its refresh hangs on the dead resolver: the next lookup must still not wait for it
            var (reply, elapsed) = await postfix.AskDaemonAsync("mitm-sts.test", Bound);
            TestContext.Current.TestOutputHelper?.WriteLine(
                $"cached answer during the DNS outage: {coldElapsed.TotalMilliseconds:0.0} ms after the restart, {elapsed.TotalMilliseconds:0.0} ms with a refresh stuck on DNS");
            Assert.Equal("OK secure match=mx.mitm-sts.test servername=hostname", reply);
            Assert.True(elapsed < TimeSpan.FromSeconds(1), $"the cached policy took {elapsed.TotalMilliseconds:0} ms to arrive while DNS was down (stall)");
            await StrippedAndDeferredAsync("mitm-sts.test");
        }
        finally
        {
            await postfix.StartDaemonAsync(postfix.DefaultDaemonState);
        }
    }

    /// <summary>
    /// The daemon (as it runs now) tells Postfix <c>secure match=mx.DOMAIN</c>; then with STARTTLS stripped by the MitM a
    /// message to DOMAIN is deferred ("TLS is required, but was not offered") and nothing reaches the MX or the MitM in clear.
    /// </summary>
    private async Task StrippedAndDeferredAsync(string domain)
    {
        var rcpt = "user@" + domain;
        var mxHost = "mx." + domain;
        var token = Token();
        var mitmLog = MitmLogLength();
        await WithMitmAsync("127.0.1.50", "strip", async () =>
        {
            Assert.Equal($"OK secure match={mxHost} servername=hostname", (await postfix.AskDaemonAsync(domain, Bound)).Reply);
            await postfix.RunAsync("send", rcpt, token);
            var why = await DeferredAsync(rcpt);

            Assert.Contains("TLS is required, but was not offered", why, StringComparison.Ordinal);
            Assert.Contains(postfix.Log().Split('\n'), line => line.Contains(mxHost + "[127.0.1.50]", StringComparison.Ordinal)
                                                               && line.Contains("TLS is required, but was not offered", StringComparison.Ordinal));
            await postfix.RunAsync("purge");
        });

        await AssertNothingInClearAsync(token, mitmLog, mxHost, "strip", mxHost);
    }
}
