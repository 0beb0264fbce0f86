using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Rampart.Lab.Tests.Servers;

/// <summary>
/// A DNS relay in front of the lab's Unbound that holds every query for a fixed delay before passing it on (UDP, and TCP
/// for a truncated answer's retry), as a resolver cache miss on a real network costs. It logs when each query arrived and
/// when its answer left, on its own clock, so a test can count the DNS round trips a client made in sequence
/// (<see cref="LongestChain"/>) without timing the client. Listens on 127.0.0.1 at a free port (UDP and TCP alike).
/// </summary>
internal sealed class DelayingDnsRelay : IAsyncDisposable
{
    /// <summary>One relayed query: its question, and when it arrived and was answered (from the relay's start).</summary>
    public sealed record Query(string Name, string Type, bool OverTcp, TimeSpan Arrived, TimeSpan Answered)
    {
        public override string ToString() => string.Create(CultureInfo.InvariantCulture,
            $"{Name} {Type}{(OverTcp ? " (tcp)" : "")} {Arrived.TotalMilliseconds:0}-{Answered.TotalMilliseconds:0} ms");
    }

    private static readonly TimeSpan UpstreamTimeout = TimeSpan.FromSeconds(15);

    private readonly IPEndPoint _upstream;
    private readonly TimeSpan _delay;
    private readonly Socket _udp;
    private readonly TcpListener _tcp;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Query> _log = [];
    private readonly List<Task> _loops = [];
    private int _pending;
    private bool _silent;

    private DelayingDnsRelay(IPEndPoint upstream, TimeSpan delay, Socket udp, TcpListener tcp)
    {
        (_upstream, _delay, _udp, _tcp) = (upstream, delay, udp, tcp);
        Endpoint = (IPEndPoint)udp.LocalEndPoint!;
        _loops.Add(Task.Run(RelayUdpAsync));
        _loops.Add(Task.Run(AcceptTcpAsync));
    }

    /// <summary>Where clients send their queries (UDP and TCP).</summary>
    public IPEndPoint Endpoint { get; }

    /// <summary>
    /// While true, every query is read and dropped, never answered (UDP and TCP): the resolver's address looks dead to
    /// its clients, as in an outage (LAB.md: queries dropped, not a closed port).
    /// </summary>
    public bool Silent
    {
        get => Volatile.Read(ref _silent);
        set => Volatile.Write(ref _silent, value);
    }

    /// <summary>Starts relaying to <paramref name="upstream"/>, each query held for <paramref name="delay"/> first.</summary>
    public static DelayingDnsRelay Start(IPEndPoint upstream, TimeSpan delay)
    {
        for (int attempt = 0; ; attempt++)
        {
            var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            udp.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            var tcp = new TcpListener((IPEndPoint)udp.LocalEndPoint!);
            try
            {
                tcp.Start(); // the same port for TCP: taken only if another socket holds it for TCP, then try another
                return new DelayingDnsRelay(upstream, delay, udp, tcp);
            }
            catch (SocketException) when (attempt < 10)
            {
                udp.Dispose();
            }
        }
    }

    /// <summary>The queries relayed and answered so far, in the order their answers left.</summary>
    public IReadOnlyList<Query> Log
    {
        get
        {
            lock (_log)
            {
                return [.. _log];
            }
        }
    }

