using System.Net.Sockets;
using System.Text;

namespace Rampart.Hosting.Tests;

/// <summary>
/// <see cref="SystemdNotify"/> against a real datagram socket bound where <c>$NOTIFY_SOCKET</c> points, as systemd's is:
/// what arrives is what a <c>Type=notify</c> unit's manager reads.
/// </summary>
public sealed class SystemdNotifyTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("rampart-notify").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static Func<string, string?> Environment(params (string Name, string Value)[] variables) =>
        name => variables.FirstOrDefault(v => v.Name == name).Value;

    private static Socket Listen(UnixDomainSocketEndPoint endpoint)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        socket.Bind(endpoint);
        return socket;
    }

    private static async Task<string> ReceiveAsync(Socket socket)
    {
        var buffer = new byte[4096];
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var n = await socket.ReceiveAsync(buffer, SocketFlags.None, deadline.Token);
        return Encoding.UTF8.GetString(buffer, 0, n);
    }

    [Fact]
    public async Task PathSocket_ReadyReloadingStopping_ArriveAsDatagrams()
    {
        var path = Path.Combine(_dir, "notify");
        using var manager = Listen(new UnixDomainSocketEndPoint(path));
        using var notify = SystemdNotify.From(Environment(("NOTIFY_SOCKET", path)), 4242);

        notify.Ready("listening on 127.0.0.1:8461\nsecond line");
        var ready = await ReceiveAsync(manager);
        notify.Reloading();
        var reloading = await ReceiveAsync(manager);
        notify.Stopping();
        var stopping = await ReceiveAsync(manager);

        Assert.True(notify.Enabled);
        Assert.Equal($"READY=1\nSTATUS=listening on 127.0.0.1:8461 second line\nMAINPID={System.Environment.ProcessId}", ready);
        Assert.Matches(@"^RELOADING=1\nMONOTONIC_USEC=[1-9][0-9]*\nSTATUS=reloading the configuration$", reloading);
        Assert.Equal("STOPPING=1\nSTATUS=stopping", stopping);
    }

    [Fact]
    public async Task AbstractSocket_AtSign_Reached()
    {
        var name = "rampart-notify-test-" + Guid.NewGuid().ToString("N");
        using var manager = Listen(new UnixDomainSocketEndPoint("\0" + name));
        using var notify = SystemdNotify.From(Environment(("NOTIFY_SOCKET", "@" + name)), 1);

        Assert.True(notify.Send("WATCHDOG=1"));
        Assert.Equal("WATCHDOG=1", await ReceiveAsync(manager));
    }

    [Fact]
    public void NoManager_EverythingANoOp()
    {
        using var unset = SystemdNotify.From(Environment(), 1);
        using var relative = SystemdNotify.From(Environment(("NOTIFY_SOCKET", "notify")), 1);
        using var gone = SystemdNotify.From(Environment(("NOTIFY_SOCKET", Path.Combine(_dir, "nobody-listens"))), 1);

        Assert.False(unset.Enabled);
        Assert.False(unset.Send("READY=1"));
        Assert.False(relative.Enabled);
        Assert.False(gone.Send("READY=1")); // a manager that went away: no exception, the service goes on
    }

    [Fact]
    public void Watchdog_HalfTheIntervalAndOnlyForItsOwnPid()
    {
        Assert.Equal(TimeSpan.FromSeconds(15), SystemdNotify.From(Environment(("WATCHDOG_USEC", "30000000")), 7).Watchdog);
        Assert.Equal(TimeSpan.FromSeconds(15), SystemdNotify.From(Environment(("WATCHDOG_USEC", "30000000"), ("WATCHDOG_PID", "7")), 7).Watchdog);
        Assert.Null(SystemdNotify.From(Environment(("WATCHDOG_USEC", "30000000"), ("WATCHDOG_PID", "8")), 7).Watchdog);
        Assert.Null(SystemdNotify.From(Environment(("WATCHDOG_USEC", "0")), 7).Watchdog);
        Assert.Null(SystemdNotify.From(Environment(("WATCHDOG_USEC", "soon")), 7).Watchdog);
    }
}
