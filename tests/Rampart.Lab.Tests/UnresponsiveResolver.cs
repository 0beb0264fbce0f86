using System.Net;
using System.Net.Sockets;

namespace Rampart.Lab.Tests;

/// <summary>
/// A DNS outage as LAB.md defines it: something listens on the resolver's address (UDP and TCP port 53 of
/// 127.0.0.3, the address the lab reserves for it), reads every query and never answers. A closed port would fail at
/// once and hide a stall. Counts the queries it swallowed, so a test can show its client really asked here.
/// </summary>
internal sealed class UnresponsiveResolver : IAsyncDisposable
{
    public static readonly IPEndPoint Address = new(IPAddress.Parse("127.0.0.3"), 53);

    private readonly Socket _udp = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
    private readonly TcpListener _tcp = new(Address);
    private readonly List<TcpClient> _held = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _udpLoop;
    private readonly Task _tcpLoop;
    private readonly TaskCompletionSource _asked = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _queries;

    private UnresponsiveResolver()
    {
        _udp.Bind(Address);
        _tcp.Start();
        _udpLoop = Task.Run(SwallowUdpAsync);
        _tcpLoop = Task.Run(HoldTcpAsync);
    }

    /// <summary>UDP datagrams and TCP connections received so far.</summary>
    public int Queries => Volatile.Read(ref _queries);

    /// <summary>Completes when the first query arrives.</summary>
    public Task Asked => _asked.Task;

    private void Swallowed()
    {
        Interlocked.Increment(ref _queries);
        _asked.TrySetResult();
    }

    /// <summary>Starts listening; fails the test (not a skip) when the address is taken, e.g. by a lab blackhole of its own.</summary>
    public static UnresponsiveResolver Start()
    {
        try
        {
            return new UnresponsiveResolver();
        }
        catch (SocketException e)
        {
            Assert.Fail($"cannot listen on {Address} (UDP+TCP) for the DNS-outage blackhole: {e.SocketErrorCode} {e.Message}");
            throw;
        }
    }

    private async Task SwallowUdpAsync()
    {
        var buffer = new byte[4096];
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                await _udp.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), _stop.Token);
                Swallowed();
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                if (_stop.IsCancellationRequested)
                {
                    return;
                }
            }
        }
    }

    private Task HoldTcpAsync() => Servers.TcpAcceptLoop.RunAsync(_tcp, client =>
    {
        Swallowed();
        lock (_held)
        {
            _held.Add(client);
        }

        _ = DrainAsync(client);
    }, _stop.Token);

    /// <summary>Reads what the client sends and never writes a byte back.</summary>
    private async Task DrainAsync(TcpClient client)
    {
        var buffer = new byte[4096];
        try
        {
            while (await client.GetStream().ReadAsync(buffer, _stop.Token) > 0)
            {
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or IOException or SocketException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _udp.Dispose();
        _tcp.Stop();
        lock (_held)
        {
            foreach (var client in _held)
            {
                client.Dispose();
            }
        }

        await Task.WhenAll(_udpLoop, _tcpLoop);
        _stop.Dispose();
    }
}
