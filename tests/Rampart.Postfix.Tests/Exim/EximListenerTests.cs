using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Rampart.Postfix.Tests.Fakes;
using Rampart.Postfix.Tests.Servers;

namespace Rampart.Postfix.Tests.Exim;

/// <summary>
/// The Exim line listener over real sockets (Kestrel in process, the daemon's transport and admission): one line in,
/// one line out, then the server closes; bad lines get one <c>tempfail</c> line; slow clients are closed.
/// </summary>
public sealed class EximListenerTests
{
    private static readonly TimeSpan s_bound = TimeSpan.FromSeconds(10);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Socket NewSocket(EndPoint endpoint) => endpoint is UnixDomainSocketEndPoint
        ? new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
        : new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };

    /// <summary>Everything the server sends until it closes, bounded by <see cref="s_bound"/>.</summary>
    private static async Task<string> ReadToCloseAsync(Socket socket)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        deadline.CancelAfter(s_bound);
        var received = new List<byte>();
        var chunk = new byte[4096];
        try
        {
            while (await socket.ReceiveAsync(chunk, SocketFlags.None, deadline.Token) is var n and > 0)
            {
                received.AddRange(chunk.AsSpan(0, n));
            }
        }
        catch (OperationCanceledException) when (!Ct.IsCancellationRequested)
        {
            Assert.Fail($"the server did not close within {s_bound.TotalSeconds} s; received so far: '{Encoding.UTF8.GetString([.. received])}'");
        }
        return Encoding.UTF8.GetString([.. received]);
    }

    /// <summary>Connects, sends <paramref name="request"/>, shuts down the sending half if asked (as Exim's readsocket does), reads to close.</summary>
    private static async Task<string> ExchangeAsync(EndPoint endpoint, byte[] request, bool halfClose = true)
    {
        using var socket = NewSocket(endpoint);
        await socket.ConnectAsync(endpoint, Ct);
        await socket.SendAsync(request, SocketFlags.None, Ct);
        if (halfClose)
        {
            socket.Shutdown(SocketShutdown.Send);
        }
        return await ReadToCloseAsync(socket);
    }

    private static Task<string> ExchangeAsync(EndPoint endpoint, string request, bool halfClose = true) =>
        ExchangeAsync(endpoint, Encoding.UTF8.GetBytes(request), halfClose);

    [Theory]
    [InlineData("tcp")]
    [InlineData("unix")]
    public async Task OneLine_OneReplyLineThenClose(string transport)
    {
        var responder = new FakeEximResponder();
        await using var server = await EximTestServer.StartAsync(transport, responder);

        Assert.Equal("secure mx.example.org\n", await ExchangeAsync(server.EndPoint, "example.org\n"));
        // without shutting down its sending half the client still gets the line and the close
        Assert.Equal("secure mx.example.net\n", await ExchangeAsync(server.EndPoint, "example.net\n", halfClose: false));
        Assert.Equal(["example.org", "example.net"], responder.Calls);
    }

    [Fact]
    public async Task TwoLines_OnlyTheFirstAnswered()
    {
        var responder = new FakeEximResponder();
        await using var server = await EximTestServer.StartAsync("tcp", responder);

        Assert.Equal("secure mx.a.example\n", await ExchangeAsync(server.EndPoint, "a.example\nb.example\n", halfClose: false));
        Assert.Equal("secure mx.c.example\n", await ExchangeAsync(server.EndPoint, "c.example\nd.example\n"));
        Assert.Equal(["a.example", "c.example"], responder.Calls);
    }

    [Theory]
    [InlineData("example.org", "example.org")]      // half-closed without a newline: the whole line
    [InlineData("example.org\r\n", "example.org")]
    [InlineData("  example.org \n", "example.org")]
    public async Task LineForms_TheKeyPassedOn(string request, string key)
    {
        var responder = new FakeEximResponder();
        await using var server = await EximTestServer.StartAsync("tcp", responder);

        Assert.Equal($"secure mx.{key}\n", await ExchangeAsync(server.EndPoint, request));
        Assert.Equal([key], responder.Calls);
    }

    [Fact]
    public async Task OversizedLine_OneTempfailLine_NoLookup()
    {
        var responder = new FakeEximResponder();
        await using var server = await EximTestServer.StartAsync("tcp", responder);

        // 32 KiB with no newline: the server refuses it after 1 KiB, reads the rest away, replies and closes
        var reply = await ExchangeAsync(server.EndPoint, Encoding.ASCII.GetBytes(new string('a', 32 * 1024)), halfClose: false);

        Assert.Equal("tempfail request line too long\n", reply);
        Assert.Equal("tempfail request line too long\n", await ExchangeAsync(server.EndPoint, new string('b', 1024) + "\n"));
        Assert.Empty(responder.Calls);
        Assert.Contains(server.LogsWithEventId(480), e => e.Message.Contains("longer than 1024 bytes", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(new byte[] { 0xff, 0xfe, (byte)'\n' }, "tempfail malformed request: request is not valid UTF-8\n")]
    [InlineData(new byte[] { (byte)'a', 0, (byte)'b', (byte)'\n' }, "tempfail malformed request: request has a control character (U+0000) at offset 1\n")]
    [InlineData(new byte[] { (byte)'\n' }, "tempfail malformed request: request line is empty\n")]
    public async Task BinaryOrEmptyLine_OneTempfailLine_NoLookup(byte[] request, string expected)
    {
        var responder = new FakeEximResponder();
        await using var server = await EximTestServer.StartAsync("tcp", responder);

        Assert.Equal(expected, await ExchangeAsync(server.EndPoint, request));
        Assert.Empty(responder.Calls);
    }

    [Fact]
    public async Task ConnectAndClose_NoReply_NoLookup()
    {
        var responder = new FakeEximResponder();
        await using var server = await EximTestServer.StartAsync("tcp", responder);

        Assert.Equal("", await ExchangeAsync(server.EndPoint, []));
        Assert.Empty(responder.Calls);
    }

    [Fact]
    public async Task SlowClient_ClosedAfterTheReadTimeout_NoReply()
    {
        var responder = new FakeEximResponder();
        await using var server = await EximTestServer.StartAsync("tcp", responder, o => o.ReadTimeout = TimeSpan.FromMilliseconds(300));
        using var socket = NewSocket(server.EndPoint);
        await socket.ConnectAsync(server.EndPoint, Ct);
        await socket.SendAsync("exam"u8.ToArray(), SocketFlags.None, Ct); // part of a line, then nothing
        var clock = Stopwatch.StartNew();

        Assert.Equal("", await ReadToCloseAsync(socket));
        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(5));
        Assert.Empty(responder.Calls);
        Assert.Single(server.LogsWithEventId(481));
    }

    [Fact]
    public async Task SlowLookup_TempfailAfterTheDeadline()
    {
        var responder = new FakeEximResponder();
        await using var server = await EximTestServer.StartAsync("tcp", responder, o => o.RequestTimeout = TimeSpan.FromMilliseconds(200));

        Assert.Equal("tempfail lookup timed out\n", await ExchangeAsync(server.EndPoint, FakeEximResponder.Slow + "\n"));
        Assert.Single(server.LogsWithEventId(482));
    }

    [Fact]
    public async Task ThrowingResponder_TempfailInternalError()
    {
        await using var server = await EximTestServer.StartAsync("tcp", new FakeEximResponder());

        Assert.Equal("tempfail internal error\n", await ExchangeAsync(server.EndPoint, FakeEximResponder.Throws + "\n"));
        Assert.Single(server.LogsWithEventId(483));
    }

    /// <summary>1,000 connections open at once, every request sent before any reply is read: each gets its own line.</summary>
    [Fact]
    public async Task ThousandConcurrentConnections_EachAnswered()
    {
        const int Connections = 1000;
        var responder = new FakeEximResponder();
        await using var server = await EximTestServer.StartAsync("tcp", responder, maxConnections: 2 * Connections);
        var sockets = new List<Socket>(Connections);
        try
        {
            for (var i = 0; i < Connections; i++)
            {
                var socket = NewSocket(server.EndPoint);
                sockets.Add(socket);
                await socket.ConnectAsync(server.EndPoint, Ct);
            }
            await Task.WhenAll(sockets.Select((s, i) => s.SendAsync(Encoding.ASCII.GetBytes($"d{i}.example\n"), SocketFlags.None, Ct).AsTask()));
            var replies = await Task.WhenAll(sockets.Select(ReadToCloseAsync));

            Assert.All(Enumerable.Range(0, Connections), i => Assert.Equal($"secure mx.d{i}.example\n", replies[i]));
            Assert.Equal(Connections, responder.Calls.Count);
        }
        finally
        {
            foreach (var socket in sockets)
            {
                socket.Dispose();
            }
        }
    }
}
