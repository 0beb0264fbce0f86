using System.Net.Sockets;
using Rampart.Postfix.Socketmap;

using Rampart.Postfix.Tests.Fakes;
using Rampart.Postfix.Tests.Servers;

namespace Rampart.Postfix.Tests.Socketmap;

/// <summary>
/// A peer that sends requests without reading the replies (issue 13: about 1.2 MB held per such connection, and a log
/// line per malformed request) is held by back-pressure after a bounded amount, and does not hold up anyone else.
/// </summary>
public sealed class SocketmapBackPressureTests : IDisposable
{
    private const int MalformedRequestEvent = 203;
    private const int MalformedRequestAgainEvent = 213;
    private const int MalformedRequestsEvent = 214;

    private readonly FakeSocketmapResponder _responder = new();

    public void Dispose() => _responder.Dispose();

    public static TheoryData<string> Transports => new("tcp", "unix");

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Connection_SendsWithoutReading_StopsBeingReadAfterABoundedAmount(string transport)
    {
        await using var server = await SocketmapTestServer.StartAsync(transport, _responder);
        using var flood = await ConnectAsync(server);
        var requests = Requests(1000, i => i % 10 == 0 ? "postfix \u0001bad" : $"postfix [192.0.2.{i % 250}]");

        // Kestrel's defaults let the server take over 1 MiB of requests (its input pipe) plus what Linux's growing socket
        // buffers hold before the peer's writes block; bounded, it is a few hundred KiB, most of it in the kernel.
        long taken = await SendUntilBlockedAsync(flood, requests, limit: 16 * 1024 * 1024);

        Assert.InRange(taken, 1, 1024 * 1024);
        await using var fresh = await server.ConnectAsync();
        Assert.Equal("OK postfix:fresh.example", await fresh.RequestAsync("postfix", "fresh.example"));
    }

    [Fact]
    public async Task PipelinedPeers_PastTheirFirstTurn_AnswerOneTurnAtATime_WhileOneAtATimeLookupsRunBeside()
    {
        // Issue 13: during a flood of connections that pipeline, a lookup made the way Postfix makes them (one request,
        // then its reply) waited for every flooding connection's turn. Now turns after the first run in one lane:
        // while a turn holds it, no other pipelining peer's next turn starts, and a one-at-a-time lookup still runs.
        await using var server = await SocketmapTestServer.StartAsync("tcp", _responder);
        await using var holder = await server.ConnectAsync();
        await using var waiter = await server.ConnectAsync();
        await using var postfix = await server.ConnectAsync();
        static byte[] Burst(string prefix, string fifth) => [.. Enumerable.Range(1, 6)
            .SelectMany(i => SocketmapTestClient.Frame($"postfix {(i == 5 ? fifth : $"{prefix}{i}.example")}"))];

        try
        {
            // The holder's fifth request starts its second turn, in the lane, and holds its thread there.
            await holder.SendAsync(Burst("h", FakeSocketmapResponder.HoldsThread));
            await _responder.WaitEnteredAsync(TestContext.Current.CancellationToken);
            await waiter.SendAsync(Burst("w", "w5.example"));
            for (int i = 1; i <= 4; i++)
            {
                Assert.Equal($"OK postfix:w{i}.example", await waiter.ReadReplyAsync(TimeSpan.FromSeconds(10)));
            }

            Assert.Equal("OK postfix:fresh.example", await postfix.RequestAsync("postfix", "fresh.example", TimeSpan.FromSeconds(10)));
            Assert.DoesNotContain(("postfix", "w5.example"), _responder.Calls);
        }
        finally
        {
            _responder.OpenGate();
        }

        Assert.Equal("OK postfix:w5.example", await waiter.ReadReplyAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal("OK postfix:w6.example", await waiter.ReadReplyAsync(TimeSpan.FromSeconds(10)));
        for (int i = 1; i <= 6; i++)
        {
            var key = i == 5 ? FakeSocketmapResponder.HoldsThread : $"h{i}.example";
            Assert.Equal($"OK postfix:{key}", await holder.ReadReplyAsync(TimeSpan.FromSeconds(10)));
        }
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Connection_ManyMalformedRequests_OneWarningWhenItStartsAndOneWithTheCountAtClose(string transport)
    {
        await using var server = await SocketmapTestServer.StartAsync(transport, _responder);
        await using (var client = await server.ConnectAsync())
        {
            await client.SendAsync(Requests(500, _ => "postfix \u0001bad"));
            for (int i = 0; i < 500; i++)
            {
                Assert.Equal("PERM malformed request", await client.ReadReplyAsync());
            }
        }

        await WaitForAsync(() => server.LogsWithEventId(MalformedRequestsEvent).Any());
        Assert.Single(server.LogsWithEventId(MalformedRequestEvent));
        Assert.Equal(499, server.LogsWithEventId(MalformedRequestAgainEvent).Count());
        var summary = Assert.Single(server.LogsWithEventId(MalformedRequestsEvent));
        Assert.Contains("sent 500 malformed requests", summary.Message, StringComparison.Ordinal);
        Assert.Equal(Microsoft.Extensions.Logging.LogLevel.Debug, server.LogsWithEventId(MalformedRequestAgainEvent).First().Level);
    }

    private static async Task<Socket> ConnectAsync(SocketmapTestServer server)
    {
        var socket = server.EndPoint is System.Net.Sockets.UnixDomainSocketEndPoint
            ? new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
            : new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        // Small buffers of its own, so what the test counts is what the server takes.
        socket.SendBufferSize = 16 * 1024;
        socket.ReceiveBufferSize = 16 * 1024;
        await socket.ConnectAsync(server.EndPoint, TestContext.Current.CancellationToken);
        return socket;
    }

    private static byte[] Requests(int count, Func<int, string> payload) =>
        [.. Enumerable.Range(0, count).SelectMany(i => SocketmapTestClient.Frame(payload(i)))];

    /// <summary>Writes <paramref name="chunk"/> again and again, never reading, until a write makes no progress for 2 s.</summary>
    private static async Task<long> SendUntilBlockedAsync(Socket socket, byte[] chunk, long limit)
    {
        long sent = 0;
        while (sent < limit)
        {
            using var stalled = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            try
            {
                sent += await socket.SendAsync(chunk, SocketFlags.None, stalled.Token);
            }
            catch (OperationCanceledException) when (stalled.IsCancellationRequested)
            {
                return sent;
            }
        }
        return sent;
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (!condition())
        {
            await Task.Delay(20, deadline.Token);
        }
    }
}
