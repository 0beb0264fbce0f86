using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Rampart.Core.Dns;

namespace Rampart.Core.Tests.Servers;

/// <summary>RR type numbers (RFC 1035 §3.2.2, RFC 3596, RFC 6698, RFC 6891).</summary>
internal static class RrType
{
    public const ushort A = 1;
    public const ushort Cname = 5;
    public const ushort Mx = 15;
    public const ushort Txt = 16;
    public const ushort Aaaa = 28;
    public const ushort Opt = 41;
    public const ushort Tlsa = 52;
}

/// <summary>A question the server received.</summary>
internal sealed record ScriptedQuery(ushort Id, string Name, ushort Type, bool DnssecOk, bool OverTcp);

/// <summary>One answer-section RR, with RDATA already in wire format.</summary>
internal sealed record ScriptedRecord(string Owner, ushort Type, byte[] Data, uint Ttl = 300)
{
    /// <summary>A TXT RR made of these character-strings (RFC 1035 §3.3.14).</summary>
    public static ScriptedRecord Txt(string owner, params string[] strings)
    {
        var data = new List<byte>();
        foreach (var s in strings)
        {
            var bytes = Encoding.UTF8.GetBytes(s);
            data.Add((byte)bytes.Length);
            data.AddRange(bytes);
        }

        return new(owner, RrType.Txt, [.. data]);
    }

    public static ScriptedRecord Cname(string owner, string target) => new(owner, RrType.Cname, DnsWire.EncodeName(target));

    public static ScriptedRecord A(string owner, string address) => new(owner, RrType.A, IPAddress.Parse(address).GetAddressBytes());

    public static ScriptedRecord Aaaa(string owner, string address) => new(owner, RrType.Aaaa, IPAddress.Parse(address).GetAddressBytes());

    public static ScriptedRecord Mx(string owner, ushort preference, string exchange)
    {
        var data = new byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(data, preference);
        return new(owner, RrType.Mx, [.. data, .. DnsWire.EncodeName(exchange)]);
    }

    public static ScriptedRecord Tlsa(string owner, byte usage, byte selector, byte matchingType, byte[] association) =>
        new(owner, RrType.Tlsa, [usage, selector, matchingType, .. association]);
}

/// <summary>How the server answers one query.</summary>
internal sealed record ScriptedReply
{
    public int Rcode { get; init; }

    public bool Ad { get; init; }

    public IReadOnlyList<ScriptedRecord> Answers { get; init; } = [];

    /// <summary>Send nothing at all (an outage, or a packet filter).</summary>
    public bool Silent { get; init; }

    /// <summary>Over UDP, answer with TC set and no records; over TCP, answer in full.</summary>
    public bool TruncateOverUdp { get; init; }

    /// <summary>Send these bytes, with the query's id patched in, instead of a built response.</summary>
    public byte[]? Raw { get; init; }

    /// <summary>Echo this name in the question section instead of the one asked.</summary>
    public string? QuestionName { get; init; }

    public static ScriptedReply Records(bool ad, params ScriptedRecord[] answers) => new() { Ad = ad, Answers = answers };

    public static ScriptedReply NoData(bool ad = false) => new() { Ad = ad };

    public static ScriptedReply NxDomain(bool ad = false) => new() { Rcode = 3, Ad = ad };

    public static ScriptedReply WithRcode(int rcode) => new() { Rcode = rcode };

    public static ScriptedReply Silence { get; } = new() { Silent = true };
}

/// <summary>DNS wire-format helpers for the scripted server.</summary>
internal static class DnsWire
{
    public static byte[] EncodeName(string name)
    {
        var bytes = new List<byte>();
        foreach (var label in name.TrimEnd('.').Split('.', StringSplitOptions.RemoveEmptyEntries))
        {
            var ascii = Encoding.ASCII.GetBytes(label);
            bytes.Add((byte)ascii.Length);
            bytes.AddRange(ascii);
        }

        bytes.Add(0);
        return [.. bytes];
    }

