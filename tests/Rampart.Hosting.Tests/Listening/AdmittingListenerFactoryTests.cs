using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Rampart.Hosting.Listening;

namespace Rampart.Hosting.Tests.Listening;

/// <summary>The accept loop on a real loopback socket, driven as Kestrel drives it (AcceptAsync, then DisposeAsync of each connection).</summary>
public sealed class AdmittingListenerFactoryTests
{
    private static readonly CancellationToken s_ct = TestContext.Current.CancellationToken;

    private static (AdmittingListenerFactory Factory, ConnectionAdmission Admission) Create(int limit)
    {
        var admission = new ConnectionAdmission(limit, TimeProvider.System, NullLogger.Instance);
        return (new AdmittingListenerFactory(new SocketTransportOptions(), admission, TimeProvider.System, NullLoggerFactory.Instance), admission);
    }

    private static async Task<Socket> ConnectAsync(EndPoint endPoint)
    {
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(endPoint, s_ct);
        return client;
    }

    [Fact]
    public async Task AcceptAsync_BeyondTheLimit_ClosedAtOnceCountedAndAdmittedAgainOnceOneCloses()
    {
        var (factory, admission) = Create(limit: 2);
        await using var listener = await factory.BindAsync(new IPEndPoint(IPAddress.Loopback, 0), s_ct);
        using var first = await ConnectAsync(listener.EndPoint);
        using var second = await ConnectAsync(listener.EndPoint);
        var one = (await listener.AcceptAsync(s_ct))!;
        await using var two = (await listener.AcceptAsync(s_ct))!;

        using var third = await ConnectAsync(listener.EndPoint);
        var next = listener.AcceptAsync(s_ct).AsTask(); // takes the third, refuses it, waits for another
        var refusedRead = await third.ReceiveAsync(new byte[1], s_ct);
        Assert.False(next.IsCompleted);
        Assert.Equal(2, admission.Open);

        await one.DisposeAsync();
        using var fourth = await ConnectAsync(listener.EndPoint);
        await using var four = (await next)!;

        Assert.Equal(0, refusedRead); // end of stream: closed by the server
        Assert.Equal(2, admission.Open);
        var port = ((IPEndPoint)listener.EndPoint).Port;
        Assert.Contains($"rampart_connections_refused_total{{listener=\"127.0.0.1:{port}\"}} 1\n", admission.RenderMetrics(), StringComparison.Ordinal);
        Assert.Contains("rampart_connections_max 2\n", admission.RenderMetrics(), StringComparison.Ordinal);
        Assert.Contains("rampart_connections_open 2\n", admission.RenderMetrics(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AcceptAsync_AcceptFails_WaitsLongerEachTimeAndKeepsAcceptingUntilUnbound()
    {
        var time = new FakeTimeProvider();
        var admission = new ConnectionAdmission(5, time, NullLogger.Instance);
        var counts = admission.Register("test");
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        socket.Listen();
        socket.Shutdown(SocketShutdown.Receive); // Linux stops listening: every accept fails (EINVAL)
        await using var listener = new AdmittingConnectionListener(socket, socket.LocalEndPoint!, noDelay: true,
            new SocketConnectionContextFactory(new SocketConnectionFactoryOptions(), NullLogger.Instance), admission, counts, time);
        void Failures(long expected) => Assert.True(SpinWait.SpinUntil(() => counts.AcceptFailures == expected, TimeSpan.FromSeconds(10)),
            $"{counts.AcceptFailures} failed accepts, expected {expected}");

        var accepting = listener.AcceptAsync(s_ct).AsTask();
        Failures(1);
        time.Advance(TimeSpan.FromMilliseconds(9));
        Failures(1);
        time.Advance(TimeSpan.FromMilliseconds(1));
        Failures(2);
        time.Advance(TimeSpan.FromMilliseconds(19));
        Failures(2);
        time.Advance(TimeSpan.FromMilliseconds(1));
        Failures(3);
        Assert.False(accepting.IsCompleted); // still accepting: Kestrel's loop goes on
        await listener.UnbindAsync(s_ct);

        Assert.Null(await accepting);
        Assert.Equal(3, counts.AcceptFailures);
        Assert.Equal(0, admission.Open);
        Assert.Contains("rampart_accept_failures_total{listener=\"test\"} 3\n", admission.RenderMetrics(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AcceptAsync_ConnectionDisposedTwice_ItsPlaceGivenBackOnce()
    {
        var (factory, admission) = Create(limit: 5);
        await using var listener = await factory.BindAsync(new IPEndPoint(IPAddress.Loopback, 0), s_ct);
        using var client = await ConnectAsync(listener.EndPoint);
        var connection = (await listener.AcceptAsync(s_ct))!;

        await connection.DisposeAsync();
        await connection.DisposeAsync();

        Assert.Equal(0, admission.Open);
    }

    [Fact]
    public async Task AcceptAsync_Unbound_ReturnsNullSoKestrelEndsTheLoop()
    {
        var (factory, _) = Create(limit: 5);
        await using var listener = await factory.BindAsync(new IPEndPoint(IPAddress.Loopback, 0), s_ct);
        var pending = listener.AcceptAsync(s_ct).AsTask();

        await listener.UnbindAsync(s_ct);

        Assert.Null(await pending);
    }

    [Fact]
    public async Task BindAsync_PortHeld_ListenFailedExceptionNamingTheAddress()
    {
        using var busy = new TcpListener(IPAddress.Loopback, 0);
        busy.Start();
        var (factory, _) = Create(limit: 5);

        var error = await Assert.ThrowsAsync<ListenFailedException>(async () => await factory.BindAsync(busy.LocalEndpoint, s_ct));

        Assert.Equal(SocketError.AddressAlreadyInUse, error.Error);
        Assert.Equal(busy.LocalEndpoint, error.EndPoint);
    }

    [Fact]
    public void CanBind_WhatKestrelsSocketTransportBinds()
    {
        var (factory, _) = Create(limit: 5);

        Assert.True(factory.CanBind(new IPEndPoint(IPAddress.Loopback, 1)));
        Assert.True(factory.CanBind(new UnixDomainSocketEndPoint("/tmp/x.sock")));
        Assert.True(factory.CanBind(new FileHandleEndPoint(3, FileHandleType.Auto)));
        Assert.False(factory.CanBind(new DnsEndPoint("localhost", 1)));
    }
}
