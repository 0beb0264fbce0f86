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

    /// <summary>
    /// The daemon's socketmap port on 127.0.0.1 (Postfix's smtp_tls_policy_maps); kept across restarts. With
    /// <see cref="Unit"/>, the installed configuration's address: 8461.
    /// </summary>
    public int Port { get; } = Unit is null ? FreePort() : 8461;

    /// <summary>
    /// <c>RAMPART_LAB_DAEMON_UNIT</c>: a systemd unit file (packaging/deb/check sets the installed
    /// /lib/systemd/system/rampart-daemon.service). The daemon is then the installed one, started as that unit starts it
    /// (packaging/deb/unit-exec: its ExecStart=, User=, StateDirectory=, Type=notify, read here as READY=1), listening
    /// where its configuration says (127.0.0.1:8461, inside the lab's network namespace). Only the default daemon exists
    /// then: tests that restart it with other settings do not apply.
    /// </summary>
    public static string? Unit => Environment.GetEnvironmentVariable("RAMPART_LAB_DAEMON_UNIT") is { Length: > 0 } unit ? unit : null;

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
        if (Unit is { } unit)
        {
            await StartUnitAsync(unit, stateDir, extra);
            return;
        }

        Directory.CreateDirectory(stateDir);
        var info = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in (string[])[Rampart.Tests.Shared.CliRunner.RampartDll, "daemon", "--listen", $"127.0.0.1:{Port}", .. DaemonListenArgs, "--state-dir", stateDir, .. extra])
        {
            info.ArgumentList.Add(arg);
        }

        Launch(info);
        await ListeningAsync();
    }

    /// <summary>A file of the repository found from lab/bin on PATH (lab/run puts it there).</summary>
    protected static string BesideLabBin(params string[] relative)
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
        if (extra.Length > 0 || DaemonListenArgs.Length > 0 || stateDir != DefaultDaemonState)
        {
            throw new InvalidOperationException($"RAMPART_LAB_DAEMON_UNIT={unit}: the daemon runs as its unit says; this test restarts it with other settings");
        }

        var notifyPath = Path.Combine(Root, "notify-" + Guid.NewGuid().ToString("N")[..8]);
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
        // 60 s, as a unit's start: a restart after SIGKILL at a load of 35 was seen to take more than 20 s
        var deadline = DateTime.UtcNow.AddSeconds(60);
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
                throw new InvalidOperationException($"rampart daemon did not listen on 127.0.0.1:{Port} within 60 s ({e.SocketErrorCode}):\n{DaemonOutput()}", e);
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
