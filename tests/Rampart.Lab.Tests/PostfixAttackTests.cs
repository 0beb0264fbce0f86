using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Rampart.Lab.Tests;

/// <summary>
/// A real Postfix (lab/postfix/instance: its own config, queue and log, no inbound service) asking a real
/// <c>rampart daemon</c> over socketmap, delivering to the lab's MX receivers, with the lab's attacker
/// (<c>Rampart.Lab mitm</c>) in front of mitm-sts.test's MX (= sts-enforce.test) and mitm-dane.test's MX
/// (= dane.test). One Postfix and one daemon for the whole class (~3 s to start).
/// </summary>
public sealed class PostfixLab : IAsyncLifetime
{
    private readonly string _root = Directory.CreateTempSubdirectory("rampart-postfix").FullName;
    private readonly ConcurrentQueue<string> _daemonOutput = new();
    private Process? _daemon;

    public string Instance => Path.Combine(_root, "postfix");

    /// <summary>The daemon's socketmap port on 127.0.0.1 (Postfix's smtp_tls_policy_maps); kept across restarts.</summary>
    public int Port { get; private set; }

    /// <summary>The class's own daemon state directory (its SQLite policy cache); tests that restart the daemon elsewhere restore it.</summary>
    public string DefaultDaemonState => Path.Combine(_root, "daemon");

    /// <summary>A fresh, empty daemon state directory under this fixture's root.</summary>
    public string NewDaemonState() => Directory.CreateDirectory(Path.Combine(_root, "daemon-" + Guid.NewGuid().ToString("N")[..8])).FullName;

    /// <summary>What the daemons printed (stderr and stdout), for failure messages.</summary>
    public string DaemonOutput() => string.Join('\n', _daemonOutput.TakeLast(60));
    public static string State => Environment.GetEnvironmentVariable("RAMPART_LAB_STATE") ?? "";

    public static string Script => BesideLabBin("..", "postfix", "instance");

    /// <summary>
    /// <c>RAMPART_LAB_DAEMON_UNIT</c>: a systemd unit file (packaging/deb/check sets the installed
    /// /lib/systemd/system/rampart-daemon.service). The daemon is then the installed one, started as that unit starts it
    /// (packaging/deb/unit-exec: its ExecStart=, User=, StateDirectory=, Type=notify, read here as READY=1), listening
    /// where its configuration says (127.0.0.1:8461, inside the lab's network namespace). Only the default daemon exists
    /// then: tests that restart it with other settings do not apply.
    /// </summary>
    public static string? Unit => Environment.GetEnvironmentVariable("RAMPART_LAB_DAEMON_UNIT") is { Length: > 0 } unit ? unit : null;

