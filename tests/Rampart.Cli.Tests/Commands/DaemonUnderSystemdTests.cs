using System.Globalization;
using Rampart.Cli.Tests.Support;
using Rampart.Tests.Shared;

namespace Rampart.Cli.Tests.Commands;

/// <summary>
/// <c>rampart daemon</c> in the environment rampart-daemon.service gives it: <c>$NOTIFY_SOCKET</c> (Type=notify),
/// <c>$WATCHDOG_USEC</c> (WatchdogSec=) and <c>$STATE_DIRECTORY</c> (StateDirectory=), reading a configuration migrated
/// from postfix-mta-sts-resolver whose sqlite cache lives elsewhere. The manager's side is a real datagram socket.
/// </summary>
public sealed class DaemonUnderSystemdTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("rampart-under-systemd").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Notify_ReadyWatchdogReloadingStopping_AndStateUnderStateDirectory()
    {
        using var manager = new NotifyManager(Path.Combine(_dir, "notify"));
        var peerCache = Directory.CreateDirectory(Path.Combine(_dir, "mta-sts")).FullName;
        var state = Path.Combine(_dir, "state");
        var config = Path.Combine(_dir, "mta-sts-daemon.yml");
        var port = LoopbackPort.Free();
        await File.WriteAllTextAsync(config, $"host: 127.0.0.1\nport: {port}\ncache:\n  type: sqlite\n  options:\n    filename: {peerCache}/cache.db\n",
            TestContext.Current.CancellationToken);
        var environment = new Dictionary<string, string?>
        {
            ["NOTIFY_SOCKET"] = manager.Path,
            ["WATCHDOG_USEC"] = "1000000",
            ["STATE_DIRECTORY"] = state,
        };

        await using var daemon = RampartProcess.Start(["daemon", "--config", config, "--resolver", "127.0.0.1:9"], environment: environment);
        var ready = await manager.NextAsync("READY=1", daemon);
        var watchdog = await manager.NextAsync("WATCHDOG=1", daemon);
        Signal(daemon, "HUP");
        var reloading = await manager.NextAsync("RELOADING=1", daemon);
        var readyAgain = await manager.NextAsync("READY=1", daemon);
        var note = await daemon.WaitForLineAsync(l => l.Contains("$STATE_DIRECTORY", StringComparison.Ordinal), TimeSpan.FromSeconds(10));
        var exit = await daemon.StopAsync();
        var stopping = await manager.NextAsync("STOPPING=1", daemon);

        Assert.Contains($"STATUS=listening on 127.0.0.1:{port}; 0 cached policies", ready, StringComparison.Ordinal);
        Assert.Contains($"MAINPID={daemon.Id}", ready, StringComparison.Ordinal);
        Assert.Equal("WATCHDOG=1", watchdog);
        Assert.Matches(@"MONOTONIC_USEC=[1-9][0-9]*", reloading);
        Assert.Contains("configuration reloaded", readyAgain, StringComparison.Ordinal);
        Assert.StartsWith("STOPPING=1", stopping, StringComparison.Ordinal);
        Assert.Equal(0, exit);
        Assert.Contains($"state directory {state} ($STATE_DIRECTORY, the unit's StateDirectory=), not {peerCache} from the configuration's " +
                        $"cache.options.filename ({peerCache}/cache.db)", note, StringComparison.Ordinal);
        Assert.Contains(daemon.Lines, l => l.Contains($"configuration {config}", StringComparison.Ordinal));
        Assert.True(File.Exists(Path.Combine(state, "policy-cache.sqlite")), "no policy cache in $STATE_DIRECTORY");
        Assert.Empty(Directory.GetFiles(peerCache));
    }

    /// <summary>Without --config and with no /etc/rampart/rampart.yml the daemon starts on its defaults and says so.</summary>
    [Fact]
    public async Task NoConfigurationFile_StartsOnDefaultsAndSaysSo()
    {
        Assert.SkipWhen(File.Exists("/etc/rampart/rampart.yml"), "/etc/rampart/rampart.yml exists on this machine (the package is installed): the daemon reads it");
        await using var daemon = RampartProcess.Start(["daemon", "--listen", $"127.0.0.1:{LoopbackPort.Free()}", "--resolver", "127.0.0.1:9"],
            environment: new Dictionary<string, string?> { ["STATE_DIRECTORY"] = Path.Combine(_dir, "state") });

        var line = await daemon.WaitForLineAsync(l => l.Contains("configuration", StringComparison.Ordinal), TimeSpan.FromSeconds(60));

        Assert.Contains("no configuration file (/etc/rampart/rampart.yml not found): every setting at its default", line, StringComparison.Ordinal);
        Assert.Equal(0, await daemon.StopAsync());
    }

    private static void Signal(RampartProcess process, string signal)
    {
        using var kill = System.Diagnostics.Process.Start("kill", ["-" + signal, process.Id.ToString(CultureInfo.InvariantCulture)])!;
        kill.WaitForExit();
    }
}
