using System.Net;
using System.Net.Sockets;
using Rampart.Tests.Shared;

namespace Rampart.Cli.Tests;

/// <summary>
/// The long-running verbs take nothing from the directory they are started in. A service starts in / (systemd's
/// default): ASP.NET Core's defaults watched the working directory and every directory below it for appsettings.json
/// changes, one inotify watch each, so the daemon walked the whole file system before it answered (8 s, ~60,000 watches)
/// and an appsettings.json there could add endpoints.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class HostWorkingDirectoryTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("rampart-cwd-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Daemon_StartedInADirectoryTree_WatchesNothingAndReadsNoAppsettings()
    {
        var cwd = Path.Combine(_dir, "cwd");
        for (var i = 0; i < 40; i++)
        {
            Directory.CreateDirectory(Path.Combine(cwd, $"d{i}", "sub"));
        }
        var stray = LoopbackPort.Free();
        await File.WriteAllTextAsync(Path.Combine(cwd, "appsettings.json"),
            """{"Kestrel": {"Endpoints": {"Stray": {"Url": "http://127.0.0.1:""" + stray + "\"}}}}", TestContext.Current.CancellationToken);
        var (listen, metrics) = (LoopbackPort.Free(), LoopbackPort.Free());

        await using var daemon = RampartProcess.Start(["daemon", "--listen", $"127.0.0.1:{listen}", "--metrics", $"127.0.0.1:{metrics}",
            "--state-dir", Path.Combine(_dir, "state"), "--resolver", "127.0.0.1:9"], workingDirectory: cwd);
        await daemon.WaitForLineAsync(l => l.Contains("listening on", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
        await HostStartupTests.WaitUntilServingAsync($"http://127.0.0.1:{metrics}/metrics");

        Assert.Empty(InotifyWatches(daemon.Id));
        using var client = new TcpClient();
        Assert.ThrowsAny<SocketException>(() => client.Connect(IPAddress.Loopback, stray));
        Assert.Equal(0, await daemon.StopAsync());
    }

    /// <summary>Every inotify watch the process holds (the "inotify wd:" lines of /proc/PID/fdinfo).</summary>
    private static List<string> InotifyWatches(int pid)
    {
        var watches = new List<string>();
        foreach (var info in Directory.EnumerateFiles($"/proc/{pid}/fdinfo"))
        {
            try
            {
                watches.AddRange(File.ReadLines(info).Where(l => l.StartsWith("inotify wd:", StringComparison.Ordinal)));
            }
            catch (IOException)
            {
                // the descriptor was closed meanwhile
            }
        }
        return watches;
    }
}