    /// <summary>Completes when no query is held or waiting for Unbound (polled; at most 30 s, then the test fails).</summary>
    public async Task IdleAsync()
    {
        var deadline = Stopwatch.StartNew();
        while (Volatile.Read(ref _pending) > 0)
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(30), $"the relay still holds {_pending} queries after 30 s");
            await Task.Delay(20);
        }
    }

    /// <summary>
    /// The longest chain of queries each of which arrived after the one before it had been answered: how many DNS round
    /// trips the client made in sequence. Queries that overlap are never in one chain, however long each took, so load on
    /// the client cannot lengthen a chain unless it holds a query back for longer than the relay's delay.
    /// </summary>
    public static IReadOnlyList<Query> LongestChain(IReadOnlyList<Query> log)
    {
        var byArrival = log.OrderBy(q => q.Arrived).ToList();
        var length = new int[byArrival.Count];
        var previous = new int[byArrival.Count];
        for (int i = 0; i < byArrival.Count; i++)
        {
            (length[i], previous[i]) = (1, -1);
            for (int j = 0; j < i; j++)
            {
                if (byArrival[j].Answered <= byArrival[i].Arrived && length[j] + 1 > length[i])
                {
                    (length[i], previous[i]) = (length[j] + 1, j);
                }
            }
        }

        var chain = new List<Query>();
        for (int at = byArrival.Count == 0 ? -1 : Array.IndexOf(length, length.Max()); at >= 0; at = previous[at])
        {
            chain.Insert(0, byArrival[at]);
        }

        return chain;
    }

    private async Task RelayUdpAsync()
    {
        var buffer = new byte[65535];
        while (!_stop.IsCancellationRequested)
        {
            SocketReceiveFromResult received;
            try
            {
                received = await _udp.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), _stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                if (_stop.IsCancellationRequested)
                {
                    return;
                }

                continue;
            }

            if (Silent)
            {
                continue;
            }
            var arrived = _clock.Elapsed;
            var query = buffer.AsSpan(0, received.ReceivedBytes).ToArray();
            var client = received.RemoteEndPoint;
            _ = AnswerAsync(query, arrived, overTcp: false, async answer => await _udp.SendToAsync(answer, SocketFlags.None, client, _stop.Token));
        }
    }

    private Task AcceptTcpAsync() => TcpAcceptLoop.RunAsync(_tcp, client => _ = ServeTcpAsync(client), _stop.Token);

    /// <summary>Length-prefixed queries on one connection, one after the other (RFC 7766 §8).</summary>
    private async Task ServeTcpAsync(TcpClient client)
    {
        using var _ = client;
        var stream = client.GetStream();
        try
        {
            while (await ReadMessageAsync(stream, _stop.Token) is { } query)
            {
                if (Silent)
                {
                    continue;
                }
                await AnswerAsync(query, _clock.Elapsed, overTcp: true, answer => WriteMessageAsync(stream, answer, _stop.Token));
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or IOException or SocketException)
        {
        }
    }

    /// <summary>Holds the query for the delay, asks Unbound, logs the answer's time, then sends it (so a query the answer
    /// causes always arrives after the logged time).</summary>
    private async Task AnswerAsync(byte[] query, TimeSpan arrived, bool overTcp, Func<byte[], Task> send)
    {
        Interlocked.Increment(ref _pending);
        try
        {
            await Task.Delay(_delay, _stop.Token);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            timeout.CancelAfter(UpstreamTimeout);
            var answer = overTcp ? await AskOverTcpAsync(query, timeout.Token) : await AskOverUdpAsync(query, timeout.Token);
            var (name, type) = Question(query);
            lock (_log)
            {
                _log.Add(new Query(name, type, overTcp, arrived, _clock.Elapsed));
            }

            await send(answer);
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or IOException or SocketException)
        {
            // the relay stops, Unbound did not answer within 15 s, or the client went away: nothing to relay
        }
        finally
        {
            Interlocked.Decrement(ref _pending);
        }
    }

    private async Task<byte[]> AskOverUdpAsync(byte[] query, CancellationToken cancellationToken)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        await socket.ConnectAsync(_upstream, cancellationToken);
        await socket.SendAsync(query, SocketFlags.None, cancellationToken);
        var buffer = new byte[65535];
        int length = await socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);
        return buffer.AsSpan(0, length).ToArray();
    }

    private async Task<byte[]> AskOverTcpAsync(byte[] query, CancellationToken cancellationToken)
    {
        using var upstream = new TcpClient();
        await upstream.ConnectAsync(_upstream, cancellationToken);
        var stream = upstream.GetStream();
        await WriteMessageAsync(stream, query, cancellationToken);
        return await ReadMessageAsync(stream, cancellationToken) ?? throw new IOException("Unbound closed the TCP connection without an answer");
    }

    private static async Task<byte[]?> ReadMessageAsync(Stream stream, CancellationToken cancellationToken)
    {
        var prefix = new byte[2];
        try
        {
            await stream.ReadExactlyAsync(prefix, cancellationToken);
        }
        catch (EndOfStreamException)
        {
            return null;
        }

        var message = new byte[BinaryPrimitives.ReadUInt16BigEndian(prefix)];
        await stream.ReadExactlyAsync(message, cancellationToken);
        return message;
    }

    private static async Task WriteMessageAsync(Stream stream, byte[] message, CancellationToken cancellationToken)
    {
        var framed = new byte[message.Length + 2];
        BinaryPrimitives.WriteUInt16BigEndian(framed, (ushort)message.Length);
        message.CopyTo(framed, 2);
        await stream.WriteAsync(framed, cancellationToken);
    }

    /// <summary>The question's name and type, for the log ("?" where the message is too short to say).</summary>
    private static (string Name, string Type) Question(byte[] message)
    {
        var labels = new List<string>();
        int at = 12;
        while (at < message.Length && message[at] is > 0 and < 64 and var length && at + 1 + length <= message.Length)
        {
            labels.Add(System.Text.Encoding.ASCII.GetString(message, at + 1, length));
            at += 1 + length;
        }

        if (at + 3 > message.Length || message[at] != 0)
        {
            return ("?", "?");
        }

        int type = BinaryPrimitives.ReadUInt16BigEndian(message.AsSpan(at + 1));
        return (string.Join('.', labels) + ".", type switch
        {
            1 => "A",
            28 => "AAAA",
            15 => "MX",
            16 => "TXT",
            52 => "TLSA",
            _ => type.ToString(CultureInfo.InvariantCulture),
        });
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _udp.Dispose();
        _tcp.Stop();
        await Task.WhenAll(_loops);
        _stop.Dispose();
    }
}
