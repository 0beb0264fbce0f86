using System.Diagnostics;
using System.Net.Sockets;

namespace Rampart.Benchmarks;

internal static partial class SocketmapLoad
{
    /// <summary>
    /// <c>--io blocking</c>: a thread per connection, each with its own blocking socket, sending one request and waiting in
    /// <c>recv</c> for its reply before the next, as Postfix asks (one smtp process per connection, one request at a time).
    /// This is the client that shows a server's tail as Postfix sees it: a connection whose reply is late holds up nothing
    /// but itself, so a server that lets one connection's work wait behind another's shows it in the percentiles. It costs
    /// more CPU per lookup than <c>--io epoll</c> (a thread wake-up per reply), so it is not the throughput client.
    /// With <c>--warmup N</c> every thread first asks <c>--warmup-key</c> N times, unmeasured; the clock starts when all
    /// have. Requests are encoded up front and a reply equal to the previous one is not decoded again, so the loop does
    /// not allocate per lookup (a client GC would stop every thread at once and show as server latency).
    /// </summary>
    /// <returns>One result per connection, and the wall and CPU time of the measurement alone.</returns>
    private static (WorkerResult[] Results, TimeSpan Wall, TimeSpan Cpu) RunThreads(Socket[] sockets, Options options, RequestTable table)
    {
        var results = new WorkerResult[sockets.Length];
        long next = -1;
        long deadline = 0;
        using var warmed = new CountdownEvent(sockets.Length);
        using var start = new ManualResetEventSlim(false);
        // Room for every latency of a 10 s run at 100,000/s without the list growing during the measurement.
        int capacity = (int)Math.Clamp(Math.Min(options.Count, (long)(100_000 * options.Duration.TotalSeconds)) / sockets.Length, 4096, 1 << 20);
        var threads = new Thread[sockets.Length];
        for (int i = 0; i < sockets.Length; i++)
        {
            int index = i;
            threads[i] = new Thread(() =>
            {
                var connection = new BlockingConnection(sockets[index], options, capacity);
                try
                {
                    if (options.Warmup > 0)
                    {
                        var warm = Request(options, options.WarmupKey!);
                        connection.Run(_ => warm, new WorkerResult(), options.Warmup, long.MaxValue);
                    }
                }
                finally
                {
                    warmed.Signal();
                }
                start.Wait();
                results[index] = connection.Run(table.At, connection.Result, -1, Volatile.Read(ref deadline), () => Interlocked.Increment(ref next));
                connection.Dispose();
            }, maxStackSize: 256 * 1024) { IsBackground = true, Name = $"socketmap-load {i}" };
            threads[i].Start();
        }
        warmed.Wait();
        using var self = Process.GetCurrentProcess();
        var cpuBefore = self.TotalProcessorTime;
        var wall = Stopwatch.StartNew();
        Volatile.Write(ref deadline, Stopwatch.GetTimestamp() + (long)(options.Duration.TotalSeconds * Stopwatch.Frequency));
        start.Set();
        foreach (var thread in threads)
        {
            thread.Join();
        }
        wall.Stop();
        self.Refresh();
        return (results, wall.Elapsed, self.TotalProcessorTime - cpuBefore);
    }

    /// <summary>One connection of <c>--io blocking</c>: its socket (replaced after an error), buffers and results.</summary>
    private sealed class BlockingConnection(Socket socket, Options options, int capacity) : IDisposable
    {
        private readonly byte[] _receive = new byte[64 * 1024];
        private readonly int _timeoutMs = SetTimeouts(socket, options);
        private byte[] _lastReply = [];
        private string _lastText = "";

        public WorkerResult Result { get; } = new(capacity);

        /// <summary>
        /// Lookups one after the other until <paramref name="count"/> are done (when ≥ 0) or, with a shared counter
        /// <paramref name="take"/>, until it passes <c>--count</c> or <paramref name="deadline"/> passes.
        /// </summary>
        public WorkerResult Run(Func<long, (string Key, byte[] Request)> request, WorkerResult into, long count, long deadline, Func<long>? take = null)
        {
            for (long done = 0; count < 0 || done < count; done++)
            {
                long seq = take?.Invoke() ?? done;
                if ((take is not null && seq >= options.Count) || Stopwatch.GetTimestamp() >= deadline)
                {
                    break;
                }
                var (key, bytes) = request(seq);
                if (!Lookup(key, bytes, into) && !Reconnect(into))
                {
                    break;
                }
            }
            return into;
        }

        /// <summary>One request and its reply; false after an error (counted), when the stream position is unknown.</summary>
        private bool Lookup(string key, byte[] request, WorkerResult into)
        {
            string? reply = null;
            string? error = null;
            long started = Stopwatch.GetTimestamp();
            try
            {
                socket.Send(request);
                reply = Receive(started);
                error = reply is null ? "closed" : null;
            }
            catch (SocketException ex) when (ex.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock)
            {
                error = "timeout";
            }
            catch (SocketException ex)
            {
                error = "socket: " + ex.SocketErrorCode;
            }
            catch (FormatException ex)
            {
                error = "bad-netstring: " + ex.Message;
            }
            return into.Record(key, reply, error, Stopwatch.GetTimestamp() - started);
        }

        /// <summary>Reads one netstring reply (one request is in flight at a time, so nothing follows it); null = the server closed.</summary>
        private string? Receive(long started)
        {
            int filled = 0;
            while (true)
            {
                // Each receive waits at most --timeout (SO_RCVTIMEO); the lookup as a whole too.
                if (filled > 0 && Stopwatch.GetElapsedTime(started).TotalMilliseconds > _timeoutMs)
                {
                    throw new SocketException((int)SocketError.TimedOut);
                }
                int n = socket.Receive(_receive.AsSpan(filled));
                if (n == 0)
                {
                    return null;
                }
                filled += n;
                if (_receive.AsSpan(0, filled).SequenceEqual(_lastReply))
                {
                    return _lastText;
                }
                if (ParseReply(_receive, 0, filled, out int end) is { } reply)
                {
                    if (end != filled)
                    {
                        throw new FormatException("more bytes than one reply (a reply nobody asked for)");
                    }
                    (_lastReply, _lastText) = (_receive[..filled], reply);
                    return reply;
                }
            }
        }

        /// <summary>Goes on over a new connection; false (and counted) when that fails: this connection stops.</summary>
        private bool Reconnect(WorkerResult into)
        {
            socket.Dispose();
            try
            {
                socket = ConnectBlocking(options.Target, options.Timeout);
                SetTimeouts(socket, options);
                return true;
            }
            catch (SocketException ex)
            {
                into.Add(into.Errors, "reconnect");
                into.ErrorExamples.Add($"reconnect to {StreamEndpoint.Describe(options.Target)} failed: {ex.Message}; this connection stops");
                return false;
            }
        }

        private static int SetTimeouts(Socket socket, Options options)
        {
            int ms = (int)Math.Min(int.MaxValue, options.Timeout.TotalMilliseconds);
            socket.SendTimeout = socket.ReceiveTimeout = ms;
            return ms;
        }

        public void Dispose() => socket.Dispose();
    }
}
