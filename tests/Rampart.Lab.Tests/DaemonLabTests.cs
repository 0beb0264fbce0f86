using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Rampart.Tests.Shared;

namespace Rampart.Lab.Tests;

/// <summary><c>rampart daemon</c> as Postfix sees it: a real process answering the socketmap protocol in the lab.</summary>
[Trait("Category", "integration")]
public sealed class DaemonLabTests : IAsyncDisposable
{
    private readonly string _state = Directory.CreateTempSubdirectory("rampart-daemon").FullName;
    private Process? _daemon;
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _output = new();
    private TaskCompletionSource _nextLine = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Keeps a line of the daemon's output and wakes whoever waits for one.</summary>
    private void Output(string? line)
    {
        _output.Enqueue(line ?? "");
        Interlocked.Exchange(ref _nextLine, new(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        Directory.Delete(_state, recursive: true);
    }


    private Task<int> StartAsync(params string[] extra) => StartFromAsync(Rampart.Tests.Shared.CliRunner.RampartDll, extra);

    private async Task<int> StartFromAsync(string rampartDll, params string[] extra)
    {
        Lab.RequireLab();
        var port = LoopbackPort.Free();
        var info = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in (string[])[rampartDll, "daemon", "--listen", $"127.0.0.1:{port}", "--state-dir", _state, .. extra])
        {
            info.ArgumentList.Add(arg);
        }
        _daemon = Process.Start(info)!;
        _daemon.OutputDataReceived += (_, e) => Output(e.Data);
        _daemon.ErrorDataReceived += (_, e) => Output(e.Data);
        _daemon.BeginOutputReadLine();
        _daemon.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, port);
                return port;
            }
            catch (SocketException)
            {
                await Task.Delay(100);
            }
        }
        throw new TimeoutException("rampart daemon did not start listening within 20 s; its output:\n" + string.Join('\n', _output));
    }

    /// <summary>SIGTERM, then the exit code (null when nothing ran).</summary>
    private async Task<int?> StopAsync()
    {
        int? exitCode = null;
        if (_daemon is { } daemon)
        {
            if (!daemon.HasExited)
            {
                Process.Start("kill", ["-TERM", daemon.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!.WaitForExit();
            }
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            await daemon.WaitForExitAsync(deadline.Token);
            exitCode = daemon.ExitCode;
            daemon.Dispose();
        }
        _daemon = null;
        return exitCode;
    }

    private static Task<string[]> QueryAsync(int port, params string[] keys) => QueryZoneAsync(port, "postfix", keys);

    private static async Task<string[]> QueryZoneAsync(int port, string zone, params string[] keys)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port);
        var stream = client.GetStream();
        var request = new StringBuilder();
        foreach (var key in keys)
        {
            var payload = zone + " " + key;
            request.Append(Encoding.UTF8.GetByteCount(payload)).Append(':').Append(payload).Append(',');
        }
        await stream.WriteAsync(Encoding.UTF8.GetBytes(request.ToString()));
        var replies = new List<string>();
        var buffer = new List<byte>();
        var chunk = new byte[65536];
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (replies.Count < keys.Length)
        {
            var read = await stream.ReadAsync(chunk, deadline.Token);
            Assert.True(read > 0, "the daemon closed the connection");
            buffer.AddRange(chunk.AsSpan(0, read).ToArray());
            while (true)
            {
                var colon = buffer.IndexOf((byte)':');
                if (colon < 0)
                {
                    break;
                }
                var length = int.Parse(Encoding.ASCII.GetString(buffer.GetRange(0, colon).ToArray()), System.Globalization.CultureInfo.InvariantCulture);
                if (buffer.Count < colon + 1 + length + 1)
                {
                    break;
                }
                replies.Add(Encoding.UTF8.GetString(buffer.GetRange(colon + 1, length).ToArray()));
                Assert.Equal((byte)',', buffer[colon + 1 + length]);
                buffer.RemoveRange(0, colon + 1 + length + 1);
            }
        }
        return [.. replies];
    }

    [Fact]
    public async Task Daemon_AnswersEachKindOfDestinationInOrder()
    {
        var port = await StartAsync();

        var replies = await QueryAsync(port, "sts-enforce.test", "dane.test", "dane-partial.test", "bogus.test", "nosts.test", ".test", "[mx.dane.test]:25", "DANE.TEST.");

        Assert.Equal("OK secure match=mx.sts-enforce.test servername=hostname", replies[0]);
        Assert.Equal("OK dane-only", replies[1]);
        Assert.Equal("OK dane", replies[2]);
        Assert.StartsWith("TEMP ", replies[3], StringComparison.Ordinal);
        Assert.Equal("NOTFOUND ", replies[4]);
        Assert.Equal("NOTFOUND ", replies[5]);
        Assert.Equal("NOTFOUND ", replies[6]);
        Assert.Equal("OK dane-only", replies[7]);
    }

    [Fact]
    public async Task Daemon_RestartWithCachedPolicyAndResolverDown_EnforcesAtOnce()
    {
        var port = await StartAsync();
        Assert.Equal("OK secure match=mx.sts-enforce.test servername=hostname", (await QueryAsync(port, "sts-enforce.test"))[0]);
        await StopAsync();
        var silent = Lab.SilentResolver(out var listener);
        using var _ = listener;

        port = await StartAsync("--resolver", $"127.0.0.1:{silent.Port}");
        var clock = Stopwatch.StartNew();
        var reply = (await QueryAsync(port, "sts-enforce.test"))[0];

        Assert.Equal("OK secure match=mx.sts-enforce.test servername=hostname", reply);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"answered after {clock.Elapsed}");
    }

    [Fact]
    public async Task Daemon_RestartWithCachedWildcardPolicy_AnswersAsTightAsLive_AndLogsTheReplySent()
    {
        // mx: *.sts-wildcard.test covers mx.sts-wildcard.test, not a.mx.sts-wildcard.test (also an MX): the answer from
        // the policy cache must not widen to Postfix's any-depth .sts-wildcard.test, and its log line is the reply sent
        const string live = "OK secure match=mx.sts-wildcard.test servername=hostname";
        var port = await StartAsync();
        Assert.Equal(live, (await QueryAsync(port, "sts-wildcard.test"))[0]);
        await StopAsync();
        _output.Clear();

        port = await StartAsync();
        var reply = (await QueryAsync(port, "sts-wildcard.test"))[0];
        await WaitForLogAsync("sts-wildcard.test: mta-sts -> ", TimeSpan.FromSeconds(10));

        Assert.Equal(live, reply);
        var logged = _output.First(line => line.Contains("sts-wildcard.test: mta-sts -> ", StringComparison.Ordinal));
        Assert.Contains($"-> \"{reply}\" from the policy cache", logged, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Daemon_Metrics_CountLookupsByAnswerAndFetchesByClass()
    {
        var metricsPort = LoopbackPort.Free();
        var port = await StartAsync("--metrics", $"127.0.0.1:{metricsPort}");
        await QueryAsync(port, "sts-enforce.test", "sts-enforce.test", "sts-404.test");

        using var http = new HttpClient();
        var text = await http.GetStringAsync(new Uri($"http://127.0.0.1:{metricsPort}/metrics"), TestContext.Current.CancellationToken);

        Assert.Contains("rampart_lookups_total{policy=\"mta-sts\",answer=\"OK\"} 2", text, StringComparison.Ordinal);
        Assert.Contains("rampart_lookups_total{policy=\"none\",answer=\"NOTFOUND\"} 1", text, StringComparison.Ordinal);
        Assert.Contains("rampart_policy_fetches_total{result=\"http-status\"} 1", text, StringComparison.Ordinal);
        Assert.Contains("rampart_decision_cache_total{result=\"hit\"} 1", text, StringComparison.Ordinal);
        Assert.Contains("rampart_lookup_duration_seconds_count 3", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Daemon_SigTerm_StopsGracefully()
    {
        await StartAsync();

        var exitCode = await StopAsync();

        // The daemon handles SIGTERM itself and exits 0 after its last log line (System.CommandLine's forced exit 143
        // after 2 s no longer applies to services: RampartCommandLine.IsService).
        Assert.Equal(0, exitCode);
        Assert.Contains(_output, line => line.Contains("rampart daemon stopped after", StringComparison.Ordinal));
    }

    private async Task WaitForLogAsync(string text, TimeSpan within)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        deadline.CancelAfter(within);
        while (true)
        {
            var nextLine = Volatile.Read(ref _nextLine).Task; // taken before looking, so a line arriving meanwhile is not missed
            if (_output.Any(line => line.Contains(text, StringComparison.Ordinal)))
            {
                return;
            }
            try
            {
                await nextLine.WaitAsync(deadline.Token);
            }
            catch (OperationCanceledException) when (!TestContext.Current.CancellationToken.IsCancellationRequested)
            {
                Assert.Fail($"no log line with '{text}' within {within}; log:\n{string.Join('\n', _output)}");
            }
        }
    }

    private void Signal(string signal) =>
        Process.Start("kill", [$"-{signal}", _daemon!.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!.WaitForExit();

    [Fact]
    public async Task Daemon_SigHup_ReloadsZoneSettings()
    {
        var config = Path.Combine(_state, "rampart.yml");
        await File.WriteAllTextAsync(config, "zones:\n  rpt:\n    tlsrpt: false\n", TestContext.Current.CancellationToken);
        var port = await StartAsync("--config", config);
        Assert.Equal("OK secure match=mx.sts-enforce.test servername=hostname", (await QueryZoneAsync(port, "rpt", "sts-enforce.test"))[0]);

        await File.WriteAllTextAsync(config, "zones:\n  rpt:\n    tlsrpt: true\n", TestContext.Current.CancellationToken);
        Signal("HUP");
        await WaitForLogAsync("configuration reloaded", TimeSpan.FromSeconds(10));

        var reply = (await QueryZoneAsync(port, "rpt", "sts-enforce.test"))[0];
        Assert.StartsWith("OK secure match=mx.sts-enforce.test servername=hostname policy_type=sts policy_domain=sts-enforce.test policy_ttl=", reply, StringComparison.Ordinal);
        Assert.Contains(" mx_host_pattern=mx.sts-enforce.test ", reply, StringComparison.Ordinal);
        Assert.Contains("{ policy_string = mode: enforce }", reply, StringComparison.Ordinal);
        Assert.Equal("OK secure match=mx.sts-enforce.test servername=hostname", (await QueryAsync(port, "sts-enforce.test"))[0]);
    }

    [Fact]
    public async Task Daemon_SigHup_BrokenConfig_KeepsRunningWithTheOldOne()
    {
        var config = Path.Combine(_state, "rampart.yml");
        await File.WriteAllTextAsync(config, "zones:\n  rpt:\n    tlsrpt: true\n", TestContext.Current.CancellationToken);
        var port = await StartAsync("--config", config);

        await File.WriteAllTextAsync(config, "zones: [unclosed\n", TestContext.Current.CancellationToken);
        Signal("HUP");
        await WaitForLogAsync("reload failed, the running configuration stays", TimeSpan.FromSeconds(10));

        Assert.Contains("policy_type=sts", (await QueryZoneAsync(port, "rpt", "sts-enforce.test"))[0], StringComparison.Ordinal);
        Assert.False(_daemon!.HasExited);
    }

    [Fact]
    public async Task Daemon_ProactiveRefresh_ChecksCachedPoliciesWithoutLookups()
    {
        var config = Path.Combine(_state, "rampart.yml");
        // a sweep every second; a policy is checked again once its TXT id is a second old
        await File.WriteAllTextAsync(config, "proactive_policy_fetching:\n  enabled: true\n  interval: 2\n  grace_ratio: 2\n", TestContext.Current.CancellationToken);
        var metricsPort = LoopbackPort.Free();
        var port = await StartAsync("--config", config, "--metrics", $"127.0.0.1:{metricsPort}");
        await QueryAsync(port, "sts-enforce.test");

        await WaitForLogAsync("proactive refresh: 1 cached policies, 1 checked, 0 refetched, 0 failed", TimeSpan.FromSeconds(15));

        using var http = new HttpClient();
        var text = await http.GetStringAsync(new Uri($"http://127.0.0.1:{metricsPort}/metrics"), TestContext.Current.CancellationToken);
        Assert.Contains("rampart_lookups_total{policy=\"mta-sts\",answer=\"OK\"} 1", text, StringComparison.Ordinal);
        Assert.Contains("rampart_policy_fetches_total{result=\"ok\"} 1", text, StringComparison.Ordinal);
        Assert.DoesNotContain("rampart_proactive_refresh_total{result=\"checked\"} 0", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Daemon_User_DropsRootAfterBindingAndGivesItTheSocketAndState()
    {
        Assert.True(OperatingSystem.IsLinux() && Environment.IsPrivilegedProcess, "this test starts the daemon as root to prove it drops to nobody: run the lab tests as root (test.sh does)");
        // The daemon keeps loading assemblies after the drop, so it runs from a copy nobody can read (a fresh clone may
        // live in a 0700 directory).
        var bin = Directory.CreateTempSubdirectory("rampart-bin").FullName;
        try
        {
            foreach (var file in Directory.EnumerateFiles(AppContext.BaseDirectory, "*", SearchOption.AllDirectories)
                         .Where(f => f.EndsWith(".dll", StringComparison.Ordinal) || f.EndsWith(".so", StringComparison.Ordinal) || f.EndsWith(".json", StringComparison.Ordinal)))
            {
                var copy = Path.Combine(bin, Path.GetRelativePath(AppContext.BaseDirectory, file));
                Directory.CreateDirectory(Path.GetDirectoryName(copy)!);
                File.Copy(file, copy);
            }
            Process.Start("chmod", ["-R", "a+rX", bin])!.WaitForExit();
            var socket = Path.Combine(_state, "socketmap.sock");
            var port = await StartFromAsync(Path.Combine(bin, "rampart.dll"), "--user", "nobody", "--listen", $"unix:{socket}:0660", "--socket-owner", "nobody:nogroup");
            await WaitForLogAsync("running as nobody (uid 65534, gid 65534)", TimeSpan.FromSeconds(10));

            var status = await File.ReadAllLinesAsync($"/proc/{_daemon!.Id}/status", TestContext.Current.CancellationToken);
            Assert.Contains("Uid:\t65534\t65534\t65534\t65534", status);
            Assert.Contains("Gid:\t65534\t65534\t65534\t65534", status);
            Assert.Equal("OK secure match=mx.sts-enforce.test servername=hostname", (await QueryAsync(port, "sts-enforce.test"))[0]);
            Assert.Equal("OK dane-only", (await QueryAsync(port, "dane.test"))[0]);
            Assert.Equal("65534:65534 660", Stat(socket));
            Assert.Equal("65534:65534", Stat(_state).Split(' ')[0]);
            Assert.Equal("65534:65534", Stat(Path.Combine(_state, "policy-cache.sqlite")).Split(' ')[0]);
        }
        finally
        {
            await StopAsync();
            Directory.Delete(bin, recursive: true);
        }

        static string Stat(string path)
        {
            var stat = Process.Start(new ProcessStartInfo("stat", ["-c", "%u:%g %a", path]) { RedirectStandardOutput = true })!;
            var text = stat.StandardOutput.ReadToEnd().Trim();
            stat.WaitForExit();
            return text;
        }
    }

    [Fact]
    public async Task Daemon_RedisCache_SharedByTwoDaemons_SecondEnforcesWithDnsDown()
    {
        var binary = new[] { "/usr/bin/redis-server", "/usr/sbin/redis-server" }.FirstOrDefault(File.Exists);
        Assert.True(binary is not null, "redis-server not found: apt-get install redis-server");
        var socket = Path.Combine(_state, "redis.sock");
        using var redis = Process.Start(new ProcessStartInfo(binary, ["--port", "0", "--unixsocket", socket, "--save", "", "--appendonly", "no", "--dir", _state])
            { RedirectStandardOutput = true, RedirectStandardError = true })!;
        try
        {
            for (var i = 0; i < 100 && !File.Exists(socket); i++)
            {
                await Task.Delay(50, TestContext.Current.CancellationToken);
            }
            var config = Path.Combine(_state, "rampart.yml");
            await File.WriteAllTextAsync(config, $"cache:\n  type: redis\n  options:\n    url: unix://{socket}?db=0\n", TestContext.Current.CancellationToken);

            var port = await StartAsync("--config", config);
            Assert.Equal("OK secure match=mx.sts-enforce.test servername=hostname", (await QueryAsync(port, "sts-enforce.test"))[0]);
            Assert.Contains(_output, line => line.Contains($"policy cache unix://{socket}?db=0", StringComparison.Ordinal));
            await StopAsync();
            Assert.False(File.Exists(Path.Combine(_state, "policy-cache.sqlite")), "with a Redis cache no SQLite file is written");

            // another MTA of the fleet, with its resolver down: the policy the first one fetched holds
            var silent = Lab.SilentResolver(out var listener);
            using var _ = listener;
            port = await StartAsync("--config", config, "--resolver", $"127.0.0.1:{silent.Port}");
            Assert.Equal("OK secure match=mx.sts-enforce.test servername=hostname", (await QueryAsync(port, "sts-enforce.test"))[0]);

            // Redis goes away: answers keep coming (from the decision cache and this process's copy), never a crash
            redis.Kill();
            await redis.WaitForExitAsync(TestContext.Current.CancellationToken);
            Assert.Equal("OK secure match=mx.sts-enforce.test servername=hostname", (await QueryAsync(port, "sts-enforce.test"))[0]);
            Assert.False(_daemon!.HasExited);
        }
        finally
        {
            if (!redis.HasExited)
            {
                redis.Kill();
            }
        }
    }
}