    /// <summary>A file of the repository found from lab/bin on PATH (lab/run puts it there).</summary>
    private static string BesideLabBin(params string[] relative)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':'))
        {
            var candidate = Path.GetFullPath(Path.Combine([dir, .. relative]));
            if (File.Exists(Path.Combine(dir, "lab-bump")) && File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException($"{string.Join('/', relative)} not found from lab/bin on PATH (run the tests with lab/run)");
    }

    public async ValueTask InitializeAsync()
    {
        if (Environment.GetEnvironmentVariable("RAMPART_LAB") != "1")
        {
            return; // each test fails with Lab.RequireLab's instructions
        }

        // the postfix user must reach the queue: CreateTempSubdirectory makes a 0700 dir
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(_root, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
                                    UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        }

        if (Unit is not null)
        {
            Port = 8461; // the installed configuration's address (rampart.yml: every key at its default)
        }
        else
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            Port = ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        await StartDaemonAsync(DefaultDaemonState);
        await RunAsync("create", Port.ToString(CultureInfo.InvariantCulture));
        await RunAsync("start");
    }

    public async ValueTask DisposeAsync()
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

        await StopDaemonAsync();
        Directory.Delete(_root, recursive: true);
    }

    /// <summary>
    /// (Re)starts <c>rampart daemon</c> on <see cref="Port"/> with STATEDIR (its SQLite policy cache) and EXTRA arguments:
    /// the old process (if any) gets SIGTERM, so its decision memory is gone; what it stored on disk stays.
    /// Postfix's smtp processes reconnect to the new one on their next lookup.
    /// </summary>
    public async Task StartDaemonAsync(string stateDir, params string[] extra)
    {
        await StopDaemonAsync();
        if (Unit is { } unit)
        {
            await StartUnitAsync(unit, stateDir, extra);
            return;
        }

        Directory.CreateDirectory(stateDir);
        var info = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in (string[])[Rampart.Tests.Shared.CliRunner.RampartDll, "daemon", "--listen", $"127.0.0.1:{Port}", "--state-dir", stateDir, .. extra])
        {
            info.ArgumentList.Add(arg);
        }

        Launch(info);
        await ListeningAsync();
    }

    private void Launch(ProcessStartInfo info)
    {
        _daemonOutput.Enqueue($"--- daemon {info.FileName} {string.Join(' ', info.ArgumentList)}");
        _daemon = Process.Start(info)!;
        _daemon.OutputDataReceived += (_, e) => _daemonOutput.Enqueue(e.Data ?? "");
        _daemon.ErrorDataReceived += (_, e) => _daemonOutput.Enqueue(e.Data ?? "");
        _daemon.BeginOutputReadLine();
        _daemon.BeginErrorReadLine();
    }

    /// <summary>
    /// The installed daemon as its unit starts it, the way systemd waits for a Type=notify service: READY=1 on
    /// $NOTIFY_SOCKET (a datagram socket of this fixture), within the unit's 60 s start timeout.
    /// </summary>
    private async Task StartUnitAsync(string unit, string stateDir, string[] extra)
    {
        if (extra.Length > 0 || stateDir != DefaultDaemonState)
        {
            throw new InvalidOperationException($"RAMPART_LAB_DAEMON_UNIT={unit}: the daemon runs as its unit says; this test restarts it with other settings");
        }

        var notifyPath = Path.Combine(_root, "notify-" + Guid.NewGuid().ToString("N")[..8]);
        using var notify = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        notify.Bind(new UnixDomainSocketEndPoint(notifyPath));
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(notifyPath, (UnixFileMode)0b110_110_110); // the unit's user sends to it, as to systemd's
        }
        var info = new ProcessStartInfo(BesideLabBin("..", "..", "packaging", "deb", "unit-exec"))
        {
            UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true,
        };
        // the lab's CA for MTA-STS fetches, as a drop-in's Environment=SSL_CERT_FILE=… would give it
        foreach (var arg in (string[])["--pass", "SSL_CERT_FILE", unit])
        {
            info.ArgumentList.Add(arg);
        }
        info.Environment["NOTIFY_SOCKET"] = notifyPath;
        Launch(info);
        var buffer = new byte[4096];
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            while (!Encoding.UTF8.GetString(buffer, 0, await notify.ReceiveAsync(buffer, SocketFlags.None, deadline.Token)).StartsWith("READY=1", StringComparison.Ordinal))
            {
            }
        }
        catch (OperationCanceledException)
        {
            throw new InvalidOperationException($"{unit}: no READY=1 within 60 s (Type=notify):\n{DaemonOutput()}");
        }

        await ListeningAsync();
    }

    private async Task ListeningAsync()
    {
        var daemon = _daemon!;
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline && !daemon.HasExited)
            {
                await Task.Delay(50);
            }
            catch (SocketException e)
            {
                throw new InvalidOperationException($"rampart daemon did not listen on 127.0.0.1:{Port} within 20 s ({e.SocketErrorCode}):\n{DaemonOutput()}", e);
            }
        }
    }

    /// <summary>SIGTERM to the running daemon (if any), waited for: Postfix's lookups then find nothing listening.</summary>
    public async Task StopDaemonAsync()
    {
        if (_daemon is not { } daemon)
        {
            return;
        }

        _daemon = null;
        if (!daemon.HasExited)
        {
            using var kill = Process.Start("kill", ["-TERM", daemon.Id.ToString(CultureInfo.InvariantCulture)])!;
            await kill.WaitForExitAsync();
        }

        using (var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(15)))
        {
            try
            {
                await daemon.WaitForExitAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                daemon.Kill();
                await daemon.WaitForExitAsync();
            }
        }

        daemon.Dispose();
    }

    /// <summary>
    /// Asks the running daemon for KEY over a connection of its own, as Postfix does (netstring <c>postfix KEY</c>);
    /// returns the reply and how long it took. Bounded by <paramref name="within"/>, so a stall fails instead of hanging.
    /// </summary>
    public async Task<(string Reply, TimeSpan Elapsed)> AskDaemonAsync(string key, TimeSpan within)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        deadline.CancelAfter(within);
        using var client = new TcpClient { NoDelay = true };
        await client.ConnectAsync(IPAddress.Loopback, Port, deadline.Token);
        var stream = client.GetStream();
        var payload = Encoding.UTF8.GetBytes("postfix " + key);
        var clock = Stopwatch.StartNew();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(payload.Length.ToString(CultureInfo.InvariantCulture) + ":").Concat(payload).Append((byte)',').ToArray(), deadline.Token);
        var received = new List<byte>();
        var chunk = new byte[4096];
        try
        {
            while (true)
            {
                var colon = received.IndexOf((byte)':');
                if (colon > 0 && int.TryParse(Encoding.ASCII.GetString([.. received.Take(colon)]), NumberStyles.None, CultureInfo.InvariantCulture, out var length)
                    && received.Count >= colon + 1 + length + 1)
                {
                    Assert.Equal((byte)',', received[colon + 1 + length]);
                    return (Encoding.UTF8.GetString([.. received.Skip(colon + 1).Take(length)]), clock.Elapsed);
                }

                var n = await stream.ReadAsync(chunk, deadline.Token);
                Assert.True(n > 0, $"the daemon closed the connection without answering {key}");
                received.AddRange(chunk.AsSpan(0, n));
            }
        }
        catch (OperationCanceledException) when (!TestContext.Current.CancellationToken.IsCancellationRequested)
        {
            Assert.Fail($"the daemon did not answer {key} within {within.TotalSeconds} s (stalled)\n{DaemonOutput()}");
            throw;
        }
    }

    /// <summary>The .eml the MX receiver wrote for this token, polled every 100 ms.</summary>
    public static async Task<string?> ReceivedAsync(string mxHost, string token, TimeSpan within)
    {
        var dir = Path.Combine(PostfixLab.State, "mail", mxHost);
        var deadline = DateTime.UtcNow + within;
        do
        {
            if (Directory.Exists(dir))
            {
                foreach (var file in Directory.GetFiles(dir, "*.eml"))
                {
                    var text = await File.ReadAllTextAsync(file, TestContext.Current.CancellationToken);
                    if (text.Contains(token, StringComparison.Ordinal))
                    {
                        return text;
                    }
                }
            }

            await Task.Delay(100, TestContext.Current.CancellationToken);
        }
        while (DateTime.UtcNow < deadline);
        return null;
    }

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
}

