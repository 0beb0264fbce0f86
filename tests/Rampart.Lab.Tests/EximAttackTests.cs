using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using static Rampart.Lab.Tests.LabAttacks;

namespace Rampart.Lab.Tests;

/// <summary>
/// A real Exim 4.96 (Debian 12's exim4-daemon-light, unpacked by lab/exim/install; lab/exim/instance: its own
/// configuration, spool and log, no listener) configured with the shipped snippets (packaging/exim/conf.d), asking a real
/// <c>rampart daemon</c> over its Exim line listener (a Unix socket), delivering to the lab's MX receivers, with the lab's
/// attacker in front of mitm-sts.test's and mitm-dane.test's MX. Each <c>send</c> attempts delivery at once (-odi).
/// </summary>
public sealed class EximLab() : LabSender("rampart-exim")
{
    public string Instance => Path.Combine(Root, "exim");

    /// <summary>The daemon's Exim line listener (mode 0666: Exim's routers run as Debian-exim).</summary>
    public string Socket => Path.Combine(Root, "exim.sock");

    protected override string[] DaemonListenArgs => ["--exim-listen", $"unix:{Socket}:0666"];

    public static string Script => BesideLabBin("..", "exim", "instance");

    public override async ValueTask InitializeAsync()
    {
        if (Environment.GetEnvironmentVariable("RAMPART_LAB") != "1")
        {
            return; // each test fails with Lab.RequireLab's instructions
        }

        OpenRootToOthers();
        await StartDaemonAsync(DefaultDaemonState);
        await RunAsync("create", Socket);
    }

    public async Task<string> RunAsync(string command, params string[] args)
    {
        var (code, output) = await Lab.RunAsync(Script, [command, Instance, .. args], TimeSpan.FromSeconds(120));
        if (code != 0)
        {
            throw new InvalidOperationException($"lab/exim/instance {command}: exit {code}: {output}");
        }

        return output;
    }

    /// <summary>Exim's main log.</summary>
    public string Log() => File.Exists(Path.Combine(Instance, "log", "mainlog")) ? File.ReadAllText(Path.Combine(Instance, "log", "mainlog")) : "";

    /// <summary>The daemon's reply line to DOMAIN, asked as Exim's readsocket asks (a connection of its own, then close).</summary>
    public async Task<string> AskEximListenerAsync(string domain)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        deadline.CancelAfter(TimeSpan.FromSeconds(20));
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(Socket), deadline.Token);
        await socket.SendAsync(Encoding.ASCII.GetBytes(domain + "\n"), SocketFlags.None, deadline.Token);
        socket.Shutdown(SocketShutdown.Send);
        var received = new List<byte>();
        var chunk = new byte[1024];
        while (await socket.ReceiveAsync(chunk, SocketFlags.None, deadline.Token) is var n and > 0)
        {
            received.AddRange(chunk.AsSpan(0, n));
        }
        return Encoding.UTF8.GetString([.. received]).TrimEnd('\n');
    }
}

