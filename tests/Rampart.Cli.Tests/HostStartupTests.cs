using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Rampart.Tests.Shared;

namespace Rampart.Cli.Tests;

/// <summary>
/// Start-up and operator errors of the long-running verbs (daemon, serve, check --watch), as an operator sees them: the
/// real executable, a port really held, a real unprivileged user. Each is ONE line on stderr naming the address or
/// directory, the cause and the fix; a non-zero exit code; never a stack trace or a framework log line.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed partial class HostStartupTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("rampart-startup-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string State => Path.Combine(_dir, "state");

    private static string OneErrorLine(CliResult result)
    {
        Assert.NotEqual(0, result.ExitCode);
        Assert.False(CliRunner.HasStackTrace(result), result.ToString());
        Assert.DoesNotContain("Exception", result.Stdout + result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Hosting failed", result.Stdout + result.Stderr, StringComparison.Ordinal);
        return Assert.Single(result.Stderr.Trim().Split('\n'));
    }

    private static TcpListener Hold()
    {
        var busy = new TcpListener(IPAddress.Loopback, 0);
        busy.Start();
        return busy;
    }

    [Fact]
    public async Task Daemon_ListenAddressInUse_OneLineNamingAddressCauseAndFix()
    {
        using var busy = Hold();
        var address = busy.LocalEndpoint.ToString()!;

        var result = await CliRunner.RunAsync(["daemon", "--listen", address, "--state-dir", State, "--resolver", "127.0.0.1:9"], null, TimeSpan.FromSeconds(60));

        Assert.Equal(2, result.ExitCode);
        Assert.Equal($"rampart: daemon: cannot listen on {address}: address already in use (another rampart daemon or postfix-mta-sts-resolver?); " +
                     "stop what holds it or choose another address with --listen", OneErrorLine(result));
        Assert.Empty(result.Stdout);
    }

    [Fact]
    public async Task Daemon_MetricsAddressInUse_NamesTheMetricsAddressNotTheSocketmapOne()
    {
        using var busy = Hold();
        var metrics = busy.LocalEndpoint.ToString()!;
        var listen = $"127.0.0.1:{LoopbackPort.Free()}";

        var result = await CliRunner.RunAsync(["daemon", "--listen", listen, "--metrics", metrics, "--state-dir", State, "--resolver", "127.0.0.1:9"], null, TimeSpan.FromSeconds(60));

        var line = OneErrorLine(result);
        Assert.StartsWith($"rampart: daemon: cannot listen on {metrics}: address already in use", line, StringComparison.Ordinal);
        Assert.EndsWith("choose another address with --metrics", line, StringComparison.Ordinal);
        Assert.DoesNotContain(listen, line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Daemon_NotRootOnPort25_PermissionDeniedNamingTheCapabilityAndUser()
    {
        Assert.SkipUnless(Unprivileged.CanSwitchUser, "needs root to run rampart as nobody (test.sh runs the tests as root)");
        var state = Unprivileged.SharedDirectory();
        try
        {
            var result = await CliRunner.RunUnderAsync(Unprivileged.Launcher(Unprivileged.Nobody, state),
                ["daemon", "--listen", "127.0.0.1:25", "--state-dir", state, "--resolver", "127.0.0.1:9"], null, TimeSpan.FromSeconds(60));

            var line = OneErrorLine(result);
            Assert.StartsWith("rampart: daemon: cannot listen on 127.0.0.1:25: permission denied", line, StringComparison.Ordinal);
            Assert.Contains("CAP_NET_BIND_SERVICE", line, StringComparison.Ordinal);
            Assert.Contains("setcap", line, StringComparison.Ordinal);
            Assert.Contains("AmbientCapabilities=", line, StringComparison.Ordinal);
            Assert.Contains("--user", line, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(state, recursive: true);
        }
    }

    [Fact]
    public async Task Daemon_StateDirectoryNotWritable_OneLineNamingTheDirectoryAndTheFix()
    {
        Assert.SkipUnless(Unprivileged.CanSwitchUser, "needs root to run rampart as nobody (test.sh runs the tests as root)");
        Directory.CreateDirectory(State);
        File.SetUnixFileMode(_dir, (UnixFileMode)0b111_101_101);
        File.SetUnixFileMode(State, (UnixFileMode)0b111_101_101); // root's, not writable by nobody

        var result = await CliRunner.RunUnderAsync(Unprivileged.Launcher(Unprivileged.Nobody, "/tmp"),
            ["daemon", "--listen", $"127.0.0.1:{LoopbackPort.Free()}", "--state-dir", State, "--resolver", "127.0.0.1:9"], null, TimeSpan.FromSeconds(60));

        Assert.Equal($"rampart: daemon: state directory {State} is not writable by user nobody (uid 65534): permission denied; " +
                     $"give it to that user (chown 65534 {State}; mode 0700) or choose another with --state-dir DIR", OneErrorLine(result));
    }

    [Fact]
    public async Task Daemon_NoHomeAndNotRoot_OneLineSayingHowToChooseAStateDirectory()
    {
        Assert.SkipUnless(Unprivileged.CanSwitchUser, "needs root to run rampart as a user without a home (test.sh runs the tests as root)");
        const int noPasswdEntry = 54321;

        var result = await CliRunner.RunUnderAsync(Unprivileged.Launcher(noPasswdEntry, home: null),
            ["daemon", "--listen", $"127.0.0.1:{LoopbackPort.Free()}", "--resolver", "127.0.0.1:9"], null, TimeSpan.FromSeconds(60));

        var line = OneErrorLine(result);
        Assert.StartsWith("rampart: no state directory: not running as root, and neither $STATE_DIRECTORY, $XDG_STATE_HOME nor $HOME", line, StringComparison.Ordinal);
        Assert.Contains("--state-dir DIR", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_ListenAddressInUse_OneLineNamingAddressCauseAndFix()
    {
        using var busy = Hold();
        var address = busy.LocalEndpoint.ToString()!;
        var config = await ServeConfigAsync(_dir, address);

        var result = await CliRunner.RunAsync(["serve", "--config", config, "--no-reports"], null, TimeSpan.FromSeconds(60));

        Assert.Equal(2, result.ExitCode);
        Assert.Equal($"rampart: serve: cannot listen on {address}: address already in use (another web server on this host?); " +
                     "stop what holds it or choose another address with --listen", OneErrorLine(result));
    }

    [Fact]
    public async Task Serve_NotRootOnPort443_PermissionDeniedNamingAddressCapabilityAndUser()
    {
        Assert.SkipUnless(Unprivileged.CanSwitchUser, "needs root to run rampart as nobody (test.sh runs the tests as root)");
        var config = await ServeConfigAsync(_dir, "127.0.0.1:443");
        File.SetUnixFileMode(_dir, (UnixFileMode)0b111_101_101);

        var result = await CliRunner.RunUnderAsync(Unprivileged.Launcher(Unprivileged.Nobody, "/tmp"),
            ["serve", "--config", config, "--no-reports"], null, TimeSpan.FromSeconds(60));

        var line = OneErrorLine(result);
        Assert.StartsWith("rampart: serve: cannot listen on 127.0.0.1:443: permission denied", line, StringComparison.Ordinal);
        Assert.Contains("CAP_NET_BIND_SERVICE", line, StringComparison.Ordinal);
        Assert.Contains("--user USER", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_UserOption_BindsAsRootThenRunsAsThatUser()
    {
        Assert.SkipUnless(Unprivileged.CanSwitchUser, "needs root to start serve as root and drop to nobody (test.sh runs the tests as root)");
        var port = LoopbackPort.Free();
        var config = await ServeConfigAsync(_dir, $"127.0.0.1:{port}");

        await using var serve = RampartProcess.Start(["serve", "--config", config, "--state-dir", State, "--user", "nobody"],
            ["dotnet", Unprivileged.ReadableRampartDll]);
        await serve.WaitForLineAsync(l => l.Contains("serve: running as nobody (uid 65534, gid 65534)", StringComparison.Ordinal), TimeSpan.FromSeconds(60));

        var status = await File.ReadAllLinesAsync($"/proc/{serve.Id}/status", TestContext.Current.CancellationToken);
        Assert.Contains("Uid:\t65534\t65534\t65534\t65534", status);
        Assert.Contains("Gid:\t65534\t65534\t65534\t65534", status);
        Assert.Equal(Unprivileged.Nobody, Owner(State));
        Assert.Equal(0, await serve.StopAsync());
    }

    [Fact]
    public async Task Serve_GroupWithoutUser_OneLine()
    {
        var result = await CliRunner.RunAsync(["serve", "--config", await ServeConfigAsync(_dir, "127.0.0.1:0"), "--group", "nogroup"], null, TimeSpan.FromSeconds(60));

        Assert.Equal("rampart: serve: --group needs --user", OneErrorLine(result));
    }

    [Fact]
    public async Task Daemon_FirstLogLine_SaysEveryAddressInTheOneFormat()
    {
        var (listen, metrics) = (LoopbackPort.Free(), LoopbackPort.Free());
        await using var daemon = RampartProcess.Start(["daemon", "--listen", $"127.0.0.1:{listen}", "--metrics", $"127.0.0.1:{metrics}",
            "--state-dir", State, "--resolver", "127.0.0.1:9"]);
        await daemon.WaitForLineAsync(l => l.Contains("listening on", StringComparison.Ordinal), TimeSpan.FromSeconds(60));

        Assert.Matches(LogLine(), daemon.Lines[0]);
        Assert.Contains($" info daemon: rampart daemon listening on 127.0.0.1:{listen}; metrics http://127.0.0.1:{metrics}/metrics; ", daemon.Lines[0], StringComparison.Ordinal);
        Assert.Matches(@"; at most \d+ connections at once$", daemon.Lines[0]);
        await WaitUntilServingAsync($"http://127.0.0.1:{metrics}/metrics"); // /metrics serves: the host has started
        Assert.Equal(0, await daemon.StopAsync());
        Assert.All(daemon.Lines, l => Assert.Matches(LogLine(), l));
        Assert.DoesNotContain(daemon.Lines, l => l.Contains("Rampart.", StringComparison.Ordinal));
    }

    /// <summary>
    /// A stop signal at any point of start-up (before the runtime has loaded the verb, while the store opens, while the
    /// listeners bind) is a clean stop: exit 0, as after start-up. Before the stop signal was owned from Main's first
    /// line, the early points ended 143 (the runtime's default) or 1 (System.CommandLine's silent cancellation). A signal
    /// before the runtime has started managed code at all still ends 143 (systemd counts that as a clean stop too).
    /// </summary>
    [Theory]
    [InlineData("daemon", 60)]
    [InlineData("daemon", 120)]
    [InlineData("daemon", 180)]
    [InlineData("daemon", 250)]
    [InlineData("daemon", 400)]
    [InlineData("serve", 100)]
    [InlineData("serve", 250)]
    public async Task StopSignal_WhileStarting_ExitsZero(string verb, int afterMilliseconds)
    {
        var port = LoopbackPort.Free();
        string[] args = verb == "daemon"
            ? ["daemon", "--listen", $"127.0.0.1:{port}", "--state-dir", State, "--resolver", "127.0.0.1:9"]
            : ["serve", "--config", await ServeConfigAsync(_dir, $"127.0.0.1:{port}"), "--no-reports"];
        await using var service = RampartProcess.Start(args);
        await MainHasStartedAsync(service.Id);
        await Task.Delay(afterMilliseconds, TestContext.Current.CancellationToken); // a point in start-up, not a wait for something

        Assert.Equal(0, await service.StopAsync());
        Assert.False(service.Lines.Any(l => l.Contains("Exception", StringComparison.Ordinal)), string.Join('\n', service.Lines));
    }

    /// <summary>
    /// Waits (at most 10 s) until the process runs Main: its first line registers the stop signal, which maps
    /// System.Runtime.InteropServices.dll (PosixSignalRegistration). Before that, the runtime is still starting and a
    /// SIGTERM ends it with 143 by design; counting the test's delay from there made it depend on the machine's load
    /// (60 ms after the process started was sometimes before Main).
    /// </summary>
    private static async Task MainHasStartedAsync(int pid)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!File.ReadAllText($"/proc/{pid}/maps").Contains("System.Runtime.InteropServices.dll", StringComparison.Ordinal))
        {
            Assert.True(DateTime.UtcNow < deadline, "the process did not reach Main within 10 s");
            await Task.Delay(2, TestContext.Current.CancellationToken);
        }
    }

    /// <summary>A one-shot verb stopped by a signal while it waits (here for a resolver that never answers) exits 130, at once.</summary>
    [Fact]
    public async Task StopSignal_OneShotVerbWaiting_ExitsInterrupted()
    {
        using var silent = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        await using var check = RampartProcess.Start(["check", "example.org", "--resolver", silent.Client.LocalEndPoint!.ToString()!, "--timeout", "60"]);
        await Task.Delay(1500, TestContext.Current.CancellationToken); // well into the first query

        var stopped = System.Diagnostics.Stopwatch.StartNew();
        Assert.Equal(130, await check.StopAsync());
        Assert.True(stopped.Elapsed < TimeSpan.FromSeconds(5), $"took {stopped.Elapsed}");
    }

    [Fact]
    public async Task Serve_FirstLogLine_SaysEveryAddressWithATimestamp()
    {
        var port = LoopbackPort.Free();
        await using var serve = RampartProcess.Start(["serve", "--config", await ServeConfigAsync(_dir, $"127.0.0.1:{port}"), "--no-reports", "--log-level", "debug"]);
        await serve.WaitForLineAsync(l => l.Contains("listening on", StringComparison.Ordinal), TimeSpan.FromSeconds(60));

        Assert.Matches(LogLine(), serve.Lines[0]);
        Assert.Contains($" info serve: rampart serve listening on https://127.0.0.1:{port}; 1 domain(s) (mta-sts.example.test); TLS-RPT reports off; at most ", serve.Lines[0], StringComparison.Ordinal);
        Assert.Matches(@"; at most \d+ connections at once$", serve.Lines[0]);
        Assert.Equal(0, await serve.StopAsync());
    }

    [Fact]
    public async Task Watch_LogLines_TheOneFormatFirstSayingWhatItWatches_ResolverDownSaidOnce()
    {
        var domains = Path.Combine(_dir, "domains.txt");
        await File.WriteAllTextAsync(domains, "example.org\n", TestContext.Current.CancellationToken);

        var result = await CliRunner.RunAsync(["check", "--watch", domains, "--once", "--state-dir", State, "--resolver", "127.0.0.1:9", "--timeout", "2"],
            null, TimeSpan.FromSeconds(60));

        var lines = result.Stdout.Trim().Split('\n');
        var verdict = Array.FindIndex(lines, l => l.StartsWith("Verdict for ", StringComparison.Ordinal));
        Assert.True(verdict > 0, result.ToString());
        Assert.All(lines[..verdict], l => Assert.Matches(LogLine(), l));
        Assert.Contains($" info watch: rampart check --watch: 1 domains from {domains}; ", lines[0], StringComparison.Ordinal);
        // The resolver given is a dead port: the round is not judged (one warn line, nothing appeared), and --once says UNKNOWN.
        Assert.Contains(lines, l => l.Contains(" warn watch: round 1: the local resolver 127.0.0.1:9 does not answer", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.Contains(": appeared ", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("UNKNOWN: the local resolver 127.0.0.1:9 does not answer", StringComparison.Ordinal));
        Assert.StartsWith("1 domain(s): ", lines[^1], StringComparison.Ordinal); // --once ends with the verdict
        Assert.Equal(3, result.ExitCode);
    }

    [Fact]
    public async Task LogLevel_UnknownWord_OneLineListingTheLevels()
    {
        var result = await CliRunner.RunAsync("daemon", "--log-level", "loud", "--check-config");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--log-level 'loud' is not a log level: use one of trace, debug, info, warn, error", result.Stderr, StringComparison.Ordinal);
    }

    /// <summary><c>TIMESTAMP LEVEL component: message</c>: UTC ISO-8601 with milliseconds, a short level word, a short component name.</summary>
    [GeneratedRegex(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (trace|debug|info|warn|error|crit) [a-z][a-z-]*: \S")]
    private static partial Regex LogLine();

    private static int Owner(string path)
    {
        using var stat = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("stat", ["-c", "%u", path]) { RedirectStandardOutput = true })!;
        var text = stat.StandardOutput.ReadToEnd().Trim();
        stat.WaitForExit();
        return int.Parse(text, System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>A publish YAML serving mta-sts.example.test on <paramref name="listen"/>, with a self-signed certificate every user can read.</summary>
    internal static async Task<string> ServeConfigAsync(string dir, string listen)
    {
        await SelfSignedLineage.WriteAsync(Path.Combine(dir, "live", "mta-sts.example.test"), "mta-sts.example.test", TestContext.Current.CancellationToken);
        var config = Path.Combine(dir, "publish.yml");
        await File.WriteAllTextAsync(config, $"domain: example.test\nmx: mx.example.test\nserve:\n  listen: [\"{listen}\"]\n  certificates: {dir}/live\n",
            TestContext.Current.CancellationToken);
        using var chmod = System.Diagnostics.Process.Start("chmod", ["-R", "a+rX", dir])!;
        await chmod.WaitForExitAsync(TestContext.Current.CancellationToken);
        return config;
    }

    /// <summary>Waits (bounded) until <paramref name="url"/> answers: the host has finished starting.</summary>
    internal static async Task WaitUntilServingAsync(string url)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            try
            {
                using var response = await http.GetAsync(url, TestContext.Current.CancellationToken);
                return;
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(50, TestContext.Current.CancellationToken);
            }
        }
    }
}
