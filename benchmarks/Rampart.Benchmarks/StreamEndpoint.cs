using System.Net;
using System.Net.Sockets;

namespace Rampart.Benchmarks;

/// <summary>
/// Where a socketmap server listens, for the load generator and the echo server: <c>IP:PORT</c> (TCP) or
/// <c>unix:/path</c> (a Unix stream socket, which Postfix reaches as <c>socketmap:unix:/path:NAME</c>).
/// </summary>
internal static class StreamEndpoint
{
    public const string Forms = "IP:PORT or unix:/path";

    public static bool TryParse(string text, out EndPoint endpoint)
    {
        endpoint = null!;
        if (text.StartsWith("unix:/", StringComparison.Ordinal))
        {
            endpoint = new UnixDomainSocketEndPoint(text["unix:".Length..]);
            return true;
        }
        if (IPEndPoint.TryParse(text, out var ip) && ip.Port != 0)
        {
            endpoint = ip;
            return true;
        }
        return false;
    }

    /// <summary>A stream socket for the endpoint; TCP ones without Nagle's delay (a request is one small write).</summary>
    public static Socket NewSocket(EndPoint endpoint)
    {
        if (endpoint is UnixDomainSocketEndPoint)
        {
            return new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        }
        return new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
    }

    public static string Describe(EndPoint endpoint) => endpoint is UnixDomainSocketEndPoint unix ? "unix:" + unix : endpoint.ToString()!;
}
