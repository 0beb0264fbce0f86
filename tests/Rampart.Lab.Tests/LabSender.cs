using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Rampart.Lab.Tests;

/// <summary>
/// What a lab sender fixture (a real Postfix, a real Exim) shares: a temporary root, and a real <c>rampart daemon</c>
/// process it asks, on a socketmap port of 127.0.0.1 (plus <see cref="DaemonListenArgs"/>), restartable with another
/// state directory or arguments.
/// </summary>
public abstract class LabSender(string prefix) : IAsyncLifetime
{
    private readonly ConcurrentQueue<string> _daemonOutput = new();
    private Process? _daemon;

    /// <summary>The fixture's temporary directory (deleted on dispose).</summary>
    protected string Root { get; } = Directory.CreateTempSubdirectory(prefix).FullName;

    /// <summary>The daemon's socketmap port on 127.0.0.1 (Postfix's smtp_tls_policy_maps); kept across restarts.</summary>
    public int Port { get; } = FreePort();

    /// <summary>The class's own daemon state directory (its SQLite policy cache); tests that restart the daemon elsewhere restore it.</summary>
    public string DefaultDaemonState => Path.Combine(Root, "daemon");

    /// <summary>A fresh, empty daemon state directory under this fixture's root.</summary>
    public string NewDaemonState() => Directory.CreateDirectory(Path.Combine(Root, "daemon-" + Guid.NewGuid().ToString("N")[..8])).FullName;

    /// <summary>What the daemons printed (stderr and stdout), for failure messages.</summary>
    public string DaemonOutput() => string.Join('\n', _daemonOutput.TakeLast(60));

    public static string State => Environment.GetEnvironmentVariable("RAMPART_LAB_STATE") ?? "";

    /// <summary>Listener arguments every daemon start gets besides <c>--listen 127.0.0.1:PORT</c>.</summary>
    protected virtual string[] DaemonListenArgs => [];

    public abstract ValueTask InitializeAsync();

    public virtual async ValueTask DisposeAsync()
    {
        await StopDaemonAsync();
        Directory.Delete(Root, recursive: true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Lets other users (postfix, Debian-exim) reach the root: CreateTempSubdirectory makes a 0700 dir.</summary>
    protected void OpenRootToOthers()
    {
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(Root, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
                                   UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>
    /// (Re)starts <c>rampart daemon</c> on <see cref="Port"/> with STATEDIR (its SQLite policy cache) and EXTRA arguments:
    /// the old process (if any) gets SIGTERM, so its decision memory is gone; what it stored on disk stays.
    /// Postfix's smtp processes reconnect to the new one on their next lookup.
    /// </summary>
    public async Task StartDaemonAsync(string stateDir, params string[] extra)
    {
        await StopDaemonAsync();
        Directory.CreateDirectory(stateDir);
        var info = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in (string[])[Rampart.Tests.Shared.CliRunner.RampartDll, "daemon", "--listen", $"127.0.0.1:{Port}", .. DaemonListenArgs, "--state-dir", stateDir, .. extra])
        {
            info.ArgumentList.Add(arg);
        }

        _daemonOutput.Enqueue($"--- daemon {string.Join(' ', info.ArgumentList.Skip(1))}");
        _daemon = Process.Start(info)!;
        _daemon.OutputDataReceived += (_, e) => _daemonOutput.Enqueue(e.Data ?? "");
        _daemon.ErrorDataReceived += (_, e) => _daemonOutput.Enqueue(e.Data ?? "");
        _daemon.BeginOutputReadLine();
        _daemon.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline && !_daemon.HasExited)
            {
                await Task.Delay(50);
            }
            catch (SocketException e)
            {
                throw new InvalidOperationException($"rampart daemon did not listen on 127.0.0.1:{Port} within 20 s ({e.SocketErrorCode}):\n{DaemonOutput()}", e);
            }
        }
    }

    /// <summary>SIGKILL to the running daemon: no shutdown at all (what a crash or the OOM killer does).</summary>
    public async Task KillDaemonAsync()
    {
        if (_daemon is not { } daemon)
        {
            return;
        }
        _daemon = null;
        daemon.Kill();
        await daemon.WaitForExitAsync();
        daemon.Dispose();
    }

    /// <summary>Stops the daemon (SIGTERM; killed after 15 s); a later <see cref="StartDaemonAsync"/> starts one again.</summary>
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
}
