using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Rampart.Postfix.Socketmap;

/// <summary>
/// Where the socketmap server listens, in the forms Postfix's <c>socketmap:</c> table names use:
/// <c>127.0.0.1:8461</c>, <c>[::1]:8461</c>, <c>localhost:8461</c> (optionally prefixed <c>inet:</c>), or
/// <c>unix:/run/rampart/socketmap.sock</c> (with an optional octal mode suffix, <c>unix:/run/rampart/socketmap.sock:0660</c>). Port 0 picks a free port (tests). For a Unix socket,
/// <see cref="UnixSocketMode"/> (e.g. 0660, so Postfix's group can connect) is applied after Kestrel binds.
/// </summary>
internal sealed partial record SocketmapEndpoint
{
    /// <summary>sun_path is 108 bytes on Linux, including the terminating NUL.</summary>
    private const int MaxUnixPathBytes = 107;

    private SocketmapEndpoint()
    {
    }

    /// <summary>The IP endpoint, or null for <c>localhost</c> and Unix sockets.</summary>
    public IPEndPoint? IPEndPoint { get; private init; }

    /// <summary><c>localhost:port</c>: Kestrel's <c>ListenLocalhost</c> (IPv4 and IPv6 loopback).</summary>
    public bool IsLocalhost { get; private init; }

    public int Port { get; private init; }

    public string? UnixSocketPath { get; private init; }

    /// <summary>File mode applied to the Unix socket file after binding; null leaves the umask's choice.</summary>
    public UnixFileMode? UnixSocketMode { get; init; }

    /// <summary><c>USER[:GROUP]</c> the Unix socket file is given to after binding (needs root); null keeps the daemon's.</summary>
    public string? UnixSocketOwner { get; init; }

    public static SocketmapEndpoint Unix(string path, UnixFileMode? mode = null) =>
        TryParse("unix:" + path, out var endpoint, out var error)
            ? endpoint with { UnixSocketMode = mode }
            : throw new FormatException(error);

    public static SocketmapEndpoint Tcp(IPEndPoint endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        return new SocketmapEndpoint { IPEndPoint = endpoint, Port = endpoint.Port };
    }

    /// <exception cref="FormatException">The text is not one of the accepted forms.</exception>
    public static SocketmapEndpoint Parse(string value) =>
        TryParse(value, out var endpoint, out var error) ? endpoint : throw new FormatException(error);

    /// <summary>Parses <paramref name="value"/>; the error names it: <c>'nowhere' is not a socketmap address: …</c>.</summary>
    public static bool TryParse(
        [NotNullWhen(true)] string? value,
        [NotNullWhen(true)] out SocketmapEndpoint? endpoint,
        [NotNullWhen(false)] out string? error)
    {
        (endpoint, var problem) = Read(value);
        error = endpoint is null ? $"'{value}' {problem}" : null;
        return endpoint is not null;
    }

    /// <summary>The endpoint, or what is wrong with <paramref name="value"/>, worded to follow it quoted ("is not a socketmap address: …").</summary>
    public static (SocketmapEndpoint? Endpoint, string? Problem) Read(string? value)
    {
        const string NotOne = "is not a socketmap address: ";
        var text = value?.Trim() ?? "";
        if (text.StartsWith("unix:", StringComparison.Ordinal))
        {
            var path = text["unix:".Length..];
            UnixFileMode? mode = null;
            if (ModeSuffix().Match(path) is { Success: true } suffix)
            {
                // unix:/run/rampart/socketmap.sock:0660
                mode = (UnixFileMode)Convert.ToInt32(suffix.Groups[1].Value, 8);
                path = path[..suffix.Index];
            }
            if (!Path.IsPathFullyQualified(path))
            {
                return (null, NotOne + "the Unix socket path must be absolute (unix:/run/rampart/socketmap.sock)");
            }
            if (Encoding.UTF8.GetByteCount(path) > MaxUnixPathBytes)
            {
                return (null, NotOne + $"the Unix socket path is longer than {MaxUnixPathBytes} bytes");
            }
            return (new SocketmapEndpoint { UnixSocketPath = path, UnixSocketMode = mode }, null);
        }

        if (text.StartsWith("inet:", StringComparison.Ordinal))
        {
            text = text["inet:".Length..];
        }

        int colon = text.LastIndexOf(':');
        if (colon < 0
            || !int.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int port)
            || port > IPEndPoint.MaxPort)
        {
            return (null, NotOne + "give IP:PORT, [IPv6]:PORT, localhost:PORT or unix:/path (e.g. 127.0.0.1:8461)");
        }

        var host = text[..colon];
        if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase))
        {
            return (new SocketmapEndpoint { IsLocalhost = true, Port = port }, null);
        }

        bool bracketed = host.Length > 2 && host[0] == '[' && host[^1] == ']';
        var literal = bracketed ? host[1..^1] : host;
        if (!IPAddress.TryParse(literal, out var address)
            || (address.AddressFamily == AddressFamily.InterNetworkV6) != bracketed
            || (!bracketed && literal.Count(c => c == '.') != 3))
        {
            return (null, NotOne + $"'{host}' is not an IPv4 address, a bracketed IPv6 address or localhost");
        }

        return (new SocketmapEndpoint { IPEndPoint = new IPEndPoint(address, port), Port = port }, null);
    }

    /// <summary>Parses an octal file mode such as <c>0660</c> or <c>660</c>.</summary>
    public static bool TryParseMode(string? octal, out UnixFileMode mode, [NotNullWhen(false)] out string? error)
    {
        mode = default;
        var text = octal?.Trim() ?? "";
        if (text.Length is < 3 or > 4 || text.Any(c => c is < '0' or > '7'))
        {
            error = $"'{octal}' is not an octal file mode such as 0660";
            return false;
        }

        mode = (UnixFileMode)Convert.ToInt32(text, 8);
        error = null;
        return true;
    }

    /// <summary>Whether Kestrel's bound <paramref name="endpoint"/> is this address (to name the option of a listener that failed).</summary>
    public bool Serves(EndPoint endpoint) => endpoint switch
    {
        UnixDomainSocketEndPoint unix => UnixSocketPath is not null && unix.ToString() == UnixSocketPath,
        IPEndPoint ip when IsLocalhost => IPAddress.IsLoopback(ip.Address) && ip.Port == Port,
        IPEndPoint ip => ip.Equals(IPEndPoint),
        _ => false,
    };

    public override string ToString() =>
        UnixSocketPath is { } path ? "unix:" + path
        : IsLocalhost ? string.Create(CultureInfo.InvariantCulture, $"localhost:{Port}")
        : IPEndPoint!.ToString();

    [System.Text.RegularExpressions.GeneratedRegex(@":([0-7]{3,4})$")]
    private static partial System.Text.RegularExpressions.Regex ModeSuffix();
}
