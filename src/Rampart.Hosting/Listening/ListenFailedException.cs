using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;

namespace Rampart.Hosting.Listening;

/// <summary>
/// A listening socket that could not be opened, with the address it was for and the socket error. An
/// <see cref="IOException"/>, as Kestrel's own bind failures are, so Kestrel passes it through unchanged
/// (it also binds both loopbacks for "localhost" and treats IOException as final).
/// </summary>
internal sealed class ListenFailedException(EndPoint endPoint, SocketError error, Exception inner)
    : IOException($"cannot listen on {Describe(endPoint)}: {inner.Message}", inner)
{
    public EndPoint EndPoint { get; } = endPoint;

    public SocketError Error { get; } = error;

    /// <summary>An address as operators write it: 127.0.0.1:8461, [::1]:8461, unix:/run/rampart/socketmap.sock.</summary>
    public static string Describe(EndPoint endPoint) => endPoint switch
    {
        UnixDomainSocketEndPoint unix => "unix:" + unix,
        _ => endPoint.ToString() ?? "?",
    };

    /// <summary>The socket error behind <paramref name="exception"/> or its inner exceptions, if any.</summary>
    public static SocketError? SocketErrorOf(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case SocketException socket:
                    return socket.SocketErrorCode;
                case AddressInUseException:
                    return SocketError.AddressAlreadyInUse;
            }
        }
        return null;
    }
}
