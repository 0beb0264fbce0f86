using System.Net.Sockets;
using System.Text;
using Rampart.Tests.Shared;

namespace Rampart.Cli.Tests.Support;

/// <summary>
/// The service manager's end of sd_notify(3) for a process under test: a real datagram socket at <see cref="Path"/>,
/// given to the process as <c>$NOTIFY_SOCKET</c>, and the datagrams it receives.
/// </summary>
internal sealed class NotifyManager : IDisposable
{
    private readonly Socket _socket = new(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);

    public NotifyManager(string path)
    {
        Path = path;
        _socket.Bind(new UnixDomainSocketEndPoint(path));
    }

    public string Path { get; }

    /// <summary>
    /// The next datagram that starts with <paramref name="prefix"/> (others, such as watchdog pings, are passed over);
    /// fails the test, with what <paramref name="process"/> said, when none comes within 60 s.
    /// </summary>
    public async Task<string> NextAsync(string prefix, RampartProcess process)
    {
        var buffer = new byte[4096];
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            while (true)
            {
                var n = await _socket.ReceiveAsync(buffer, SocketFlags.None, deadline.Token);
                var message = Encoding.UTF8.GetString(buffer, 0, n);
                if (message.StartsWith(prefix, StringComparison.Ordinal))
                {
                    return message;
                }
            }
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"no {prefix} datagram within 60 s; the process said:\n{string.Join('\n', process.Lines)}");
            throw;
        }
    }

    public void Dispose() => _socket.Dispose();
}