[Trait("Category", "integration")]
public sealed class PostfixAttackTests(PostfixLab postfix) : IClassFixture<PostfixLab>
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private static string Token() => "tok" + Guid.NewGuid().ToString("N");

    private static Task<string?> ReceivedAsync(string mxHost, string token, TimeSpan within) => PostfixLab.ReceivedAsync(mxHost, token, within);

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

    private const string AttackerAddress = "127.0.1.52";
    private const string AttackerHost = "mx.mitm-attacker.test";

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

    private static string MitmLogPath => Path.Combine(PostfixLab.State, "log", "mitm.log");

    private static long MitmLogLength() => File.Exists(MitmLogPath) ? new FileInfo(MitmLogPath).Length : 0;

    /// <summary>
    /// No receiver of RECEIVERS got the token, the MitM's captures of MITMHOST hold no token, and the MitM's log since
    /// FROM shows it was contacted in MODE and never saw a DATA command.
    /// </summary>
    private static async Task AssertNothingInClearAsync(string token, long from, string mitmHost, string mode, params string[] receivers)
    {
        foreach (var receiver in receivers)
        {
            Assert.Null(await ReceivedAsync(receiver, token, TimeSpan.Zero));
        }

        var captures = Path.Combine(PostfixLab.State, "mitm", "capture", mitmHost);
        foreach (var file in Directory.Exists(captures) ? Directory.GetFiles(captures) : [])
        {
            Assert.DoesNotContain(token, await File.ReadAllTextAsync(file, TestContext.Current.CancellationToken), StringComparison.Ordinal);
        }

        string recent;
        using (var stream = new FileStream(MitmLogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite))
        {
            stream.Seek(from, SeekOrigin.Begin);
            using var reader = new StreamReader(stream);
            recent = await reader.ReadToEndAsync(TestContext.Current.CancellationToken);
        }

        var ours = recent.Split('\n').Where(l => l.Contains($" close mode={mode} host={mitmHost} ", StringComparison.Ordinal)).ToList();
        Assert.True(ours.Count > 0, $"the attacker ({mode}, {mitmHost}) was never contacted:\n{recent}");
        Assert.DoesNotContain(ours, l => l.Contains(" data=yes ", StringComparison.Ordinal));
    }

    private static async Task WithMitmAsync(string mxAddress, string mode, Func<Task> body)
    {
        var file = Path.Combine(PostfixLab.State, "mitm", "mode", mxAddress);
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        await File.WriteAllTextAsync(file, mode + "\n", TestContext.Current.CancellationToken);
        try
        {
            await body();
        }
        finally
        {
            File.Delete(file);
        }
    }
}
