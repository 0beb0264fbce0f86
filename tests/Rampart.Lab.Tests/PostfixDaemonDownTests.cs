using System.Diagnostics;
using System.Globalization;

namespace Rampart.Lab.Tests;

/// <summary>
/// What the real Postfix (3.7, the lab's) does when <c>rampart daemon</c> is not answering: (1) stopped, nothing
/// listening on the socketmap address; (2) stopped while something holds the listening socket, as
/// rampart-daemon.socket does while systemd restarts the service (<c>Restart=always</c>). A Postfix instance and daemon
/// of this class's own (<see cref="PostfixLab"/>); docs/postfix.md "When the daemon is down" cites these results.
/// </summary>
[Trait("Category", "integration")]
public sealed class PostfixDaemonDownTests(PostfixLab postfix) : IClassFixture<PostfixLab>
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private static string Token() => "tok" + Guid.NewGuid().ToString("N");

    /// <summary>
    /// Nothing listening: Postfix does not fall back to opportunistic TLS. Every message is deferred, for a domain with an
    /// MTA-STS policy and for one with no policy at all ("policy table lookup error"), nothing reaches an MX, and once the
    /// daemon is back a flush delivers both, the policy domain over verified TLS.
    /// </summary>
    [Fact]
    public async Task DaemonStopped_EveryDomainDeferred_DeliveredOnceItIsBack()
    {
        Lab.RequireLab();
        var (policy, none) = (Token(), Token());
        await postfix.StopDaemonAsync();
        try
        {
            await postfix.RunAsync("send", "user@sts-enforce.test", policy);
            await postfix.RunAsync("send", "user@nosts.test", none);
            var policyWhy = await postfix.DeferredAsync("user@sts-enforce.test", Bound);
            var noneWhy = await postfix.DeferredAsync("user@nosts.test", Bound);

            TestContext.Current.TestOutputHelper?.WriteLine($"daemon stopped: sts-enforce.test deferred: {policyWhy}; nosts.test deferred: {noneWhy}\n" +
                string.Join('\n', postfix.Log().Split('\n').Where(l => l.Contains("lookup error", StringComparison.Ordinal) || l.Contains("status=deferred", StringComparison.Ordinal)).Take(4)));
            Assert.Null(await LabAttacks.ReceivedAsync("mx.sts-enforce.test", policy, TimeSpan.Zero));
            Assert.Null(await LabAttacks.ReceivedAsync("mx.nosts.test", none, TimeSpan.Zero));
            Assert.Contains(postfix.Log().Split('\n'), l => l.Contains("\"sts-enforce.test\": policy table lookup error", StringComparison.Ordinal));
            Assert.Contains(postfix.Log().Split('\n'), l => l.Contains("\"nosts.test\": policy table lookup error", StringComparison.Ordinal));
        }
        finally
        {
            await postfix.StartDaemonAsync(postfix.DefaultDaemonState);
        }

        await postfix.RunAsync("flush");
        Assert.NotNull(await LabAttacks.ReceivedAsync("mx.sts-enforce.test", policy, Bound));
        Assert.NotNull(await LabAttacks.ReceivedAsync("mx.nosts.test", none, Bound));
        Assert.Contains("Verified TLS connection established to mx.sts-enforce.test", postfix.Log(), StringComparison.Ordinal);
    }

    /// <summary>
    /// The socket held across a restart (systemd-socket-activate holds it, as the socket unit does; a shell loop restarts
    /// the daemon on it, as <c>Restart=</c> does): a message sent while no daemon runs is not deferred. Postfix's lookup
    /// connects (the kernel queues the connection), waits for the answer, and gets it from the next daemon: delivered
    /// over verified TLS, with no lookup error in Postfix's log.
    /// </summary>
    [Fact]
    public async Task SocketHeldWhileDaemonRestarts_LookupWaits_Delivered()
    {
        Lab.RequireLab();
        await postfix.StopDaemonAsync();
        var dir = Directory.CreateTempSubdirectory("rampart-held").FullName;
        var (pidFile, go) = (Path.Combine(dir, "daemon.pid"), Path.Combine(dir, "go"));
        var tool = new[] { "/usr/bin/systemd-socket-activate", "/bin/systemd-socket-activate" }.FirstOrDefault(File.Exists);
        Assert.True(tool is not null, "systemd-socket-activate not found: apt-get install systemd");
        // every start: the daemon's pid written, LISTEN_PID made its own (sd_listen_fds checks it); after an exit, the
        // next start waits for the test's `go` file, so the test decides how long the socket is held with no daemon
        const string Loop = """
            while :; do
              sh -c 'echo $$ > "$PIDFILE"; export LISTEN_PID=$$; exec "$@"' daemon "$@"
              until [ -e "$GO" ]; do sleep 0.05; done; rm -f "$GO"
            done
            """;
        var info = new ProcessStartInfo(tool) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in (string[])["-l", $"127.0.0.1:{postfix.Port}", "-E", "PATH", "-E", "HOME", "-E", "SSL_CERT_FILE", "-E", "PIDFILE=" + pidFile,
                     "-E", "GO=" + go, "/bin/sh", "-c", Loop, "holder", "dotnet", Rampart.Tests.Shared.CliRunner.RampartDll, "daemon",
                     "--state-dir", postfix.DefaultDaemonState])
        {
            info.ArgumentList.Add(arg);
        }
        using var holder = Process.Start(info)!;
        var output = new System.Collections.Concurrent.ConcurrentQueue<string>();
        holder.OutputDataReceived += (_, e) => output.Enqueue(e.Data ?? "");
        holder.ErrorDataReceived += (_, e) => output.Enqueue(e.Data ?? "");
        holder.BeginOutputReadLine();
        holder.BeginErrorReadLine();
        try
        {
            // systemd-socket-activate binds first; then the first daemon answers on the held socket
            var bound = DateTime.UtcNow + Bound;
            while (!await ListeningAsync(postfix.Port))
            {
                Assert.True(DateTime.UtcNow < bound && !holder.HasExited, $"nothing listened on 127.0.0.1:{postfix.Port}:\n{string.Join('\n', output)}");
                await Task.Delay(100, TestContext.Current.CancellationToken);
            }
            var (first, _) = await postfix.AskDaemonAsync("sts-enforce.test", TimeSpan.FromSeconds(60));
            Assert.Equal("OK secure match=mx.sts-enforce.test servername=hostname", first);
            var firstPid = await File.ReadAllTextAsync(pidFile, TestContext.Current.CancellationToken);
            await KillAsync(firstPid);

            // no daemon now; the socket stays open
            var token = Token();
            var logBefore = postfix.Log().Length;
            await postfix.RunAsync("send", "user@sts-enforce.test", token);
            await Task.Delay(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);
            var queued = await postfix.QueueAsync();
            TestContext.Current.TestOutputHelper?.WriteLine($"5 s with the socket held and no daemon: queue {string.Join("; ", queued)}");
            Assert.False(queued.TryGetValue("user@sts-enforce.test", out var why) && why.Length > 0, $"deferred while the socket was held: {why}");
            Assert.Null(await LabAttacks.ReceivedAsync("mx.sts-enforce.test", token, TimeSpan.Zero));

            // the restarted daemon takes the waiting connection and answers it
            var clock = Stopwatch.StartNew();
            await File.WriteAllTextAsync(go, "", TestContext.Current.CancellationToken);
            var eml = await LabAttacks.ReceivedAsync("mx.sts-enforce.test", token, Bound);
            TestContext.Current.TestOutputHelper?.WriteLine($"delivered {clock.Elapsed.TotalSeconds:0.0} s after the daemon was started again");

            Assert.True(eml is not null, $"not delivered after the restart:\n{postfix.Log()[logBefore..]}\n{string.Join('\n', output)}");
            var since = postfix.Log()[logBefore..];
            Assert.Contains("Verified TLS connection established to mx.sts-enforce.test", since, StringComparison.Ordinal);
            Assert.DoesNotContain("lookup error", since, StringComparison.Ordinal);
        }
        finally
        {
            if (File.Exists(pidFile))
            {
                await KillAsync(await File.ReadAllTextAsync(pidFile, TestContext.Current.CancellationToken));
            }
            holder.Kill();
            await holder.WaitForExitAsync(TestContext.Current.CancellationToken);
            Directory.Delete(dir, recursive: true);
            await postfix.StartDaemonAsync(postfix.DefaultDaemonState);
        }
    }

    private static async Task<bool> ListeningAsync(int port)
    {
        using var probe = new System.Net.Sockets.TcpClient();
        try
        {
            await probe.ConnectAsync(System.Net.IPAddress.Loopback, port, TestContext.Current.CancellationToken);
            return true;
        }
        catch (System.Net.Sockets.SocketException)
        {
            return false;
        }
    }

    /// <summary>SIGTERM to one daemon process, waited for (at most 15 s).</summary>
    private static async Task KillAsync(string pid)
    {
        var id = int.Parse(pid.Trim(), CultureInfo.InvariantCulture);
        using var daemon = Process.GetProcessById(id);
        using (var kill = Process.Start("kill", ["-TERM", id.ToString(CultureInfo.InvariantCulture)])!)
        {
            await kill.WaitForExitAsync();
        }
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        await daemon.WaitForExitAsync(deadline.Token);
    }
}