    /// <summary>Reads an uncompressed name (queries never use compression).</summary>
    public static string ReadName(ReadOnlySpan<byte> message, ref int offset)
    {
        var labels = new List<string>();
        while (message[offset] != 0)
        {
            var length = message[offset];
            labels.Add(Encoding.ASCII.GetString(message.Slice(offset + 1, length)));
            offset += 1 + length;
        }

        offset++;
        return string.Join('.', labels);
    }
}

/// <summary>
/// A tiny scripted DNS responder on 127.0.0.1 (UDP, plus TCP on the same port for truncation fallback).
/// It answers every query from a script, so the adapter's mapping can be unit-tested: RCODE, AD flag,
/// hand-built answer RRs, silence, truncation, garbage. It is a fake, not a resolver: no recursion, no DNSSEC.
/// </summary>
internal sealed class ScriptedDnsServer : IAsyncDisposable
{
    private readonly Func<ScriptedQuery, ScriptedReply> _script;
    private readonly Socket _udp;
    private readonly TcpListener _tcp;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentQueue<ScriptedQuery> _queries = new();
    private readonly Task _udpLoop;
    private readonly Task _tcpLoop;

    private ScriptedDnsServer(Func<ScriptedQuery, ScriptedReply> script, Socket udp, TcpListener tcp)
    {
        _script = script;
        _udp = udp;
        _tcp = tcp;
        var port = ((IPEndPoint)udp.LocalEndPoint!).Port;
        Endpoint = new ResolverEndpoint(IPAddress.Loopback, port);
        _udpLoop = Task.Run(ServeUdpAsync);
        _tcpLoop = Task.Run(ServeTcpAsync);
    }

    public ResolverEndpoint Endpoint { get; }

    public IReadOnlyList<ScriptedQuery> Queries => [.. _queries];