[Trait("Category", "integration")]
[Collection(LabAttacks.Collection)]
public sealed class EximAttackTests(EximLab exim) : IClassFixture<EximLab>
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    /// <summary>Sends to RCPT (delivery attempted at once) and returns Exim's log lines about this message.</summary>
    private async Task<string[]> SendAsync(string rcpt, string token)
    {
        var before = exim.Log().Length;
        await exim.RunAsync("send", rcpt, token);
        return exim.Log()[before..].Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    /// <summary>The message to RCPT was deferred (an "==" line with REASON) and waits in the queue.</summary>
    private async Task<string> AssertDeferredAsync(string[] lines, string rcpt, string reason)
    {
        var deferral = lines.FirstOrDefault(l => l.Contains($" == {rcpt} ", StringComparison.Ordinal));
        Assert.True(deferral is not null, $"{rcpt} was not deferred:\n{string.Join('\n', lines)}\n{exim.DaemonOutput()}");
        Assert.Contains(reason, string.Join('\n', lines), StringComparison.Ordinal);
        Assert.DoesNotContain(lines, l => l.Contains($" => {rcpt} ", StringComparison.Ordinal));
        Assert.Contains(rcpt, await exim.RunAsync("queue"), StringComparison.Ordinal);
        return deferral;
    }

    private async Task DeliverAsync(string rcpt, string mxHost, string route, string verified)
    {
        var token = Token();
        var lines = await SendAsync(rcpt, token);

        var eml = await ReceivedAsync(mxHost, token, Bound);

        Assert.True(eml is not null, $"{rcpt} not delivered within {Bound.TotalSeconds} s:\n{string.Join('\n', lines)}");
        Assert.StartsWith("X-Lab-Received: tls=yes ", eml, StringComparison.Ordinal);
        var delivery = Assert.Single(lines, l => l.Contains($" => {rcpt} ", StringComparison.Ordinal));
        Assert.Contains(route, delivery, StringComparison.Ordinal);
        Assert.Contains($" H={mxHost} ", delivery, StringComparison.Ordinal);
        Assert.Contains(" X=TLS", delivery, StringComparison.Ordinal);
        Assert.Contains(verified, delivery, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Exim_StsEnforce_DeliversOverWebPkiVerifiedTls()
    {
        Lab.RequireLab();
        Assert.Equal("secure mx.sts-enforce.test", await exim.AskEximListenerAsync("sts-enforce.test"));
        await DeliverAsync("user@sts-enforce.test", "mx.sts-enforce.test", " R=rampart_secure T=rampart_secure_smtp ", " CV=yes ");
    }

    [Fact]
    public async Task Exim_Dane_DeliversOverDane()
    {
        Lab.RequireLab();
        Assert.Equal("dane-only", await exim.AskEximListenerAsync("dane.test"));
        await DeliverAsync("user@dane.test", "mx.dane.test", " R=rampart_dane_only T=rampart_dane_only_smtp ", " CV=dane ");
    }

    [Fact]
    public async Task Exim_NoPolicy_DeliversOpportunistically()
    {
        Lab.RequireLab();
        Assert.Equal("none", await exim.AskEximListenerAsync("nosts.test"));
        // Debian's own router and transport: TLS because it is offered, the certificate not required (CV=no)
        await DeliverAsync("user@nosts.test", "mx.nosts.test", " R=dnslookup T=remote_smtp ", " CV=no ");
    }

    [Theory]
    [InlineData("mitm-sts.test", "127.0.1.50", "strip", "a TLS session is required, but the server did not offer TLS support")]
    [InlineData("mitm-dane.test", "127.0.2.50", "strip", "a TLS session is required, but the server did not offer TLS support")]
    [InlineData("mitm-sts.test", "127.0.1.50", "forge", "(certificate verification failed): certificate invalid")]
    [InlineData("mitm-dane.test", "127.0.2.50", "forge", "(certificate verification failed): Verification failed. The certificate differs.")]
    public async Task Exim_Mitm_DefersAndNothingReachesTheAttackerInClear(string domain, string mxAddress, string mode, string reason)
    {
        Lab.RequireLab();
        var rcpt = "user@" + domain;
        var mxHost = "mx." + domain;
        var token = Token();
        var mitmLog = MitmLogLength();
        var clock = Stopwatch.StartNew();

        await WithMitmAsync(mxAddress, mode, async () =>
        {
            // what Exim is told: were it "none", Debian's remote_smtp would carry the mail over the stripped or forged session
            Assert.Equal(domain == "mitm-dane.test" ? "dane-only" : $"secure {mxHost}", await exim.AskEximListenerAsync(domain));
            await AssertDeferredAsync(await SendAsync(rcpt, token), rcpt, reason);
            // one more attempt through the attacker: still deferred, still nothing in clear
            await exim.RunAsync("flush");
            Assert.Contains(rcpt, await exim.RunAsync("queue"), StringComparison.Ordinal);
            await exim.RunAsync("purge");
        });

        await AssertNothingInClearAsync(token, mitmLog, mxHost, mode, mxHost);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"took {clock.Elapsed}");
    }

    /// <summary>
    /// "TLSA not updated after rotation" (dane-mismatch.test) and "MX not in the policy" (sts-mx-mismatch.test, signed: the
    /// DNS MX is a host the policy does not list, as a spoofed MX would be): Exim, told dane-only / secure mx.…, defers; the
    /// unlisted MX is never even connected to (the transport's tcp:connect event refuses it).
    /// </summary>
    [Theory]
    [InlineData("dane-mismatch.test", "mx.dane-mismatch.test", "dane-only", "(certificate verification failed): Verification failed. The certificate differs.")]
    [InlineData("sts-mx-mismatch.test", "mx-new.sts-mx-mismatch.test", "secure mx.sts-mx-mismatch.test", "mx-new.sts-mx-mismatch.test [127.0.1.6]:25 Event requests alternate response")]
    public async Task Exim_PolicyRefusesTheMx_Deferred(string domain, string mxHost, string answer, string logReason)
    {
        Lab.RequireLab();
        var rcpt = "user@" + domain;
        var token = Token();

        Assert.Equal(answer, await exim.AskEximListenerAsync(domain));
        await AssertDeferredAsync(await SendAsync(rcpt, token), rcpt, logReason);

        Assert.Null(await ReceivedAsync(mxHost, token, TimeSpan.Zero));
        await exim.RunAsync("purge");
    }

    /// <summary>
    /// "MX spoofed to attacker" on an unsigned zone (mitm-insecure.test: MTA-STS enforce, <c>mx: mx.mitm-insecure.test</c>),
    /// its DNS forged in the lab's Unbound for Exim and the daemon alike: (a) the MX answered with the attacker's own host
    /// (valid certificate for its own name): not in the policy, never connected to; (b) the listed MX's A record answered
    /// with the attacker's address (spoof mode, its own certificate): WebPKI fails. Both deferred, nothing reaches anyone.
    /// </summary>
    [Theory]
    [InlineData("mitm-insecure.test. 30 IN MX 10 mx.mitm-attacker.test.", "pass", "mx.mitm-attacker.test [127.0.1.52]:25 Event requests alternate response")]
    [InlineData("mx.mitm-insecure.test. 30 IN A 127.0.1.52", "spoof", "(certificate verification failed): certificate invalid")]
    public async Task Exim_MxSpoofedToAttacker_UnsignedZone_Deferred(string forgedRecord, string mode, string reason)
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
                Assert.Equal("secure mx.mitm-insecure.test", await exim.AskEximListenerAsync("mitm-insecure.test"));
                await AssertDeferredAsync(await SendAsync(rcpt, token), rcpt, reason);
                await exim.RunAsync("purge"); // while the forgery holds: a retry after it could reach the real MX
            });
        }

        if (mode == "spoof")
        {
            await AssertNothingInClearAsync(token, mitmLog, AttackerHost, mode, "mx.mitm-insecure.test", AttackerHost);
        }
        else
        {
            // refused before connecting: the attacker's host was never contacted at all
            Assert.Null(await ReceivedAsync(AttackerHost, token, TimeSpan.Zero));
            Assert.Null(await ReceivedAsync("mx.mitm-insecure.test", token, TimeSpan.Zero));
        }
    }

    /// <summary>
    /// "First fetch blocked, policy cached" (mitm-sts.test): one delivery lets a fresh daemon fetch and store the policy;
    /// then the policy host is made unreachable and a new policy id announced, the daemon restarts (decision memory gone,
    /// SQLite cache kept) and STARTTLS is stripped: Exim is still told <c>secure mx.mitm-sts.test</c> and defers.
    /// </summary>
    [Fact]
    public async Task Exim_FirstFetchBlocked_PolicyCached_StillEnforced()
    {
        Lab.RequireLab();
        await WithPolicyStoredAsync(async state =>
        {
            await using var forged = new ForgedDns();
            await forged.AddAsync("mta-sts.mitm-sts.test. 30 IN A 127.0.3.254"); // nothing listens there: connection refused
            await forged.AddAsync("_mta-sts.mitm-sts.test. 30 IN TXT \"v=STSv1; id=attacker1\"");
            await exim.StartDaemonAsync(state);
            await StrippedAndDeferredAsync("mitm-sts.test");
        });
    }

    /// <summary>
    /// "DNS outage, policy cached" (mitm-sts.test): with the policy stored, the daemon restarts on an unresponsive resolver
    /// while Exim keeps resolving through Unbound: the cached answer comes at once and the stripped delivery is deferred.
    /// </summary>
    [Fact]
    public async Task Exim_DnsOutage_PolicyCached_EnforcedWithoutStall()
    {
        Lab.RequireLab();
        await WithPolicyStoredAsync(async state =>
        {
            await using var outage = UnresponsiveResolver.Start();
            await exim.StartDaemonAsync(state, "--resolver", $"{UnresponsiveResolver.Address.Address}:{UnresponsiveResolver.Address.Port}");
            var clock = Stopwatch.StartNew();
            Assert.Equal("secure mx.mitm-sts.test", await exim.AskEximListenerAsync("mitm-sts.test"));
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2.5), $"the first cached answer took {clock.Elapsed.TotalMilliseconds:0} ms (waited for DNS?)");
            await StrippedAndDeferredAsync("mitm-sts.test");
        });
    }

    /// <summary>
    /// Runs BODY with a fresh daemon state directory that holds mitm-sts.test's policy (stored by one delivery through the
    /// MitM in pass mode); the class's own daemon is back afterwards.
    /// </summary>
    private async Task WithPolicyStoredAsync(Func<string, Task> body)
    {
        var state = exim.NewDaemonState();
        try
        {
            await exim.StartDaemonAsync(state);
            await WithMitmAsync("127.0.1.50", "pass", () => DeliverAsync("user@mitm-sts.test", "mx.mitm-sts.test", " R=rampart_secure ", " CV=yes "));
            await body(state);
        }
        finally
        {
            await exim.StartDaemonAsync(exim.DefaultDaemonState);
        }
    }

    /// <summary>
    /// The daemon down: Exim's readsocket fails, the configured fallback answer is <c>tempfail</c>, and mail waits:
    /// the enforce domain (and, as documented, every remote domain) is deferred, never sent in clear; after the daemon is
    /// back, the queued message is delivered over verified TLS.
    /// </summary>
    [Fact]
    public async Task Exim_DaemonDown_EnforceDomainDeferred_DeliveredOnceItIsBack()
    {
        Lab.RequireLab();
        var token = Token();
        await exim.StopDaemonAsync();
        try
        {
            var lines = await SendAsync("user@sts-enforce.test", token);
            var deferral = await AssertDeferredAsync(lines, "user@sts-enforce.test", "rampart: tempfail rampart daemon not answering");
            Assert.Contains(" R=rampart_defer defer ", deferral, StringComparison.Ordinal);
            Assert.Null(await ReceivedAsync("mx.sts-enforce.test", token, TimeSpan.Zero));
        }
        finally
        {
            await exim.StartDaemonAsync(exim.DefaultDaemonState);
        }

        await exim.RunAsync("flush");
        var eml = await ReceivedAsync("mx.sts-enforce.test", token, Bound);
        Assert.True(eml is not null, $"not delivered after the daemon came back:\n{exim.Log()}");
        Assert.StartsWith("X-Lab-Received: tls=yes ", eml, StringComparison.Ordinal);
    }

    /// <summary>
    /// The daemon (as it runs now) tells Exim <c>secure mx.DOMAIN</c>; with STARTTLS stripped by the MitM a message to DOMAIN
    /// is deferred and nothing reaches the MX or the MitM in clear.
    /// </summary>
    private async Task StrippedAndDeferredAsync(string domain)
    {
        var rcpt = "user@" + domain;
        var mxHost = "mx." + domain;
        var token = Token();
        var mitmLog = MitmLogLength();
        await WithMitmAsync("127.0.1.50", "strip", async () =>
        {
            Assert.Equal($"secure {mxHost}", await exim.AskEximListenerAsync(domain));
            await AssertDeferredAsync(await SendAsync(rcpt, token), rcpt, "a TLS session is required, but the server did not offer TLS support");
            await exim.RunAsync("purge");
        });

        await AssertNothingInClearAsync(token, mitmLog, mxHost, "strip", mxHost);
    }
}
