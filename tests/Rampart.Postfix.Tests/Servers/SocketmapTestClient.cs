using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Rampart.Postfix.Tests.Servers;

/// <summary>
/// A minimal socketmap client, written independently of the server's <c>Netstring</c> so the two check each other.
/// Every wait is bounded (5 s by default) so a broken server fails a test instead of hanging it.
/// </summary>
internal sealed class SocketmapTestClient : IAsyncDisposable
{
    private static readonly TimeSpan s_defaultTimeout = TimeSpan.FromSeconds(5);

    private readonly Socket _socket;
    private readonly byte[] _chunk = new byte[64 * 1024];
    private readonly List<byte> _received = [];

    private SocketmapTestClient(Socket socket) => _socket = socket;

    public static async Task<SocketmapTestClient> ConnectAsync(EndPoint endpoint)
    {
        var socket = endpoint is UnixDomainSocketEndPoint
            ? new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
            : new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using var cts = Timeout(null);
        await socket.ConnectAsync(endpoint, cts.Token);
        return new SocketmapTestClient(socket);
    }

    public static byte[] Frame(ReadOnlySpan<byte> payload) =>
        [.. Encoding.ASCII.GetBytes(payload.Length.ToString(CultureInfo.InvariantCulture) + ":"), .. payload, (byte)','];

    public static byte[] Frame(string payload) => Frame(Encoding.UTF8.GetBytes(payload));

    public async Task SendAsync(ReadOnlyMemory<byte> bytes)
    {
        using var cts = Timeout(null);
        await _socket.SendAsync(bytes, SocketFlags.None, cts.Token);
    }

    /// <summary>Shuts down the sending half (as a script or a monitoring check does after its last request).</summary>
    public void ShutdownSend() => _socket.Shutdown(SocketShutdown.Send);

    public Task SendRequestAsync(string mapName, string key) => SendAsync(Frame(mapName + " " + key));

    /// <summary>Sends one byte per write, pausing between them, like a very slow client.</summary>
    public async Task SendByteByByteAsync(byte[] bytes)
    {
        foreach (byte b in bytes)
        {
            await SendAsync(new[] { b });
            await Task.Delay(2);
        }
    }

    public async Task<string> RequestAsync(string mapName, string key, TimeSpan? timeout = null)
    {
        await SendRequestAsync(mapName, key);
        return await ReadReplyAsync(timeout);
    }

    /// <summary>Reads one netstring reply and returns its payload as UTF-8 text; fails on EOF or bad framing.</summary>
    public async Task<string> ReadReplyAsync(TimeSpan? timeout = null)
    {
        using var cts = Timeout(timeout);
        int colon;
        while ((colon = _received.IndexOf((byte)':')) < 0)
        {
            await ReceiveMoreAsync(cts.Token);
        }

        var prefix = Encoding.ASCII.GetString([.. _received.Take(colon)]);
        Assert.Matches("^(0|[1-9][0-9]{0,5})$", prefix);
        int length = int.Parse(prefix, CultureInfo.InvariantCulture);
        while (_received.Count < colon + 1 + length + 1)
        {
            await ReceiveMoreAsync(cts.Token);
        }

        Assert.Equal((byte)',', _received[colon + 1 + length]);
        var payload = Encoding.UTF8.GetString([.. _received.Skip(colon + 1).Take(length)]);
        _received.RemoveRange(0, colon + 1 + length + 1);
        return payload;
    }

    /// <summary>True once the server has closed the connection (EOF or reset) without sending anything more.</summary>
    public async Task<bool> IsClosedByServerAsync(TimeSpan? timeout = null)
    {
        using var cts = Timeout(timeout);
        try
        {
            int n = await _socket.ReceiveAsync(_chunk, SocketFlags.None, cts.Token);
            Assert.True(n == 0, $"expected the server to close, got {n} bytes: {Encoding.UTF8.GetString(_chunk, 0, n)}");
            return true;
        }
        catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted)
        {
            return true;
        }
        catch (OperationCanceledException) when (!TestContext.Current.CancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    public ValueTask DisposeAsync()
    {
        _socket.Dispose();
        return ValueTask.CompletedTask;
    }

    private static CancellationTokenSource Timeout(TimeSpan? timeout)
    {
        var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        cts.CancelAfter(timeout ?? s_defaultTimeout);
        return cts;
    }

    private async Task ReceiveMoreAsync(CancellationToken ct)
    {
        int n = await _socket.ReceiveAsync(_chunk, SocketFlags.None, ct);
        Assert.True(n > 0, "the server closed the connection before replying");
        _received.AddRange(_chunk.AsSpan(0, n));
    }
}
