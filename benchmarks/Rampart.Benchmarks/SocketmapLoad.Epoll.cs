using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Rampart.Benchmarks;

internal static partial class SocketmapLoad
{
    /// <summary>
    /// <c>--io epoll</c>: every connection on ONE thread with one epoll set, so the client costs a read and a write per
    /// lookup and no thread switches (the blocking mode's thread per connection cost 55–75 µs per lookup on 2 cores, more
    /// than either daemon). Closed loop by default (each connection sends its next request when the reply is in); with
    /// <c>--rate R</c> open loop: connection c sends its k-th request at start + (k·C + c)/R, and a request that could not
    /// go out on time because its connection was still waiting counts its latency from when it was due, so a stalled
    /// server shows in the percentiles (no coordinated omission). A lookup over <c>--timeout</c> is an error and ends that
    /// connection. With <c>--warmup N</c>, every connection first asks <c>--warmup-key</c> N times, unmeasured: this
    /// process's own first-use costs (JIT of the loop: ~25 ms measured) are then not counted as server latency. With
    /// <c>--depth D</c> (closed loop) each connection keeps D requests in flight, written together, answered in order.
    /// </summary>
    /// <returns>The lookups, and the wall and CPU time of the measurement alone (the warm-up is not in them; the
    /// <c>--duration</c> clock starts after it).</returns>
    private static (WorkerResult Result, TimeSpan Wall, TimeSpan Cpu) RunEpoll(Socket[] sockets, Options options, RequestTable table)
    {
        using var loop = new EpollLoop(sockets, options.Timeout, options.Depth);
        if (options.Warmup > 0)
        {
            var (key, request) = Request(options, options.WarmupKey!);
            long warm = -1;
            // The same mode as the measurement (paced or not), so that every path of the loop has run before.
            loop.Run(() => ++warm, _ => (key, request), options.Warmup * sockets.Length, Stopwatch.GetTimestamp() + 30 * Stopwatch.Frequency, options.Rate, 4096);
        }
        long expected = options.Rate > 0 ? (long)(options.Rate * options.Duration.TotalSeconds * 1.1) : 4_000_000;
        using var self = Process.GetCurrentProcess();
        var cpuBefore = self.TotalProcessorTime;
        var wall = Stopwatch.StartNew();
        long next = -1;
        var result = loop.Run(
            () => ++next,
            table.At,
            options.Count,
            Stopwatch.GetTimestamp() + (long)(options.Duration.TotalSeconds * Stopwatch.Frequency),
            options.Rate,
            (int)Math.Clamp(Math.Min(expected, options.Count), 4096, 8_000_000));
        wall.Stop();
        self.Refresh();
        return (result, wall.Elapsed, self.TotalProcessorTime - cpuBefore);
    }

    /// <summary>The connections of <c>--io epoll</c> on one epoll set; <see cref="Run"/> may be called more than once (warm-up, then the measurement).</summary>
    private sealed class EpollLoop : IDisposable
    {
        private readonly Connection[] _connections;
        private readonly int _epoll;
        private readonly long _timeoutTicks;
        private readonly int _depth;

        public EpollLoop(Socket[] sockets, TimeSpan timeout, int depth)
        {
            _depth = depth;
            _epoll = LinuxEpoll.Create(0);
            if (_epoll < 0)
            {
                throw new IOException($"epoll_create1: errno {Marshal.GetLastPInvokeError()}");
            }
            _timeoutTicks = (long)(timeout.TotalSeconds * Stopwatch.Frequency);
            _connections = new Connection[sockets.Length];
            for (int i = 0; i < sockets.Length; i++)
            {
                sockets[i].Blocking = false;
                _connections[i] = new Connection(sockets[i], depth);
                LinuxEpoll.Watch(_epoll, _connections[i].Fd, (ulong)i);
            }
        }

