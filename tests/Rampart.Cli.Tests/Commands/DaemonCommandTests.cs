using Rampart.Tests.Shared;

namespace Rampart.Cli.Tests.Commands;

/// <summary><c>rampart daemon --config … --check-config</c>: postfix-mta-sts-resolver's file read as it is, errors named.</summary>
public sealed class DaemonCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("rampart-daemon-cfg").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Config(string yaml)
    {
        var path = Path.Combine(_dir, "mta-sts-daemon.yml");
        File.WriteAllText(path, yaml);
        return path;
    }

    /// <summary>An overrides file whose line 2 Postfix could never be given (a match list of about 154,000 bytes).</summary>
    private string OverridesTooLongForPostfix()
    {
        var path = Path.Combine(_dir, "overrides");
        File.WriteAllText(path, "example.net secure\nexample.org secure match=" + string.Join(':', Enumerable.Range(0, 7000).Select(i => $"mx{i:D4}.long.example.org")) + "\n");
        return path;
    }

    /// <summary>The start-up and --check-config read refuse it, one line naming the file, the line and the rule; before, every lookup for it answered TEMP.</summary>
    [Fact]
    public async Task CheckConfig_PinnedPolicyTooLongForPostfix_OneLineNamingFileAndLine()
    {
        var path = OverridesTooLongForPostfix();

        var result = await CliRunner.RunAsync("daemon", "--check-config", "--overrides", path, "--resolver", "127.0.0.1", "--state-dir", Path.Combine(_dir, "state"));

        Assert.Equal(2, result.ExitCode);
        var line = Assert.Single(result.Stderr.Trim().Split('\n'));
        Assert.StartsWith($"rampart: {path}:2 [example.org]: the reply to Postfix would be ", line, StringComparison.Ordinal);
        Assert.EndsWith("more than the 100000 a socketmap reply may have (socketmap_table(5)), so every lookup for example.org would answer TEMP; shorten its match= list",
            line, StringComparison.Ordinal);
        Assert.Empty(result.Stdout);
    }

    /// <summary>SIGHUP reads the same way: the reload is refused, naming the line, and the running policies stay.</summary>
    [Fact]
    public async Task SigHup_PinnedPolicyTooLongForPostfix_ReloadRefusedNamingTheLine()
    {
        var path = Path.Combine(_dir, "overrides");
        await File.WriteAllTextAsync(path, "example.net secure\n", TestContext.Current.CancellationToken);
        await using var daemon = RampartProcess.Start(["daemon", "--listen", $"127.0.0.1:{LoopbackPort.Free()}", "--overrides", path,
            "--state-dir", Path.Combine(_dir, "state"), "--resolver", "127.0.0.1:9"]);
        await daemon.WaitForLineAsync(l => l.Contains("listening on", StringComparison.Ordinal), TimeSpan.FromSeconds(60));

        OverridesTooLongForPostfix();
        using (var hup = System.Diagnostics.Process.Start("kill", ["-HUP", daemon.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await hup.WaitForExitAsync(TestContext.Current.CancellationToken);
        }

        var line = await daemon.WaitForLineAsync(l => l.Contains("reload", StringComparison.Ordinal), TimeSpan.FromSeconds(30));
        Assert.Contains($"reload failed, the running configuration stays: {path}:2 [example.org]: the reply to Postfix would be ", line, StringComparison.Ordinal);
        Assert.Equal(0, await daemon.StopAsync());
    }

    [Fact]
    public async Task CheckConfig_PeerSampleConfig_AcceptedWithItsZonesAndTimeout()
    {
        var path = Config("""
            host: 127.0.0.1
            port: 8461
            reuse_port: true
            shutdown_timeout: 20
            cache:
              type: internal
              options:
                cache_size: 10000
            default_zone:
              strict_testing: false
              timeout: 4
            zones:
              myzone:
                strict_testing: false
                timeout: 4
            """);

        var result = await CliRunner.RunAsync("daemon", "--config", path, "--check-config", "--resolver", "127.0.0.1");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("configuration ok: listen 127.0.0.1:8461", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("zones: default, myzone", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("fetch timeout 4 s", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("reuse_port", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CheckConfig_ZoneSettings_NamedWhereTheyDiffer()
    {
        var path = Config("listen: 127.0.0.1:8642\nmetrics: 127.0.0.1:9642\ndefault_zone:\n  timeout: 4\nzones:\n  QUERYwithTLSRPT:\n    tlsrpt: true\n  slow:\n    strict_testing: true\n    require_sni: false\n    timeout: 10\n");

        var result = await CliRunner.RunAsync("daemon", "--config", path, "--check-config", "--resolver", "127.0.0.1");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("listen 127.0.0.1:8642;", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("zones: default, QUERYwithTLSRPT (tlsrpt), slow (strict_testing, require_sni off, timeout 10 s);", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("; metrics http://127.0.0.1:9642/metrics", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CheckConfig_UnixSocketPath_ListensThere()
    {
        var socket = Path.Combine(_dir, "rampart.sock");
        var path = Config($"path: \"{socket}\"\nmode: 0660\n");

        var result = await CliRunner.RunAsync("daemon", "--config", path, "--check-config", "--resolver", "127.0.0.1");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("unix:" + socket, result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CheckConfig_BadValue_ExitTwoNamingFileAndKey()
    {
        var path = Config("zones:\n  strict:\n    timeout: abc\n");

        var result = await CliRunner.RunAsync("daemon", "--config", path, "--check-config");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains(path, result.Stderr, StringComparison.Ordinal);
        Assert.Contains("zones.strict.timeout", result.Stderr, StringComparison.Ordinal);
        Assert.False(CliRunner.HasStackTrace(result), result.ToString());
    }

    /// <summary>
    /// Issue 12: a mistyped key used to be a warning and the daemon started without the setting (here: a default zone
    /// that is not strict); it is now an error naming the line and the key meant, and nothing starts.
    /// </summary>
    [Fact]
    public async Task CheckConfig_MistypedKey_ExitTwoNamingLineAndNearestKey()
    {
        var path = Config("listen: 127.0.0.1:8461\ndefault_zone:\n  strict-testing: true\n");

        var result = await CliRunner.RunAsync("daemon", "--config", path, "--check-config", "--resolver", "127.0.0.1");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains($"{path}:3: unknown key 'strict-testing' in 'default_zone' (did you mean 'strict_testing'?)", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("configuration ok", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CheckConfig_MissingFile_ExitTwo()
    {
        var result = await CliRunner.RunAsync("daemon", "--config", Path.Combine(_dir, "absent.yml"), "--check-config");

        Assert.Equal(2, result.ExitCode);
        Assert.False(CliRunner.HasStackTrace(result), result.ToString());
    }

    [Fact]
    public async Task Daemon_BadListenAddress_OneLineError()
    {
        var result = await CliRunner.RunAsync("daemon", "--listen", "nowhere", "--check-config");

        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("rampart daemon: --listen: 'nowhere' is not a socketmap address: ", Assert.Single(result.Stderr.Trim().Split('\n')), StringComparison.Ordinal);
    }

    [Fact]
    public async Task CheckConfig_EximListen_CommandLineReplacesTheFile()
    {
        var path = Config("exim_listen: 127.0.0.1:8462\n");

        var fromFile = await CliRunner.RunAsync("daemon", "--config", path, "--check-config", "--resolver", "127.0.0.1");
        var fromCli = await CliRunner.RunAsync("daemon", "--config", path, "--exim-listen", "unix:/run/rampart/exim.sock:0666",
            "--check-config", "--resolver", "127.0.0.1");

        Assert.Equal(0, fromFile.ExitCode);
        Assert.Contains("; exim listen 127.0.0.1:8462;", fromFile.Stdout, StringComparison.Ordinal);
        Assert.Equal(0, fromCli.ExitCode);
        Assert.Contains("; exim listen unix:/run/rampart/exim.sock;", fromCli.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("8462", fromCli.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Daemon_BadEximListenAddress_OneLineError()
    {
        var result = await CliRunner.RunAsync("daemon", "--exim-listen", "unix:relative.sock", "--check-config");

        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("rampart daemon: --exim-listen: 'unix:relative.sock' is not a socketmap address: ",
            Assert.Single(result.Stderr.Trim().Split('\n')), StringComparison.Ordinal);
    }
}
