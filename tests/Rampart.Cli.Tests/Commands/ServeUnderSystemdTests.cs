using System.Net.Sockets;
using System.Text.RegularExpressions;
using Rampart.Cli.Tests.Support;
using Rampart.Tests.Shared;

namespace Rampart.Cli.Tests.Commands;

/// <summary>
/// <c>rampart serve</c> as rampart-serve.service runs it (<c>Type=notify</c>, <c>WatchdogSec=</c>): READY=1 only once
/// its address is bound, watchdog pings while it serves, STOPPING=1 at SIGTERM. The manager's side is a real datagram
/// socket; the address READY names is connected to.
/// </summary>
public sealed partial class ServeUnderSystemdTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("rampart-serve-systemd").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Notify_ReadyOnceBound_WatchdogWhileServing_StoppingAtSigterm()
    {
        await SelfSignedLineage.WriteAsync(Path.Combine(_dir, "live", "mta-sts.example.test"), "mta-sts.example.test", TestContext.Current.CancellationToken);
        var config = Path.Combine(_dir, "publish.yml");
        await File.WriteAllTextAsync(config, $"domain: example.test\nmx: mx.example.test\nserve:\n  listen: [\"127.0.0.1:0\"]\n  certificates: {_dir}/live\n",
            TestContext.Current.CancellationToken);
        using var manager = new NotifyManager(Path.Combine(_dir, "notify"));
        var environment = new Dictionary<string, string?> { ["NOTIFY_SOCKET"] = manager.Path, ["WATCHDOG_USEC"] = "1000000" };

        await using var serve = RampartProcess.Start(["serve", "--config", config, "--no-reports"], environment: environment);
        var ready = await manager.NextAsync("READY=1", serve);
        Assert.Matches(ServingPort(), ready);
        var port = int.Parse(ServingPort().Match(ready).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        using (var client = new TcpClient())
        {
            await client.ConnectAsync("127.0.0.1", port, TestContext.Current.CancellationToken); // bound before READY
        }
        var watchdog = await manager.NextAsync("WATCHDOG=1", serve);
        var exit = await serve.StopAsync();
        var stopping = await manager.NextAsync("STOPPING=1", serve);

        Assert.Contains($"MAINPID={serve.Id}", ready, StringComparison.Ordinal);
        Assert.Equal("WATCHDOG=1", watchdog);
        Assert.StartsWith("STOPPING=1", stopping, StringComparison.Ordinal);
        Assert.Equal(0, exit);
    }

    [GeneratedRegex(@"STATUS=serving https://127\.0\.0\.1:(\d+)")]
    private static partial Regex ServingPort();
}