        /// <summary>Lookups <c>take()</c> = 0, 1, … until <paramref name="count"/> or <paramref name="deadline"/>; <paramref name="rate"/> 0 = closed loop.</summary>
        public WorkerResult Run(Func<long> take, Func<long, (string Key, byte[] Request)> request, long count, long deadline, double rate, int capacity)
        {
            // Sized for the run, requests encoded up front: the loop allocates (almost) nothing, so no GC pause of the
            // client's own shows up as server latency.
            var result = new WorkerResult(capacity);
            long interval = rate > 0 ? (long)(_connections.Length * (double)Stopwatch.Frequency / rate) : 0;
            long begin = Stopwatch.GetTimestamp();
            int active = 0;
            for (int i = 0; i < _connections.Length; i++)
            {
                var connection = _connections[i];
                if (connection.Broken)
                {
                    continue;
                }
                (connection.Done, connection.Due) = (false, begin + i * interval / _connections.Length);
                connection.Clear();
                active++;
            }
            foreach (var connection in _connections)
            {
                if (!connection.Done && !connection.Broken && (interval == 0 || connection.Due <= begin))
                {
                    Next(connection);
                }
            }

            Span<LinuxEpoll.Event> events = new LinuxEpoll.Event[256];
            long nextTimeoutScan = begin + Stopwatch.Frequency / 10;
            while (active > 0)
            {
                long now = Stopwatch.GetTimestamp();
                long wait = Math.Max(0, nextTimeoutScan - now);
                if (interval > 0)
                {
                    foreach (var connection in _connections)
                    {
                        if (!connection.Done && !connection.InFlight)
                        {
                            wait = Math.Min(wait, Math.Max(0, connection.Due - now));
                        }
                    }
                }
                int ready = LinuxEpoll.WaitTicks(_epoll, events, wait);
                for (int e = 0; e < ready; e++)
                {
                    var connection = _connections[(int)events[e].Data];
                    if (!connection.Done)
                    {
                        OnReadable(connection);
                    }
                }
                now = Stopwatch.GetTimestamp();
                if (interval > 0)
                {
                    foreach (var connection in _connections)
                    {
                        if (!connection.Done && !connection.InFlight && connection.Due <= now)
                        {
                            Next(connection);
                        }
                    }
                }
                if (now >= nextTimeoutScan)
                {
                    nextTimeoutScan = now + Stopwatch.Frequency / 10;
                    foreach (var connection in _connections)
                    {
                        if (!connection.Done && connection.InFlight && now - connection.OldestStarted > _timeoutTicks)
                        {
                            Fail(connection, "timeout");
                        }
                        else if (!connection.Done && !connection.InFlight && now >= deadline)
                        {
                            Stop(connection);
                        }
                    }
                }
            }
            return result;

            // Tops the connection up to _depth requests in flight (1 unless --depth), written with one write.
            void Next(Connection connection)
            {
                int length = 0;
                while (connection.Pending < _depth)
                {
                    long seq = take();
                    long now = Stopwatch.GetTimestamp();
                    if (seq >= count || now >= deadline)
                    {
                        if (!connection.InFlight) // nothing written yet either: each write follows an Enqueue
                        {
                            Stop(connection);
                            return;
                        }
                        break;
                    }
                    var (key, bytes) = request(seq);
                    // Paced: a request that is late because the reply before it was late counts from when it was due.
                    connection.Enqueue(key, interval > 0 && connection.Due < now ? connection.Due : now);
                    connection.Due += interval;
                    bytes.CopyTo(connection.Send.AsSpan(length));
                    length += bytes.Length;
                }
                if (length > 0 && !WriteAll(connection.Fd, connection.Send.AsSpan(0, length), out string? error))
                {
                    Fail(connection, error!);
                }
            }

            void OnReadable(Connection connection)
            {
                while (true)
                {
                    nint n = Read(connection.Fd, connection.Receive.AsSpan(connection.Filled));
                    if (n < 0)
                    {
                        int errno = Marshal.GetLastPInvokeError();
                        if (errno != LinuxEpoll.WouldBlock)
                        {
                            Fail(connection, $"socket: errno {errno}");
                        }
                        return;
                    }
                    if (n == 0)
                    {
                        Fail(connection, "closed");
                        return;
                    }
                    connection.Filled += (int)n;
                    int at = 0, answered = 0;
                    try
                    {
                        while (ParseReply(connection.Receive, at, connection.Filled, out int end) is { } reply)
                        {
                            if (!connection.InFlight)
                            {
                                Fail(connection, "bad-netstring: bytes nobody asked for");
                                return;
                            }
                            var (key, started) = connection.Dequeue();
                            result.Record(key, reply, null, Stopwatch.GetTimestamp() - started);
                            (at, answered) = (end, answered + 1);
                        }
                    }
                    catch (FormatException ex)
                    {
                        Fail(connection, "bad-netstring: " + ex.Message);
                        return;
                    }
                    connection.Receive.AsSpan(at, connection.Filled - at).CopyTo(connection.Receive);
                    connection.Filled -= at;
                    if (connection.Filled > 0 && !connection.InFlight)
                    {
                        Fail(connection, "bad-netstring: bytes nobody asked for");
                        return;
                    }
                    if (answered == 0)
                    {
                        continue;
                    }
                    if (interval == 0 || connection.Due <= Stopwatch.GetTimestamp())
                    {
                        Next(connection);
                    }
                    return;
                }
            }

            void Fail(Connection connection, string error)
            {
                // Every lookup still in flight on it fails with it (one error when none was).
                do
                {
                    var (key, started) = connection.InFlight ? connection.Dequeue() : (connection.LastKey, Stopwatch.GetTimestamp());
                    result.Record(key, null, error, Stopwatch.GetTimestamp() - started);
                }
                while (connection.InFlight);
                connection.Broken = true; // its stream position is unknown: no later run uses it
                LinuxEpoll.Forget(_epoll, connection.Fd);
                Stop(connection);
            }

            void Stop(Connection connection)
            {
                if (!connection.Done)
                {
                    connection.Done = true;
                    connection.Clear();
                    active--;
                }
            }
        }

