using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;

namespace Rampart.Postfix.Socketmap;

/// <summary>
/// How much one socketmap connection may hold, in this process and in the kernel. Postfix sends one request, reads its
/// reply, then sends the next (socketmap_table(5)); a request is a few hundred bytes, a reply at most 100000. A peer that
/// sends requests without reading the replies is held by back-pressure once a few dozen KiB of replies wait for it:
/// <list type="number">
/// <item>replies go to the kernel's send buffer (<see cref="SocketBufferBytes"/>, fixed: Linux would otherwise grow it
///   to 4 MiB) and, once that is full, wait in the connection's output, flushed every <see cref="OutputBytes"/>;</item>
/// <item>a flush waits while <see cref="OutputBytes"/> are unsent, and the connection's requests are not read meanwhile;</item>
/// <item>requests the connection has not answered yet wait in its input (at most <see cref="InputBytes"/>: room for two of
///   the largest requests) and then in the kernel's receive buffer (<see cref="SocketBufferBytes"/>); beyond that the peer's
///   own writes block.</item>
/// </list>
/// So a connection that does not read costs the daemon tens of KiB, not the 1 MiB input pipe and the megabytes of kernel
/// buffers Kestrel and Linux allow by default, and it can make the daemon answer only a bounded number of requests before
/// it stalls (docs/security.md; docs/benchmarks.md "Connections that do not read").
/// </summary>
internal static class SocketmapConnectionBounds
{
    /// <summary>Replies held in the connection's output before a flush waits for the peer (the transport's write limit).</summary>
    public const int OutputBytes = 16 * 1024;

    /// <summary>The kernel's send and receive buffer of a socketmap socket (SO_SNDBUF, SO_RCVBUF; Linux doubles the value).</summary>
    public const int SocketBufferBytes = 32 * 1024;

    private const int MinimumInputBytes = 32 * 1024;

    /// <summary>
    /// Unanswered request bytes the transport reads ahead of the handler: two of the largest frames
    /// (<see cref="SocketmapOptions.MaxRequestBytes"/> plus its length prefix and comma), so a frame always fits whole.
    /// At least 32 KiB: the same transport serves /metrics, and Kestrel needs one request line or header line to fit.
    /// </summary>
    public static int InputBytes(SocketmapOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return Math.Max(MinimumInputBytes, 2 * (options.MaxRequestBytes + Netstring.MaxDigits + 2));
    }

    /// <summary>Fixes the kernel buffers of a socketmap connection's socket (no-op for a transport without one).</summary>
    public static void ApplyTo(ConnectionContext connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        if (connection.Features.Get<IConnectionSocketFeature>()?.Socket is not { } socket)
        {
            return;
        }
        try
        {
            socket.SendBufferSize = SocketBufferBytes;
            socket.ReceiveBufferSize = SocketBufferBytes;
        }
        catch (SocketException)
        {
            // The peer already reset the connection; the first read says so.
        }
        catch (ObjectDisposedException)
        {
        }
    }
}
