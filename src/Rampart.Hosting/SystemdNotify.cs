using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace Rampart.Hosting;

/// <summary>
/// The service manager's notification protocol (sd_notify(3)), written here rather than linked from libsystemd: one
/// datagram of <c>KEY=VALUE</c> lines to the Unix socket named by <c>$NOTIFY_SOCKET</c> (a path, or <c>@name</c> in the
/// abstract namespace). A unit with <c>Type=notify</c> learns <c>READY=1</c> once the listeners are bound,
/// <c>RELOADING=1</c> while a SIGHUP is handled, <c>STOPPING=1</c> at shutdown, and <c>WATCHDOG=1</c> every half
/// <c>$WATCHDOG_USEC</c> when the unit sets <c>WatchdogSec=</c>. Without <c>$NOTIFY_SOCKET</c> (started by hand) every
/// call does nothing. A failed send never stops the service: systemd then times the start out, which says more than an
/// exception here would.
/// </summary>
internal sealed class SystemdNotify : IDisposable
{
    private readonly Socket? _socket;
    private readonly UnixDomainSocketEndPoint? _target;

    private SystemdNotify(string? address, TimeSpan? watchdog)
    {
        Watchdog = watchdog;
        if (string.IsNullOrEmpty(address) || address.Length < 2 || address[0] is not ('/' or '@'))
        {
            return; // unset, or a vsock address (vsock:CID:PORT), which a service on a host is never given
        }
        // '@' names the abstract namespace, which the kernel spells with a leading NUL.
        _target = new UnixDomainSocketEndPoint(address[0] == '@' ? "\0" + address[1..] : address);
        _socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
    }

    /// <summary>True when a service manager listens (<c>$NOTIFY_SOCKET</c> was set).</summary>
    public bool Enabled => _socket is not null;

    /// <summary>Half of <c>$WATCHDOG_USEC</c> when the watchdog is on for this process, the interval to ping at; else null.</summary>
    public TimeSpan? Watchdog { get; }

    /// <summary>Reads <c>$NOTIFY_SOCKET</c>, <c>$WATCHDOG_USEC</c> and <c>$WATCHDOG_PID</c> of this process.</summary>
    public static SystemdNotify FromEnvironment() => From(Environment.GetEnvironmentVariable, Environment.ProcessId);

    public static SystemdNotify From(Func<string, string?> environment, int processId)
    {
        ArgumentNullException.ThrowIfNull(environment);
        TimeSpan? watchdog = null;
        if (long.TryParse(environment("WATCHDOG_USEC"), NumberStyles.None, CultureInfo.InvariantCulture, out var usec) && usec > 0
            && (environment("WATCHDOG_PID") is not { } pid || pid == processId.ToString(CultureInfo.InvariantCulture)))
        {
            watchdog = TimeSpan.FromMicroseconds(usec / 2);
        }
        return new SystemdNotify(environment("NOTIFY_SOCKET"), watchdog);
    }

    /// <summary><c>READY=1</c> with a one-line <c>STATUS=</c> (shown by <c>systemctl status</c>).</summary>
    public void Ready(string status) => Send($"READY=1\nSTATUS={OneLine(status)}\nMAINPID={Environment.ProcessId}");

    /// <summary><c>RELOADING=1</c> with the monotonic time systemd asks for (<c>Type=notify-reload</c>); <see cref="Ready"/> ends it.</summary>
    public void Reloading() => Send($"RELOADING=1\nMONOTONIC_USEC={MonotonicMicroseconds()}\nSTATUS=reloading the configuration");

    public void Stopping() => Send("STOPPING=1\nSTATUS=stopping");

    public void WatchdogPing() => Send("WATCHDOG=1");

    /// <summary>Pings the watchdog every <see cref="Watchdog"/> until <paramref name="stop"/>; returns at once when it is off.</summary>
    public async Task PingWatchdogAsync(TimeProvider time, CancellationToken stop)
    {
        ArgumentNullException.ThrowIfNull(time);
        if (!Enabled || Watchdog is not { } interval)
        {
            return;
        }
        using var timer = new PeriodicTimer(interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stop).ConfigureAwait(false))
            {
                WatchdogPing();
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    /// <summary>Sends one datagram; false when there is no manager or the send failed (the socket gone).</summary>
    public bool Send(string message)
    {
        if (_socket is null || _target is null)
        {
            return false;
        }
        try
        {
            _socket.SendTo(Encoding.UTF8.GetBytes(message), SocketFlags.None, _target);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
    }

    public void Dispose() => _socket?.Dispose();

    /// <summary>CLOCK_MONOTONIC in microseconds: .NET's Stopwatch reads that clock on Linux.</summary>
    private static long MonotonicMicroseconds() => (long)(Stopwatch.GetTimestamp() * (1_000_000.0 / Stopwatch.Frequency));

    private static string OneLine(string text) => text.ReplaceLineEndings(" ");
}
