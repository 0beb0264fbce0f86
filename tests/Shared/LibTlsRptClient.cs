using System.Net.Sockets;
using System.Text;

namespace Rampart.Tests.Shared;

/// <summary>
/// What sys4's libtlsrpt (0.5.x, libtlsrpt.c) sends, byte for byte, built through the same calls Postfix makes:
/// <c>tlsrpt_init_delivery_request</c>, <c>tlsrpt_init_policy</c>, <c>tlsrpt_add_policy_string</c>,
/// <c>tlsrpt_add_mx_host_pattern</c>, <c>tlsrpt_add_delivery_request_failure</c>, <c>tlsrpt_finish_policy</c> and
/// <c>tlsrpt_finish_delivery_request</c>. A null argument omits its key, as the library does; strings are escaped with
/// the library's table (bytes above 127 raw). <see cref="Legacy"/> leaves out "dpv" and "pr", as libraries before 0.5.0 did.
/// </summary>
internal sealed class LibTlsRptDatagramBuilder
{
    private readonly StringBuilder _main = new();
    private StringBuilder? _strings, _mx, _failures;
    private int _policies, _failureCount;

    /// <summary><c>tlsrpt_init_delivery_request(dr, con, domain, record)</c>.</summary>
    public LibTlsRptDatagramBuilder(string domain, string record, bool legacy = false)
    {
        Legacy = legacy;
        _main.Append('{');
        if (legacy)
        {
            _main.Append("\"d\": \"").Append(Escape(domain)).Append('"');
        }
        else
        {
            _main.Append("\"dpv\": \"1\",\"d\": \"").Append(Escape(domain)).Append("\",\"pr\": \"").Append(Escape(record)).Append('"');
        }
    }

    /// <summary>Without "dpv" and "pr" (libtlsrpt before 0.5.0 and 4dc2d36).</summary>
    public bool Legacy { get; }

    /// <summary><c>tlsrpt_init_policy(dr, type, domain)</c>: 1 tlsa, 2 sts, 9 no-policy-found.</summary>
    public LibTlsRptDatagramBuilder Policy(int type, string? domain)
    {
        _strings = new();
        _mx = new();
        _failures = new();
        _failureCount = 0;
        _main.Append(_policies++ == 0 ? ",\"policies\":[{" : ",{");
        _main.Append("\"policy-type\":").Append(type);
        if (domain is not null)
        {
            _main.Append(",\"policy-domain\": \"").Append(Escape(domain)).Append('"');
        }
        return this;
    }

    /// <summary><c>tlsrpt_add_policy_string</c>.</summary>
    public LibTlsRptDatagramBuilder PolicyString(string line)
    {
        _strings!.Append(_strings.Length == 0 ? "\"" : ",\"").Append(Escape(line)).Append('"');
        return this;
    }

    /// <summary><c>tlsrpt_add_mx_host_pattern</c>.</summary>
    public LibTlsRptDatagramBuilder MxHost(string pattern)
    {
        _mx!.Append(_mx.Length == 0 ? "\"" : ",\"").Append(Escape(pattern)).Append('"');
        return this;
    }

    /// <summary><c>tlsrpt_add_delivery_request_failure(dr, code, s, n, h, r, a, f)</c>.</summary>
    public LibTlsRptDatagramBuilder Failure(int code, string? sendingIp = null, string? mxName = null, string? mxHelo = null,
        string? mxIp = null, string? additional = null, string? reason = null)
    {
        _failureCount++;
        _failures!.Append(_failures.Length == 0 ? "{" : ",{").Append("\"c\":").Append(code);
        foreach (var (key, value) in new[] { ("s", sendingIp), ("n", mxName), ("h", mxHelo), ("r", mxIp), ("a", additional), ("f", reason) })
        {
            if (value is not null)
            {
                _failures.Append(",\"").Append(key).Append("\": \"").Append(Escape(value)).Append('"');
            }
        }
        _failures.Append('}');
        return this;
    }

    /// <summary><c>tlsrpt_finish_policy(dr, final)</c>: 0 success, 1 failure.</summary>
    public LibTlsRptDatagramBuilder Finish(int final)
    {
        if (_strings!.Length > 0)
        {
            _main.Append(",\"policy-string\":[").Append(_strings).Append(']');
        }
        if (_mx!.Length > 0)
        {
            _main.Append(",\"mx-host\":[").Append(_mx).Append(']');
        }
        if (_failures!.Length > 0)
        {
            _main.Append(",\"failure-details\":[").Append(_failures).Append(']');
        }
        _main.Append(",\"t\":").Append(_failureCount).Append(",\"f\":").Append(final).Append('}');
        _strings = _mx = _failures = null;
        return this;
    }

    /// <summary><c>tlsrpt_finish_delivery_request</c>: the datagram's bytes.</summary>
    public byte[] Build()
    {
        return Encoding.UTF8.GetBytes(_main.ToString() + (_policies > 0 ? "]" : "") + "}");
    }

    /// <summary>libtlsrpt's escape table (create-json-escape-initializer-list.c): \b \f \n \r \t \\ \" short, other controls and DEL as \u00XX, the rest as is.</summary>
    private static string Escape(string value)
    {
        var text = new StringBuilder(value.Length);
        foreach (var c in value)
        {
            _ = c switch
            {
                '\b' => text.Append("\\b"),
                '\f' => text.Append("\\f"),
                '\n' => text.Append("\\n"),
                '\r' => text.Append("\\r"),
                '\t' => text.Append("\\t"),
                '\\' => text.Append("\\\\"),
                '"' => text.Append("\\\""),
                < ' ' or '\x7f' => text.Append("\\u").Append(((int)c).ToString("x4", System.Globalization.CultureInfo.InvariantCulture)),
                _ => text.Append(c),
            };
        }
        return text.ToString();
    }
}

/// <summary>
/// libtlsrpt's sending side: an AF_UNIX SOCK_DGRAM socket and <c>sendto(..., MSG_DONTWAIT)</c>, so a full receive
/// queue loses the datagram (counted in <see cref="WouldBlock"/>) instead of waiting; or, with
/// <c>blocking</c> (libtlsrpt's <c>tlsrpt_set_blocking</c>, "for debugging and benchmarking"), waiting for room.
/// </summary>
internal sealed class LibTlsRptSender : IDisposable
{
    private readonly Socket _socket;
    private readonly UnixDomainSocketEndPoint _target;

    public LibTlsRptSender(string socketPath, bool blocking = false)
    {
        _socket = new(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified) { Blocking = blocking };
        _target = new UnixDomainSocketEndPoint(socketPath);
    }

    /// <summary>Datagrams the kernel refused because the receiver's queue was full (EAGAIN).</summary>
    public long WouldBlock { get; private set; }

    /// <summary>Datagrams sent.</summary>
    public long Sent { get; private set; }

    /// <summary>Sends one datagram without waiting; false (and counted) when the receiver's queue is full.</summary>
    public bool TrySend(ReadOnlySpan<byte> datagram)
    {
        try
        {
            _socket.SendTo(datagram, SocketFlags.None, _target);
            Sent++;
            return true;
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.WouldBlock)
        {
            WouldBlock++;
            return false;
        }
    }

    public void Dispose() => _socket.Dispose();
}
