using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using Rampart.Postfix.Socketmap;
using Rampart.Postfix.Tests.Fakes;
using Rampart.Postfix.Tests.Servers;

namespace Rampart.Postfix.Tests.Socketmap;

/// <summary>
/// The socketmap server as Postfix sees it: a real Kestrel host, in process, on TCP loopback and on a Unix socket,
/// spoken to over real sockets by <see cref="SocketmapTestClient"/>.
/// </summary>
public sealed class SocketmapConformanceTests : IDisposable
{
    private const int OpenedEvent = 200;
    private const int BadFrameEvent = 202;
    private const int MalformedRequestEvent = 203;
    private const int MalformedRequestAgainEvent = 213;
    private const int TimedOutEvent = 204;
    private const int ResponderFailedEvent = 205;
    private const int ReplyTooLongEvent = 206;
    private const int IdleEvent = 207;

    private readonly FakeSocketmapResponder _responder = new();

    public static TheoryData<string> Transports => new("tcp", "unix");

    public void Dispose() => _responder.Dispose();

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Connection_PipelinedAnswers_ComeBackWholeAndInOrder(string transport)
    {
        await using var server = await SocketmapTestServer.StartAsync(transport, _responder);
        await using var client = await server.ConnectAsync();

        byte[] both = [.. SocketmapTestClient.Frame("postfix a.example"), .. SocketmapTestClient.Frame("postfix b.example")];
        await client.SendAsync(both);

        Assert.Equal("OK postfix:a.example", await client.ReadReplyAsync());
        Assert.Equal("OK postfix:b.example", await client.ReadReplyAsync());
        var opened = Assert.Single(server.LogsWithEventId(OpenedEvent));
        Assert.EndsWith(" opened", opened.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Connection_HalfClosedAfterItsRequests_GetsEveryReplyBeforeTheServerCloses(string transport)
    {
        // Scripts and monitoring checks send their requests, then shut down writing, then read: every reply they asked
        // for must come back (issue 13: 967 of 1,000 were dropped). The fake responder answers after a yield, so every
        // lookup is still running when the half-close arrives.
        await using var server = await SocketmapTestServer.StartAsync(transport, _responder);
        await using var client = await server.ConnectAsync();
        var keys = Enumerable.Range(0, 50).Select(i => $"d{i}.example").ToArray();

        await client.SendAsync(keys.SelectMany(k => SocketmapTestClient.Frame("postfix " + k)).ToArray());
        client.ShutdownSend();

        foreach (var key in keys)
        {
            Assert.Equal("OK postfix:" + key, await client.ReadReplyAsync());
        }
        Assert.True(await client.IsClosedByServerAsync());
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Connection_WhileAnotherHoldsItsThread_OthersAreStillAnswered(string transport)
    {
        // Postfix asks over many connections, one request at a time each, and no connection may wait for another's
        // work. With inline socket completions it did: a connection's work ran on its socket event thread, and every
        // connection on that thread waited for it (the daemon's p99 at 32 connections was 14 ms against the peer's 1.7).
        var ct = TestContext.Current.CancellationToken;
        await using var server = await SocketmapTestServer.StartAsync(transport, _responder);
        await using var busy = await server.ConnectAsync();
        var others = new List<SocketmapTestClient>();
        try
        {
            for (int i = 0; i < 4; i++)
            {
                others.Add(await server.ConnectAsync());
            }
            // One answer on each connection first, so that the server waits for the next request on all of them (the
            // old transport then ran the held lookup on the socket event thread the others' requests also needed).
            foreach (var client in others.Prepend(busy))
            {
                Assert.Equal("OK postfix:first.example", await client.RequestAsync("postfix", "first.example"));
            }
            await busy.SendRequestAsync("postfix", FakeSocketmapResponder.HoldsThread);
            await _responder.WaitEnteredAsync(ct);

            for (int i = 0; i < others.Count; i++)
            {
                Assert.Equal($"OK postfix:o{i}.example", await others[i].RequestAsync("postfix", $"o{i}.example", TimeSpan.FromSeconds(5)));
            }
            _responder.OpenGate();
            Assert.Equal($"OK postfix:{FakeSocketmapResponder.HoldsThread}", await busy.ReadReplyAsync());
        }
        finally
        {
            _responder.OpenGate();
            foreach (var other in others)
            {
                await other.DisposeAsync();
            }
        }
    }

    [Fact]
    public void ProductionAssemblies_ReachNoRuntimeInternals()
    {
        // Supported APIs only: no UnsafeAccessor into the runtime's private members (the daemon used one to switch a
        // socket to inline completions), which a runtime update may remove or change without notice.
        var assemblies = new[] { typeof(SocketmapConnectionHandler).Assembly }
            .Concat(typeof(SocketmapConnectionHandler).Assembly.GetReferencedAssemblies()
                .Where(a => a.Name!.StartsWith("Rampart.", StringComparison.Ordinal))
                .Select(System.Reflection.Assembly.Load))
            .ToArray();
        const System.Reflection.BindingFlags All = System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic
            | System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.DeclaredOnly;
        var accessors = assemblies
            .SelectMany(a => a.GetTypes())
            .SelectMany(t => t.GetMethods(All).Where(m => m.IsDefined(typeof(System.Runtime.CompilerServices.UnsafeAccessorAttribute), false))
                .Select(m => $"{t.FullName}.{m.Name}"))
            .ToArray();

        Assert.True(assemblies.Length >= 2, "Rampart.Postfix and the Rampart assemblies it references");
        Assert.Empty(accessors);
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Request_OneDomain_AnsweredOk(string transport)
    {
        await using var server = await SocketmapTestServer.StartAsync(transport, _responder);
        await using var client = await server.ConnectAsync();

        Assert.Equal("OK postfix:example.com", await client.RequestAsync("postfix", "example.com"));
        Assert.Equal([("postfix", "example.com")], _responder.Calls);
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Request_KeyAsPostfixSentIt_ReachesResponderUnchanged(string transport)
    {
        await using var server = await SocketmapTestServer.StartAsync(transport, _responder);
        await using var client = await server.ConnectAsync();

        // A bracketed next hop is not a recipient domain: NOTFOUND (SocketmapKey's one rule), but the key got there as sent.
        Assert.Equal("NOTFOUND ", await client.RequestAsync("strict", "[MX.Bücher.example.]:25"));
        Assert.Equal([("strict", "[MX.Bücher.example.]:25")], _responder.Calls);
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Request_ParentDomainProbeAndIp_NotFoundAndConnectionStays(string transport)
    {
        await using var server = await SocketmapTestServer.StartAsync(transport, _responder);
        await using var client = await server.ConnectAsync();

        Assert.Equal("NOTFOUND ", await client.RequestAsync("postfix", ".example.com"));
        Assert.Equal("NOTFOUND ", await client.RequestAsync("postfix", "[192.0.2.1]"));
        Assert.Equal("NOTFOUND ", await client.RequestAsync("postfix", "[2001:db8::1]:25"));
        Assert.Equal("OK postfix:example.com", await client.RequestAsync("postfix", "example.com"));
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Requests_HundredPipelinedInOneWrite_AnsweredInOrder(string transport)
    {
        await using var server = await SocketmapTestServer.StartAsync(transport, _responder);
        await using var client = await server.ConnectAsync();
        byte[] batch = [.. Enumerable.Range(0, 100).SelectMany(i => SocketmapTestClient.Frame($"map{i % 3} d{i}.example"))];

        await client.SendAsync(batch);

        for (int i = 0; i < 100; i++)
        {
            Assert.Equal($"OK map{i % 3}:d{i}.example", await client.ReadReplyAsync());
        }

        Assert.Equal("OK postfix:after.example", await client.RequestAsync("postfix", "after.example"));
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Requests_SplitByteByByte_Answered(string transport)
    {
        await using var server = await SocketmapTestServer.StartAsync(transport, _responder);
        await using var client = await server.ConnectAsync();

        await client.SendByteByByteAsync([.. SocketmapTestClient.Frame("postfix a.example"), .. SocketmapTestClient.Frame("postfix b.example")]);

        Assert.Equal("OK postfix:a.example", await client.ReadReplyAsync());
        Assert.Equal("OK postfix:b.example", await client.ReadReplyAsync());
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Connections_TwoAtOnce_OneWaitingDoesNotBlockTheOther(string transport)
    {
        await using var server = await SocketmapTestServer.StartAsync(transport, _responder);
        await using var a = await server.ConnectAsync();
        await using var b = await server.ConnectAsync();

        await a.SendRequestAsync("postfix", FakeSocketmapResponder.Gated);
        await _responder.WaitEnteredAsync(TestContext.Current.CancellationToken);
        Assert.Equal("OK postfix:b.example", await b.RequestAsync("postfix", "b.example"));
        _responder.OpenGate();

        Assert.Equal("OK postfix:gated.example", await a.ReadReplyAsync());
        Assert.Equal("OK postfix:a.example", await a.RequestAsync("postfix", "a.example"));
    }

    [Theory]
    [InlineData("tcp", "99999999:")]
    [InlineData("unix", "99999999:")]
    [InlineData("tcp", "16385:")]
    [InlineData("unix", "1000000")]
    public async Task Frame_LengthPrefixOverLimit_ConnectionClosedWithoutReply(string transport, string prefix)
    {
        await using var server = await SocketmapTestServer.StartAsync(transport, _responder);
        await using var client = await server.ConnectAsync();

        await client.SendAsync(Encoding.ASCII.GetBytes(prefix));

        Assert.True(await client.IsClosedByServerAsync());
        Assert.Single(server.LogsWithEventId(BadFrameEvent));
        Assert.Empty(_responder.Calls);
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Frame_MaxRequestBytesSetting_Honoured(string transport)
    {
        await using var server = await SocketmapTestServer.StartAsync(transport, _responder, o => o.MaxRequestBytes = 600);
        await using var client = await server.ConnectAsync();
        string longKey = new('k', 600 - "postfix ".Length);

        Assert.Equal("NOTFOUND ", await client.RequestAsync("postfix", longKey));
        await client.SendRequestAsync("postfix", longKey + "k");

        Assert.True(await client.IsClosedByServerAsync());
    }

    [Theory]
    [InlineData("tcp", "3:abc;")]
    [InlineData("unix", "x")]
    [InlineData("tcp", "03:abc,")]
    [InlineData("unix", "-1:")]
    [InlineData("tcp", ":,")]
    public async Task Frame_BadFraming_ClosesOnlyThatConnection(string transport, string garbage)
    {
        await using var server = await SocketmapTestServer.StartAsync(transport, _responder);
        await using var good = await server.ConnectAsync();
        await using var bad = await server.ConnectAsync();
        Assert.Equal("OK postfix:before.example", await good.RequestAsync("postfix", "before.example"));

        await bad.SendAsync(Encoding.ASCII.GetBytes(garbage));

        Assert.True(await bad.IsClosedByServerAsync());
        Assert.Equal("OK postfix:after.example", await good.RequestAsync("postfix", "after.example"));
        await using var fresh = await server.ConnectAsync();
        Assert.Equal("OK postfix:fresh.example", await fresh.RequestAsync("postfix", "fresh.example"));
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Frame_GoodFramesThenGarbageInOneWrite_RepliesSentThenClosed(string transport)
    {
        await using var server = await SocketmapTestServer.StartAsync(transport, _responder);
        await using var client = await server.ConnectAsync();

        byte[] bytes = [.. SocketmapTestClient.Frame("postfix a.example"), .. SocketmapTestClient.Frame("postfix b.example"), .. "junk"u8];
        await client.SendAsync(bytes);

        Assert.Equal("OK postfix:a.example", await client.ReadReplyAsync());
        Assert.Equal("OK postfix:b.example", await client.ReadReplyAsync());
        Assert.True(await client.IsClosedByServerAsync());
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Request_BinaryOrMalformed_PermAndConnectionStays(string transport)
    {
        await using var server = await SocketmapTestServer.StartAsync(transport, _responder);
        await using var client = await server.ConnectAsync();
        byte[][] malformed =
        [
            [.. "postfix "u8, 0x00, 0x01, 0x02],
            [.. "postfix "u8, 0xff, 0xfe],
            [.. "postfix example.com\r\n"u8],
            [.. "postfix"u8],
            [.. "postfix "u8],
            [],
        ];

        foreach (var payload in malformed)
        {
            await client.SendAsync(SocketmapTestClient.Frame(payload));
            Assert.Equal("PERM malformed request", await client.ReadReplyAsync());
        }

        Assert.Equal("OK postfix:example.com", await client.RequestAsync("postfix", "example.com"));
        // The first malformed request of a connection is a warning, the others debug lines (SocketmapBackPressureTests).
        Assert.Single(server.LogsWithEventId(MalformedRequestEvent));
        Assert.Equal(malformed.Length - 1, server.LogsWithEventId(MalformedRequestAgainEvent).Count());
        Assert.Equal([("postfix", "example.com")], _responder.Calls);
    }

    [Theory]
    [InlineData("tcp", FakeSocketmapResponder.Slow)]
    [InlineData("unix", FakeSocketmapResponder.Slow)]
    [InlineData("tcp", FakeSocketmapResponder.Stuck)]
    [InlineData("unix", FakeSocketmapResponder.Stuck)]
    public async Task Request_ResponderSlowerThanDeadline_TempTimedOutAndConnectionStays(string transport, string key)
    {
        var time = new TimerWatchingTimeProvider();
        await using var server = await SocketmapTestServer.StartAsync(transport, _responder, o => o.RequestTimeout = TimeSpan.FromSeconds(10), time);
        await using var client = await server.ConnectAsync();

        await client.SendRequestAsync("postfix", key);
        await _responder.WaitEnteredAsync(TestContext.Current.CancellationToken);
        await time.CreatedAsync(TimeSpan.FromSeconds(10)).WaitAsync(TestContext.Current.CancellationToken); // the handler has armed the request's deadline
        time.Advance(TimeSpan.FromSeconds(9));
        Assert.Empty(server.LogsWithEventId(TimedOutEvent));
        time.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal("TEMP lookup timed out", await client.ReadReplyAsync());
        Assert.Single(server.LogsWithEventId(TimedOutEvent));
        Assert.Equal("OK postfix:next.example", await client.RequestAsync("postfix", "next.example"));
        if (key == FakeSocketmapResponder.Slow)
        {
            Assert.Equal([FakeSocketmapResponder.Slow], _responder.Cancelled);
        }
    }

    [Theory]
    [InlineData("tcp", FakeSocketmapResponder.Throws)]
    [InlineData("unix", FakeSocketmapResponder.Throws)]
    [InlineData("tcp", FakeSocketmapResponder.ThrowsSynchronously)]
    [InlineData("unix", FakeSocketmapResponder.ThrowsTimeout)]
    [InlineData("tcp", FakeSocketmapResponder.ReturnsNull)]
    public async Task Request_ResponderFails_TempInternalErrorAndServerKeepsServing(string transport, string key)
    {
        await using var server = await SocketmapTestServer.StartAsync(transport, _responder);
        await using var client = await server.ConnectAsync();

        Assert.Equal("TEMP internal error", await client.RequestAsync("postfix", key));

        Assert.Equal("OK postfix:next.example", await client.RequestAsync("postfix", "next.example"));
        await using var other = await server.ConnectAsync();
        Assert.Equal("OK postfix:other.example", await other.RequestAsync("postfix", "other.example"));
        var logged = Assert.Single(server.LogsWithEventId(ResponderFailedEvent));
        Assert.NotNull(logged.Exception);
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Connection_SilentClient_DoesNotBlockOthers(string transport)
    {
        await using var server = await SocketmapTestServer.StartAsync(transport, _responder);
        await using var silent = await server.ConnectAsync();
        await using var half = await server.ConnectAsync();
        await half.SendAsync("19:postfix half"u8.ToArray());

        await using var client = await server.ConnectAsync();

        Assert.Equal("OK postfix:example.com", await client.RequestAsync("postfix", "example.com"));
        Assert.False(await silent.IsClosedByServerAsync(TimeSpan.FromMilliseconds(200)));
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Reply_Over100000Bytes_TempReplyTooLong(string transport)
    {
        await using var server = await SocketmapTestServer.StartAsync(transport, _responder);
        await using var client = await server.ConnectAsync();

        Assert.Equal("TEMP reply too long", await client.RequestAsync("postfix", FakeSocketmapResponder.TooBig));
        var biggest = await client.RequestAsync("postfix", FakeSocketmapResponder.Biggest);

        Assert.Equal(SocketmapReply.MaxBytes, Encoding.UTF8.GetByteCount(biggest));
        Assert.StartsWith("OK xxx", biggest, StringComparison.Ordinal);
        Assert.Single(server.LogsWithEventId(ReplyTooLongEvent));
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Connection_Idle_KeptUntilIdleTimeoutThenClosed(string transport)
    {
        var time = new FakeTimeProvider();
        await using var server = await SocketmapTestServer.StartAsync(transport, _responder, o => o.IdleTimeout = TimeSpan.FromMinutes(5), time);
        await using var client = await server.ConnectAsync();
        Assert.Equal("OK postfix:a.example", await client.RequestAsync("postfix", "a.example"));

        time.Advance(TimeSpan.FromMinutes(4));
        Assert.Equal("OK postfix:b.example", await client.RequestAsync("postfix", "b.example"));
        time.Advance(TimeSpan.FromMinutes(4));
        Assert.Equal("OK postfix:c.example", await client.RequestAsync("postfix", "c.example"));

        // The handler arms the idle timer just after writing the reply; nudge the clock until it has.
        bool closed = false;
        for (int i = 0; i < 50 && !closed; i++)
        {
            time.Advance(TimeSpan.FromMinutes(5));
            closed = await client.IsClosedByServerAsync(TimeSpan.FromMilliseconds(100));
        }

        Assert.True(closed);
        Assert.Single(server.LogsWithEventId(IdleEvent));
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Connection_ClientClosesMidLookup_ServerKeepsServing(string transport)
    {
        await using var server = await SocketmapTestServer.StartAsync(transport, _responder);
        var client = await server.ConnectAsync();
        await client.SendRequestAsync("postfix", FakeSocketmapResponder.Gated);
        await _responder.WaitEnteredAsync(TestContext.Current.CancellationToken);

        await client.DisposeAsync();
        _responder.OpenGate();

        await using var other = await server.ConnectAsync();
        Assert.Equal("OK postfix:other.example", await other.RequestAsync("postfix", "other.example"));
        Assert.DoesNotContain(server.Logs, e => e.Level >= Microsoft.Extensions.Logging.LogLevel.Error);
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Server_StopWithIdleConnections_ClosesThemPromptly(string transport)
    {
        var server = await SocketmapTestServer.StartAsync(transport, _responder);
        await using var client = await server.ConnectAsync();
        Assert.Equal("OK postfix:a.example", await client.RequestAsync("postfix", "a.example"));
        var stopwatch = System.Diagnostics.Stopwatch.StartNew();

        await server.DisposeAsync();

        Assert.InRange(stopwatch.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(4));
        Assert.True(await client.IsClosedByServerAsync());
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task UnixSocket_ModeGiven_AppliedAfterBind()
    {
        const UnixFileMode mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite;
        await using var server = await SocketmapTestServer.StartAsync("unix", _responder, unixMode: mode);

        Assert.Equal(mode, File.GetUnixFileMode(server.UnixPath!));
        await using var client = await server.ConnectAsync();
        Assert.Equal("OK postfix:example.com", await client.RequestAsync("postfix", "example.com"));
    }

    [Fact]
    public async Task UnixSocket_StaleSocketFile_RemovedAndServed()
    {
        // A socket file whose process is gone. .NET unlinks a socket file when the socket is disposed, as a crashed
        // daemon would not; so bind elsewhere and move the file into place first.
        var path = SocketmapTestServer.NewUnixSocketPath();
        var boundAt = SocketmapTestServer.NewUnixSocketPath();
        using (var dead = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified))
        {
            dead.Bind(new System.Net.Sockets.UnixDomainSocketEndPoint(boundAt));
            dead.Listen();
            File.Move(boundAt, path);
        }

        Assert.True(File.Exists(path));

        await using var server = await SocketmapTestServer.StartAsync("unix", _responder, unixPath: path);
        await using var client = await server.ConnectAsync();

        Assert.Equal("OK postfix:example.com", await client.RequestAsync("postfix", "example.com"));
        Assert.Single(server.LogsWithEventId(210));
    }

    [Fact]
    public async Task UnixSocket_LiveServerOnPath_Refused()
    {
        await using var first = await SocketmapTestServer.StartAsync("unix", _responder);

        var ex = await Assert.ThrowsAnyAsync<Exception>(() => SocketmapTestServer.StartAsync("unix", _responder, unixPath: first.UnixPath));

        Assert.Contains("Another process", ex.ToString(), StringComparison.Ordinal);
        await using var client = await first.ConnectAsync();
        Assert.Equal("OK postfix:example.com", await client.RequestAsync("postfix", "example.com"));
    }

    [Fact]
    public async Task UnixSocket_RegularFileOnPath_NotDeleted()
    {
        var path = SocketmapTestServer.NewUnixSocketPath();
        await File.WriteAllTextAsync(path, "precious", TestContext.Current.CancellationToken);
        try
        {
            await Assert.ThrowsAnyAsync<Exception>(() => SocketmapTestServer.StartAsync("unix", _responder, unixPath: path));

            Assert.Equal("precious", await File.ReadAllTextAsync(path, TestContext.Current.CancellationToken));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
