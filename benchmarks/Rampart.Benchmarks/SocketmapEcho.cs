using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace Rampart.Benchmarks;

/// <summary>
/// The ceiling: a socketmap server that does no work at all. One thread, one epoll set; every complete request netstring
/// gets the same fixed reply. Whatever <c>socketmap-load</c> measures against it is what this machine's kernel and
/// loopback allow with one request in flight per connection; no real daemon can beat it, so a target above it cannot be
/// met on this machine by any daemon. Bounded by <c>--duration</c>.
/// </summary>
internal static class SocketmapEcho
{
    private const string Usage =
        "usage: Rampart.Benchmarks socketmap-echo --listen IP:PORT|unix:/path [--reply TEXT] [--duration S]\n" +
        "  answers every request with TEXT (default 'OK secure match=mx.bench.test servername=hostname') until S seconds\n" +
        "  have passed (default 600).";

    public static int Run(string[] args)
    {
        EndPoint? listen = null;
        string reply = "OK secure match=mx.bench.test servername=hostname";
        double duration = 600;
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            bool ok = args[i] switch
            {
                "--listen" => StreamEndpoint.TryParse(args[i + 1], out listen),
                "--reply" => (reply = args[i + 1]).Length > 0,
                "--duration" => double.TryParse(args[i + 1], CultureInfo.InvariantCulture, out duration) && duration is > 0 and <= 3600,
                _ => false,
            };
            if (!ok)
            {
                return LabLoad.UsageExit($"socketmap-echo: {args[i]} '{args[i + 1]}' is not valid", Usage);
            }
        }
        if (listen is null || args.Length % 2 != 0 || !LinuxEpoll.Supported)
        {
            return LabLoad.UsageExit(LinuxEpoll.Supported ? $"socketmap-echo: --listen {StreamEndpoint.Forms} is required" : "socketmap-echo: needs x86-64 Linux", Usage);
        }

        byte[] answer = Encoding.ASCII.GetBytes($"{Encoding.ASCII.GetByteCount(reply)}:{reply},");
        if (listen is UnixDomainSocketEndPoint unix)
        {
            File.Delete(unix.ToString()!); // a socket file left by an earlier run
        }
        using var listener = StreamEndpoint.NewSocket(listen);
        if (listen is IPEndPoint)
        {
            listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        }
        listener.Bind(listen);
        listener.Listen(512);
        listener.Blocking = false;
        Console.WriteLine($"socketmap-echo: listening on {listener.LocalEndPoint}");
        Serve(listener, answer, DateTime.UtcNow + TimeSpan.FromSeconds(duration));
        return 0;
    }

    private static unsafe void Serve(Socket listener, byte[] answer, DateTime until)
    {
        int epoll = LinuxEpoll.Create(0);
        var connections = new Dictionary<int, (Socket Socket, byte[] Buffer, int[] Filled)>();
        LinuxEpoll.Watch(epoll, (int)listener.Handle, ulong.MaxValue);
        Span<LinuxEpoll.Event> events = new LinuxEpoll.Event[256];
        var output = new byte[64 * 1024];
        try
        {
            while (DateTime.UtcNow < until)
            {
                int ready = LinuxEpoll.WaitTicks(epoll, events, System.Diagnostics.Stopwatch.Frequency);
                for (int e = 0; e < ready; e++)
                {
                    if (events[e].Data == ulong.MaxValue)
                    {
                        while (TryAccept(listener) is { } accepted)
                        {
                            accepted.Blocking = false;
                            if (accepted.AddressFamily != AddressFamily.Unix)
                            {
                                accepted.NoDelay = true;
                            }
                            int fd = (int)accepted.Handle;
                            connections[fd] = (accepted, new byte[64 * 1024], [0]);
                            LinuxEpoll.Watch(epoll, fd, (ulong)fd);
                        }
                        continue;
                    }
                    int id = (int)events[e].Data;
                    if (!connections.TryGetValue(id, out var connection))
                    {
                        continue;
                    }
                    if (!Answer(id, connection.Buffer, connection.Filled, answer, output))
                    {
                        LinuxEpoll.Forget(epoll, id);
                        connection.Socket.Dispose();
                        connections.Remove(id);
                    }
                }
            }
        }
        finally
        {
            _ = LinuxEpoll.Close(epoll);
            foreach (var connection in connections.Values)
            {
                connection.Socket.Dispose();
            }
        }
    }

    private static Socket? TryAccept(Socket listener)
    {
        try
        {
            return listener.Accept();
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.WouldBlock)
        {
            return null;
        }
    }

    /// <summary>Reads what is there and answers every complete netstring; false when the connection is done.</summary>
    private static unsafe bool Answer(int fd, byte[] buffer, int[] filled, byte[] answer, byte[] output)
    {
        nint n;
        fixed (byte* into = &buffer[filled[0]])
        {
            n = LinuxEpoll.Read(fd, into, buffer.Length - filled[0]);
        }
        if (n <= 0)
        {
            return n < 0 && Marshal.GetLastPInvokeError() == LinuxEpoll.WouldBlock;
        }
        filled[0] += (int)n;
        int at = 0, replies = 0;
        while (true)
        {
            int colon = Array.IndexOf(buffer, (byte)':', at, filled[0] - at);
            if (colon < 0 || !int.TryParse(buffer.AsSpan(at, colon - at), NumberStyles.None, CultureInfo.InvariantCulture, out int length))
            {
                break;
            }
            int end = colon + 1 + length;
            if (end >= filled[0])
            {
                break;
            }
            at = end + 1;
            if ((replies + 1) * answer.Length > output.Length)
            {
                return false;
            }
            answer.CopyTo(output, replies++ * answer.Length);
        }
        Array.Copy(buffer, at, buffer, 0, filled[0] - at);
        filled[0] -= at;
        fixed (byte* from = output)
        {
            return replies == 0 || LinuxEpoll.Write(fd, from, replies * answer.Length) == replies * answer.Length;
        }
    }
}