        public void Dispose()
        {
            _ = LinuxEpoll.Close(_epoll);
            foreach (var connection in _connections)
            {
                connection.Socket.Dispose();
            }
        }

        /// <summary>One connection: its socket, the lookups in flight (oldest first) and, when paced, when its next one is due.</summary>
        private sealed class Connection(Socket socket, int depth)
        {
            private readonly string[] _keys = new string[depth];
            private readonly long[] _started = new long[depth];
            private int _head;

            public Socket Socket { get; } = socket;
            public int Fd { get; } = (int)socket.Handle;
            public byte[] Receive { get; } = new byte[64 * 1024];
            public byte[] Send { get; } = new byte[depth * 8 * 1024];
            public int Filled { get; set; }
            public int Pending { get; private set; }
            public bool InFlight => Pending > 0;
            public long OldestStarted => _started[_head];
            public string LastKey { get; private set; } = "";
            public bool Done { get; set; }
            public bool Broken { get; set; }
            public long Due { get; set; }

            public void Enqueue(string key, long started)
            {
                int at = (_head + Pending) % _keys.Length;
                (_keys[at], _started[at], LastKey) = (key, started, key);
                Pending++;
            }

            public (string Key, long Started) Dequeue()
            {
                var oldest = (_keys[_head], _started[_head]);
                _head = (_head + 1) % _keys.Length;
                Pending--;
                return oldest;
            }

            /// <summary>Forgets the lookups in flight (a stopped connection; a new run starts from an empty stream).</summary>
            public void Clear() => (_head, Pending, Filled) = (0, 0, 0);
        }
    }

    private static unsafe nint Read(int fd, Span<byte> into)
    {
        fixed (byte* buffer = into)
        {
            return LinuxEpoll.Read(fd, buffer, into.Length);
        }
    }

    /// <summary>Writes a whole request; a request is a few dozen bytes, so a short write means a stuck peer (an error).</summary>
    private static unsafe bool WriteAll(int fd, ReadOnlySpan<byte> bytes, out string? error)
    {
        fixed (byte* buffer = bytes)
        {
            nint n = LinuxEpoll.Write(fd, buffer, bytes.Length);
            error = n == bytes.Length ? null
                : n < 0 ? $"socket: errno {Marshal.GetLastPInvokeError()}"
                : "socket: short write";
            return error is null;
        }
    }
}
