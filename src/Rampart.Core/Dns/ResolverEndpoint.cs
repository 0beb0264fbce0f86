using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Rampart.Core.Dns;

/// <summary>
/// The address and port of the validating resolver Rampart asks (<c>--resolver IP[:PORT]</c>).
/// Accepted forms: <c>192.0.2.53</c>, <c>192.0.2.53:5353</c>, <c>[2001:db8::53]:5353</c>, <c>2001:db8::53</c>
/// (a bare IPv6 address takes no port). The port defaults to 53. Host names are refused: the resolver is what
/// turns names into addresses, so it must be named by address.
/// </summary>
public sealed record ResolverEndpoint
{
    public const int DefaultPort = 53;

    public ResolverEndpoint(IPAddress address, int port = DefaultPort)
    {
        ArgumentNullException.ThrowIfNull(address);
        ArgumentOutOfRangeException.ThrowIfLessThan(port, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, 65535);
        Address = address;
        Port = port;
    }

    public IPAddress Address { get; }

    public int Port { get; }

    /// <summary>True for 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104: the only resolvers whose AD bit is trusted by default.</summary>
    public bool IsLoopback => IPAddress.IsLoopback(Address)
        || (Address.IsIPv4MappedToIPv6 && IPAddress.IsLoopback(Address.MapToIPv4()));

    public IPEndPoint ToIPEndPoint() => new(Address, Port);

    /// <summary><c>127.0.0.1:53</c> or <c>[::1]:53</c>: the form used in every message that names the resolver.</summary>
    public override string ToString() => Address.AddressFamily == AddressFamily.InterNetworkV6
        ? $"[{Address}]:{Port.ToString(CultureInfo.InvariantCulture)}"
        : $"{Address}:{Port.ToString(CultureInfo.InvariantCulture)}";

    /// <exception cref="FormatException">The text is not <c>IP</c>, <c>IP:PORT</c>, <c>[IPv6]:PORT</c> or a bare IPv6 address.</exception>
    public static ResolverEndpoint Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        TryParse(text, throwOnError: true, out var endpoint, out _);
        return endpoint!;
    }

    public static bool TryParse([NotNullWhen(true)] string? text, [NotNullWhen(true)] out ResolverEndpoint? endpoint) =>
        TryParse(text, throwOnError: false, out endpoint, out _);

    /// <param name="error">A one-line reason naming the input, when parsing fails.</param>
    public static bool TryParse(
        [NotNullWhen(true)] string? text,
        [NotNullWhen(true)] out ResolverEndpoint? endpoint,
        [NotNullWhen(false)] out string? error) =>
        TryParse(text, throwOnError: false, out endpoint, out error);

    private static bool TryParse(string? text, bool throwOnError, out ResolverEndpoint? endpoint, out string? error)
    {
        endpoint = null;
        error = Validate(text, out var address, out var port);
        if (error is null)
        {
            endpoint = new ResolverEndpoint(address!, port);
            return true;
        }

        if (throwOnError)
        {
            throw new FormatException(error);
        }

        return false;
    }

    private static string? Validate(string? text, out IPAddress? address, out int port)
    {
        address = null;
        port = DefaultPort;
        var input = text?.Trim() ?? "";
        if (input.Length == 0)
        {
            return "resolver address is empty; expected IP, IP:PORT or [IPv6]:PORT";
        }

        string host;
        string? portText = null;
        if (input[0] == '[')
        {
            var close = input.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                return $"resolver '{input}': missing ']' after the IPv6 address";
            }

            host = input[1..close];
            var rest = input[(close + 1)..];
            if (rest.Length > 0)
            {
                if (rest[0] != ':')
                {
                    return $"resolver '{input}': expected ':PORT' after ']'";
                }

                portText = rest[1..];
            }

            if (!host.Contains(':', StringComparison.Ordinal))
            {
                return $"resolver '{input}': brackets are for IPv6 addresses only";
            }
        }
        else
        {
            var colons = input.Count(c => c == ':');
            if (colons == 1)
            {
                var colon = input.IndexOf(':', StringComparison.Ordinal);
                host = input[..colon];
                portText = input[(colon + 1)..];
            }
            else
            {
                host = input; // IPv4 without port, or a bare IPv6 address (which cannot carry a port)
            }
        }

        if (portText is not null && !TryParsePort(portText, out port))
        {
            return $"resolver '{input}': port '{portText}' is not a number from 1 to 65535";
        }

        var addressError = TryParseAddress(host, out address);
        if (addressError is not null)
        {
            return $"resolver '{input}': {addressError}";
        }

        if (address!.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any))
        {
            return $"resolver '{input}': the unspecified address cannot be queried";
        }

        return null;
    }

    private static bool TryParsePort(string text, out int port)
    {
        port = 0;
        return text.Length is > 0 and <= 5
            && text.All(char.IsAsciiDigit)
            && int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out port)
            && port is >= 1 and <= 65535;
    }

    /// <summary>
    /// Strict address parsing shared with <see cref="ResolvConf"/>: IPv4 only as four decimal octets (no <c>127.1</c>),
    /// IPv6 with an optional <c>%scope</c>. A scope is kept for link-local addresses (which need one) when it names an
    /// interface of this host; on any other address it is meaningless and dropped.
    /// </summary>
    /// <returns>Null on success, else a short reason.</returns>
    internal static string? TryParseAddress(string text, out IPAddress? address)
    {
        address = null;
        if (text.Length == 0)
        {
            return "no address given";
        }

        if (text.Contains(':', StringComparison.Ordinal))
        {
            var percent = text.IndexOf('%', StringComparison.Ordinal);
            var bare = percent < 0 ? text : text[..percent];
            var scope = percent < 0 ? null : text[(percent + 1)..];
            if (!IPAddress.TryParse(bare, out var v6) || v6.AddressFamily != AddressFamily.InterNetworkV6)
            {
                return $"'{text}' is not an IPv6 address";
            }

            if (!v6.IsIPv6LinkLocal)
            {
                address = v6; // a scope on a global or loopback address is meaningless: dropped
                return null;
            }

            if (string.IsNullOrEmpty(scope))
            {
                return $"link-local address '{text}' needs a scope id (%interface)";
            }

            if (!IPAddress.TryParse(text, out var scoped) || scoped.ScopeId == 0)
            {
                return $"link-local address '{text}': interface '{scope}' does not exist on this host";
            }

            address = scoped;
            return null;
        }

        var parts = text.Split('.');
        if (parts.Length != 4 || parts.Any(p => p.Length is 0 or > 3 || !p.All(char.IsAsciiDigit))
            || !IPAddress.TryParse(text, out var v4) || parts.Any(p => int.Parse(p, CultureInfo.InvariantCulture) > 255))
        {
            return parts.Any(p => p.Any(char.IsAsciiLetter))
                ? $"'{text}' is not an IP address (name the resolver by address, not by host name)"
                : $"'{text}' is not an IPv4 address (expected four numbers 0-255 separated by dots)";
        }

        address = v4;
        return null;
    }
}