    public static ScriptedDnsServer Start(Func<ScriptedQuery, ScriptedReply> script)
    {
        for (var attempt = 0; ; attempt++)
        {
            var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            udp.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            var port = ((IPEndPoint)udp.LocalEndPoint!).Port;
            var tcp = new TcpListener(IPAddress.Loopback, port);
            try
            {
                tcp.Start();
                return new ScriptedDnsServer(script, udp, tcp);
            }
            catch (SocketException) when (attempt < 20)
            {
                udp.Dispose(); // the TCP port is taken: pick another pair
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _udp.Dispose();
        _tcp.Stop();
        try
        {
            await Task.WhenAll(_udpLoop, _tcpLoop);
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }

        _stop.Dispose();
    }

    private async Task ServeUdpAsync()
    {
        var buffer = new byte[65535];
        EndPoint any = new IPEndPoint(IPAddress.Any, 0);
        while (!_stop.IsCancellationRequested)
        {
            SocketReceiveFromResult received;
            try
            {
                received = await _udp.ReceiveFromAsync(buffer, SocketFlags.None, any, _stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            var reply = Respond(buffer.AsSpan(0, received.ReceivedBytes).ToArray(), overTcp: false);
            if (reply is not null)
            {
                try
                {
                    await _udp.SendToAsync(reply, SocketFlags.None, received.RemoteEndPoint, _stop.Token);
                }
                catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
                {
                    return;
                }
            }
        }
    }

    private async Task ServeTcpAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _tcp.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException or InvalidOperationException)
            {
                return;
            }

            _ = Task.Run(() => ServeTcpClientAsync(client));
        }
    }

    private async Task ServeTcpClientAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                var stream = client.GetStream();
                var prefix = new byte[2];
                while (true)
                {
                    await stream.ReadExactlyAsync(prefix, _stop.Token);
                    var query = new byte[BinaryPrimitives.ReadUInt16BigEndian(prefix)];
                    await stream.ReadExactlyAsync(query, _stop.Token);
                    var reply = Respond(query, overTcp: true);
                    if (reply is null)
                    {
                        continue;
                    }

                    var framed = new byte[reply.Length + 2];
                    BinaryPrimitives.WriteUInt16BigEndian(framed, (ushort)reply.Length);
                    reply.CopyTo(framed, 2);
                    await stream.WriteAsync(framed, _stop.Token);
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or IOException or EndOfStreamException or SocketException)
            {
            }
        }
    }

    private byte[]? Respond(byte[] query, bool overTcp)
    {
        var id = BinaryPrimitives.ReadUInt16BigEndian(query);
        var flags = BinaryPrimitives.ReadUInt16BigEndian(query.AsSpan(2));
        var additionalCount = BinaryPrimitives.ReadUInt16BigEndian(query.AsSpan(10));
        var offset = 12;
        var name = DnsWire.ReadName(query, ref offset);
        var type = BinaryPrimitives.ReadUInt16BigEndian(query.AsSpan(offset));
        offset += 4;
        var questionEnd = offset;

        var hasOpt = false;
        var dnssecOk = false;
        if (additionalCount > 0 && query[offset] == 0 && BinaryPrimitives.ReadUInt16BigEndian(query.AsSpan(offset + 1)) == RrType.Opt)
        {
            hasOpt = true;
            var optFlags = BinaryPrimitives.ReadUInt16BigEndian(query.AsSpan(offset + 7));
            dnssecOk = (optFlags & 0x8000) != 0;
        }

        var asked = new ScriptedQuery(id, name, type, dnssecOk, overTcp);
        _queries.Enqueue(asked);
        var reply = _script(asked);
        if (reply.Silent)
        {
            return null;
        }

        if (reply.Raw is not null)
        {
            var raw = reply.Raw.ToArray();
            if (raw.Length >= 2)
            {
                BinaryPrimitives.WriteUInt16BigEndian(raw, id);
            }

            return raw;
        }

        var truncate = reply.TruncateOverUdp && !overTcp;
        IReadOnlyList<ScriptedRecord> answers = truncate ? [] : reply.Answers;
        var message = new List<byte>();
        var responseFlags = (ushort)(0x8000 | (flags & 0x7800) | (flags & 0x0100) | 0x0080 | (reply.Rcode & 0xF));
        if (reply.Ad)
        {
            responseFlags |= 0x0020;
        }

        if (truncate)
        {
            responseFlags |= 0x0200;
        }

        AppendUInt16(message, id);
        AppendUInt16(message, responseFlags);
        AppendUInt16(message, 1);
        AppendUInt16(message, (ushort)answers.Count);
        AppendUInt16(message, 0);
        AppendUInt16(message, (ushort)(hasOpt ? 1 : 0));
        if (reply.QuestionName is null)
        {
            message.AddRange(query.AsSpan(12, questionEnd - 12).ToArray());
        }
        else
        {
            message.AddRange(DnsWire.EncodeName(reply.QuestionName));
            AppendUInt16(message, type);
            AppendUInt16(message, 1);
        }

        foreach (var rr in answers)
        {
            message.AddRange(DnsWire.EncodeName(rr.Owner));
            AppendUInt16(message, rr.Type);
            AppendUInt16(message, 1);
            AppendUInt16(message, (ushort)(rr.Ttl >> 16));
            AppendUInt16(message, (ushort)rr.Ttl);
            AppendUInt16(message, (ushort)rr.Data.Length);
            message.AddRange(rr.Data);
        }

        if (hasOpt)
        {
            message.Add(0);
            AppendUInt16(message, RrType.Opt);
            AppendUInt16(message, 1232);
            AppendUInt16(message, 0);
            AppendUInt16(message, (ushort)(dnssecOk ? 0x8000 : 0));
            AppendUInt16(message, 0);
        }

        return [.. message];
    }

    private static void AppendUInt16(List<byte> message, ushort value)
    {
        message.Add((byte)(value >> 8));
        message.Add((byte)value);
    }
}
