using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Rampart.Benchmarks;

/// <summary>
/// The socketmap load generator: C persistent TCP connections to a Postfix socketmap server (<c>rampart daemon</c> or
/// postfix-mta-sts-resolver's <c>mta-sts-daemon</c>), each sending one request at a time and waiting for its reply,
/// as Postfix's smtp processes do. Keys come from a pattern (<c>d{i}.bench.test</c>) or a file, handed out in order
/// from one shared counter, so <c>--count N --distinct N</c> asks for every key exactly once. Bounded by
/// <c>--count</c> and by <c>--duration</c>; every lookup by <c>--timeout</c>. Reports lookups/s, latency percentiles and
/// answers by kind, as text or <c>--json</c>. All connections are open before the clock starts and start together,
/// so <c>--connections 50 --count 50 --distinct 1</c> is a burst of 50 simultaneous first lookups of one key.
/// </summary>
internal static partial class SocketmapLoad
{
    private const string Usage =
        "usage: Rampart.Benchmarks socketmap-load --target IP:PORT|unix:/path [--connections C] [--count N] [--duration S]\n" +
        "         [--pattern 'd{i}.bench.test' | --domains FILE] [--first I] [--distinct M] [--map NAME] [--timeout S]\n" +
        "         [--expect OK|NOTFOUND|TEMP|PERM] [--io epoll|blocking] [--rate R] [--warmup N --warmup-key KEY]\n" +
        "         [--depth D] [--malformed P] [--label TEXT] [--json]\n" +
        "  C connections (default 8), each one request at a time; stops after N lookups (default: no count bound) or S seconds\n" +
        "  (default 10 without --count, 300 with it), whichever comes first. Key i = pattern with {i} = first + (i mod M)\n" +
        "  (default M = N, or 1000 without --count), or line (i mod lines) of FILE. --timeout bounds each lookup (default 10 s).\n" +
        "  --io: every connection on one thread with epoll (x86-64 Linux; the cheapest client, so the server is what is\n" +
        "  measured), or a thread per connection with a blocking socket (default; how Postfix asks: shows the tail).\n" +
        "  --rate R (epoll only): open loop at R lookups/s in total instead of each connection as fast as replies come.\n" +
        "  --warmup N: each connection first asks KEY N times, unmeasured (this client's own JIT).\n" +
        "  --depth D (epoll, closed loop only): keep D requests in flight per connection (pipelining, written together;\n" +
        "  the protocol allows it, Postfix does not do it): the server's capacity when the kernel's per-request cost is shared.\n" +
        "  --malformed P: P % of the requests (every 100/P-th) carry a control character: the server answers PERM and keeps\n" +
        "  the connection (a fuzzing peer, or abuse, mixed into the load).\n" +
        "  Exit status: 0 all lookups answered (and, with --expect, all of that kind; with --count, all N done),\n" +
        "  1 otherwise, 2 usage or connection setup error.";

    private const int MaxReply = 100_000;

    private sealed record Options(
        EndPoint Target, int Connections, long Count, TimeSpan Duration, string? Pattern, string[]? Keys, long First, long Distinct,
        string Map, TimeSpan Timeout, string? Expect, string Label, bool Json, string Io, double Rate, int Warmup, string? WarmupKey, int Depth, int Malformed = 0);

    /// <summary>What one worker saw: latencies in Stopwatch ticks, answers and errors by kind, example replies.</summary>
    private sealed class WorkerResult(int capacity = 4096)
    {
        /// <summary>Latencies; the epoll loop sizes it for the whole run up front, so no copy or GC of it stalls a measurement.</summary>
        public List<long> Ticks { get; } = new(capacity);
        public Dictionary<string, long> Answers { get; } = new(StringComparer.Ordinal);
        public Dictionary<string, long> Errors { get; } = new(StringComparer.Ordinal);
        public Dictionary<string, long> Replies { get; } = new(StringComparer.Ordinal);
        public List<string> ErrorExamples { get; } = [];

        public void Add(Dictionary<string, long> into, string key) => into[key] = into.GetValueOrDefault(key) + 1;

        /// <summary>Records one lookup: its reply, or its error (true when it answered).</summary>
        public bool Record(string key, string? reply, string? error, long elapsed)
        {
            if (reply is not null)
            {
                Ticks.Add(elapsed);
                Add(Answers, Kind(reply));
                if (Replies.Count < 20 || Replies.ContainsKey(reply))
                {
                    Add(Replies, reply);
                }
                return true;
            }
            Add(Errors, error!.Split(':')[0]);
            if (ErrorExamples.Count < 3)
            {
                ErrorExamples.Add($"{key}: {error} after {elapsed * 1000.0 / Stopwatch.Frequency:0.0} ms");
            }
            return false;
        }
    }

    public static int Run(string[] args)
    {
        if (!TryParse(args, out var options, out var usageError))
        {
            return LabLoad.UsageExit(usageError, Usage);
        }

        // Connect everything first: connection setup is not part of the measurement.
        var connections = new Socket[options.Connections];
        try
        {
            for (int i = 0; i < connections.Length; i++)
            {
                connections[i] = ConnectBlocking(options.Target, options.Timeout);
            }
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException)
        {
            foreach (var open in connections.Where(c => c is not null))
            {
                open.Dispose();
            }
            Console.Error.WriteLine($"socketmap-load: cannot connect to {StreamEndpoint.Describe(options.Target)}: {(ex is OperationCanceledException ? "connect timed out" : ex.Message)}");
            return 2;
        }

        if (options.Io == "epoll")
        {
            var (epollResult, measured, epollCpu) = RunEpoll(connections, options, new RequestTable(options));
            return Report(options, [epollResult], measured, epollCpu);
        }
        var (results, wall, cpu) = RunThreads(connections, options, new RequestTable(options));
        return Report(options, results, wall, cpu);
    }

    /// <summary>
    /// A connect that leaves the socket blocking and unknown to the runtime's own epoll thread (an async connect registers
    /// it there and makes it non-blocking, and every reply would then also wake that thread and the thread pool: measured,
    /// 80,000 sched_yield calls in 4 s at 1,000 lookups/s; a "blocking" receive on such a socket is the runtime waiting for
    /// its epoll thread's signal). <c>--io epoll</c> does its own I/O on the descriptors; <c>--io blocking</c> calls
    /// <c>send</c>/<c>recv</c> that really block, as Postfix's smtp processes do.
    /// </summary>
    private static Socket ConnectBlocking(EndPoint target, TimeSpan timeout)
    {
        var socket = StreamEndpoint.NewSocket(target);
        socket.SendTimeout = (int)timeout.TotalMilliseconds;
        try
        {
            socket.Connect(target);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static WorkerResult Merge(WorkerResult into, WorkerResult more)
    {
        into.Ticks.AddRange(more.Ticks);
        foreach (var (dict, from) in new[] { (into.Answers, more.Answers), (into.Errors, more.Errors), (into.Replies, more.Replies) })
        {
            foreach (var (k, v) in from)
            {
                dict[k] = dict.GetValueOrDefault(k) + v;
            }
        }
        into.ErrorExamples.AddRange(more.ErrorExamples.Take(Math.Max(0, 3 - into.ErrorExamples.Count)));
        return into;
    }

    private static (string Key, byte[] Request) Request(Options options, string key)
    {
        var scratch = new byte[8 * 1024];
        return (key, scratch.AsSpan(0, Encode(scratch, options.Map, key)).ToArray());
    }

    /// <summary>
    /// Every request of the run encoded up front (up to 200,000 distinct keys), so the measured loops allocate (almost)
    /// nothing per lookup and no garbage collection of the client pauses a measurement.
    /// </summary>
    private sealed class RequestTable
    {
        private readonly Options _options;
        private readonly string[] _keys;
        private readonly byte[][] _requests;
        private readonly long _period;

        public RequestTable(Options options)
        {
            _options = options;
            _period = options.Keys?.Length ?? options.Distinct;
            int distinct = (int)Math.Min(_period, 200_000);
            _keys = new string[distinct];
            _requests = new byte[distinct][];
            for (int i = 0; i < distinct; i++)
            {
                (_keys[i], _requests[i]) = Request(options, KeyAt(options, i));
            }
        }

        private static readonly byte[] s_malformed = "12:postfix \u0001bad,"u8.ToArray();

        public (string Key, byte[] Request) At(long seq) =>
            _options.Malformed > 0 && seq * _options.Malformed % 100 < _options.Malformed ? ("(malformed)", s_malformed) :
            seq % _period < _keys.Length ? (_keys[seq % _period], _requests[seq % _period]) : Request(_options, KeyAt(_options, seq));
    }

    private static string KeyAt(Options options, long seq) =>
        options.Keys is { } keys
            ? keys[seq % keys.Length]
            : options.Pattern!.Replace("{i}", (options.First + seq % options.Distinct).ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal);

    /// <summary><c>LEN:NAME KEY,</c> into <paramref name="buffer"/>; returns its length.</summary>
    private static int Encode(byte[] buffer, string map, string key)
    {
        int payload = Encoding.ASCII.GetByteCount(map) + 1 + Encoding.ASCII.GetByteCount(key);
        int at = Encoding.ASCII.GetBytes(payload.ToString(CultureInfo.InvariantCulture), buffer);
        buffer[at++] = (byte)':';
        at += Encoding.ASCII.GetBytes(map, buffer.AsSpan(at));
        buffer[at++] = (byte)' ';
        at += Encoding.ASCII.GetBytes(key, buffer.AsSpan(at));
        buffer[at++] = (byte)',';
        return at;
    }

    /// <summary>
    /// The reply that starts at <paramref name="start"/> once the buffer holds all of it (<paramref name="end"/> = the
    /// offset after it); null while more bytes are needed.
    /// </summary>
    private static string? ParseReply(byte[] buffer, int start, int filled, out int end)
    {
        end = start;
        int colon = Array.IndexOf(buffer, (byte)':', start, filled - start);
        if (colon < 0)
        {
            return filled - start > 6 ? throw new FormatException("no ':' within 6 bytes") : null;
        }
        if (colon == start || !int.TryParse(buffer.AsSpan(start, colon - start), NumberStyles.None, CultureInfo.InvariantCulture, out int length) || length > MaxReply)
        {
            throw new FormatException($"bad length '{Encoding.ASCII.GetString(buffer, start, colon - start)}'");
        }
        int total = colon + 1 + length + 1 - start;
        if (total > buffer.Length)
        {
            throw new FormatException($"reply of {length} bytes is larger than this client's buffer");
        }
        if (filled - start < total)
        {
            return null;
        }
        if (buffer[start + total - 1] != (byte)',')
        {
            throw new FormatException("missing ','");
        }
        end = start + total;
        return Encoding.ASCII.GetString(buffer, colon + 1, length);
    }

    private static string Kind(string reply)
    {
        int space = reply.IndexOf(' ', StringComparison.Ordinal);
        string status = space < 0 ? reply : reply[..space];
        return status is "OK" or "NOTFOUND" or "TEMP" or "PERM" or "TIMEOUT" ? status : "other";
    }

    private static int Report(Options options, WorkerResult[] workers, TimeSpan wall, TimeSpan cpu)
    {
        var all = new WorkerResult();
        foreach (var worker in workers)
        {
            Merge(all, worker);
        }
        var ms = all.Ticks.Select(t => t * 1000.0 / Stopwatch.Frequency).ToArray();
        Array.Sort(ms);
        long answered = ms.Length;
        long errors = all.Errors.Values.Sum();
        long unexpected = options.Expect is { } expect ? all.Answers.Where(a => a.Key != expect).Sum(a => a.Value) : 0;
        bool countBound = options.Count != long.MaxValue;
        bool countReached = answered + all.Errors.Where(e => e.Key != "reconnect").Sum(e => e.Value) >= options.Count;
        bool incomplete = countBound && !countReached;
        string stop = countBound && countReached ? "count reached" : countBound ? "duration reached before the count (incomplete)" : "duration reached";
        double P(double p) => ms.Length == 0 ? double.NaN : LabLoad.Percentile(ms, p);
        long over1 = ms.Count(m => m > 1), over5 = ms.Count(m => m > 5);
        int status = errors == 0 && unexpected == 0 && !incomplete ? 0 : 1;

        if (options.Json)
        {
            using var stream = Console.OpenStandardOutput();
            using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = false });
            json.WriteStartObject();
            json.WriteString("label", options.Label);
            json.WriteString("target", StreamEndpoint.Describe(options.Target));
            json.WriteNumber("connections", options.Connections);
            json.WriteString("io", options.Io);
            if (options.Rate > 0)
            {
                json.WriteNumber("rate", options.Rate);
            }
            if (options.Depth > 1)
            {
                json.WriteNumber("depth", options.Depth);
            }
            json.WriteNumber("distinct", options.Keys?.Length ?? options.Distinct);
            json.WriteString("stop", stop);
            json.WriteNumber("wall_s", Math.Round(wall.TotalSeconds, 4));
            json.WriteNumber("lookups", answered + errors);
            json.WriteNumber("answered", answered);
            json.WriteNumber("lookups_per_s", Math.Round(answered / wall.TotalSeconds, 1));
            json.WriteStartObject("latency_ms");
            foreach (var (name, value) in new[] { ("p50", P(50)), ("p90", P(90)), ("p99", P(99)), ("p999", P(99.9)), ("max", ms.Length == 0 ? double.NaN : ms[^1]), ("mean", ms.Length == 0 ? double.NaN : ms.Average()) })
            {
                if (double.IsNaN(value))
                {
                    json.WriteNull(name);
                }
                else
                {
                    json.WriteNumber(name, Math.Round(value, 4));
                }
            }
            json.WriteEndObject();
            json.WriteNumber("over_1ms", over1);
            json.WriteNumber("over_5ms", over5);
            WriteCounts(json, "answers", all.Answers);
            WriteCounts(json, "errors", all.Errors);
            WriteCounts(json, "replies", all.Replies.OrderByDescending(r => r.Value).Take(5).ToDictionary());
            json.WriteStartArray("error_examples");
            foreach (var example in all.ErrorExamples.Take(5))
            {
                json.WriteStringValue(example);
            }
            json.WriteEndArray();
            json.WriteNumber("client_cpu_s", Math.Round(cpu.TotalSeconds, 3));
            json.WriteNumber("exit", status);
            json.WriteEndObject();
            json.Flush();
            stream.Write("\n"u8);
            return status;
        }

        Console.WriteLine($"socketmap-load {options.Label}: target {StreamEndpoint.Describe(options.Target)}, map '{options.Map}', {options.Connections} connections ({options.Io} io{(options.Depth > 1 ? $", {options.Depth} in flight each" : "")}), " +
                          $"{options.Keys?.Length ?? options.Distinct} distinct keys ({(options.Keys is null ? options.Pattern : "from a file")}), stop: {stop}");
        Console.WriteLine($"wall: {wall.TotalSeconds:0.000} s");
        Console.WriteLine($"lookups/s: {answered / wall.TotalSeconds:0.0} ({answered} answered, {errors} errors)");
        Console.WriteLine(ms.Length == 0 ? "latency ms: none answered"
            : $"latency ms: p50 {P(50):0.000}  p90 {P(90):0.000}  p99 {P(99):0.000}  p99.9 {P(99.9):0.000}  max {ms[^1]:0.000}  mean {ms.Average():0.000}");
        Console.WriteLine($"over 1 ms: {over1}, over 5 ms: {over5}");
        Console.WriteLine("answers: " + Counts(all.Answers));
        Console.WriteLine("errors: " + (errors == 0 ? "0" : Counts(all.Errors)));
        foreach (var example in all.ErrorExamples.Take(5))
        {
            Console.WriteLine("  e.g. " + example);
        }
        foreach (var (reply, n) in all.Replies.OrderByDescending(r => r.Value).Take(3))
        {
            Console.WriteLine($"reply ×{n}: {reply}");
        }
        if (unexpected > 0)
        {
            Console.WriteLine($"unexpected: {unexpected} answers were not {options.Expect}");
        }
        Console.WriteLine($"client cpu (user+sys): {cpu.TotalSeconds:0.00} s");
        return status;

        static string Counts(Dictionary<string, long> counts) =>
            counts.Count == 0 ? "none" : string.Join(", ", counts.OrderByDescending(c => c.Value).Select(c => $"{c.Key}={c.Value}"));

        static void WriteCounts(Utf8JsonWriter json, string name, Dictionary<string, long> counts)
        {
            json.WriteStartObject(name);
            foreach (var (key, value) in counts)
            {
                json.WriteNumber(key, value);
            }
            json.WriteEndObject();
        }
    }

    private static bool TryParse(string[] args, out Options options, out string error)
    {
        EndPoint? target = null;
        int connections = 8;
        long count = 0, first = 0, distinct = 0;
        double duration = 0, timeout = 10, rate = 0;
        int warmup = 0, depth = 1, malformed = 0;
        string? warmupKey = null;
        string? pattern = null, domainsFile = null, expect = null;
        string map = "postfix", label = "", io = "blocking";
        bool json = false;
        options = null!;
        error = "";
        for (int i = 0; i < args.Length; i++)
        {
            string arg = args[i];
            if (arg is "-h" or "--help")
            {
                return false;
            }
            if (arg == "--json")
            {
                json = true;
                continue;
            }
            if (i + 1 >= args.Length)
            {
                error = $"socketmap-load: {arg} needs a value (or is unknown)";
                return false;
            }
            string value = args[++i];
            string? rule = arg switch
            {
                "--target" => StreamEndpoint.TryParse(value, out target) ? null : $"must be {StreamEndpoint.Forms}, e.g. 127.0.0.1:8461",
                "--connections" => int.TryParse(value, CultureInfo.InvariantCulture, out connections) && connections is > 0 and <= 10_000 ? null : "must be 1 to 10000",
                "--count" => long.TryParse(value, CultureInfo.InvariantCulture, out count) && count is > 0 and <= 100_000_000 ? null : "must be 1 to 100000000",
                "--duration" => double.TryParse(value, CultureInfo.InvariantCulture, out duration) && duration is > 0 and <= 3600 ? null : "must be more than 0 and at most 3600 seconds",
                "--pattern" => (pattern = value).Contains("{i}", StringComparison.Ordinal) ? null : "must contain {i}, e.g. d{i}.bench.test",
                "--domains" => (domainsFile = value).Length > 0 ? null : "must name a file",
                "--first" => long.TryParse(value, CultureInfo.InvariantCulture, out first) && first >= 0 ? null : "must be 0 or more",
                "--distinct" => long.TryParse(value, CultureInfo.InvariantCulture, out distinct) && distinct > 0 ? null : "must be 1 or more",
                "--map" => (map = value).Length > 0 && !map.Contains(' ', StringComparison.Ordinal) ? null : "must be a non-empty name without spaces",
                "--timeout" => double.TryParse(value, CultureInfo.InvariantCulture, out timeout) && timeout is > 0 and <= 600 ? null : "must be more than 0 and at most 600 seconds",
                "--expect" => (expect = value) is "OK" or "NOTFOUND" or "TEMP" or "PERM" ? null : "must be OK, NOTFOUND, TEMP or PERM",
                "--label" => (label = value).Length > 0 ? null : "must not be empty",
                "--io" => (io = value) is "blocking" or "epoll"
                    ? (io == "epoll" && !LinuxEpoll.Supported ? "epoll needs x86-64 Linux" : null)
                    : "must be epoll (one thread, epoll) or blocking (a thread per connection); async was dropped: it was slower than both",
                "--warmup" => int.TryParse(value, CultureInfo.InvariantCulture, out warmup) && warmup is >= 0 and <= 10_000 ? null : "must be 0 to 10000 lookups per connection",
                "--warmup-key" => (warmupKey = value).Length > 0 ? null : "must not be empty",
                "--depth" => int.TryParse(value, CultureInfo.InvariantCulture, out depth) && depth is >= 1 and <= 64 ? null : "must be 1 to 64 requests in flight per connection",
                "--malformed" => int.TryParse(value, CultureInfo.InvariantCulture, out malformed) && malformed is >= 0 and <= 100 ? null : "must be 0 to 100 percent",
                "--rate" => double.TryParse(value, CultureInfo.InvariantCulture, out rate) && rate is > 0 and <= 10_000_000 ? null : "must be more than 0 and at most 10000000 lookups/s",
                _ => "is not an option of socketmap-load",
            };
            if (rule is not null)
            {
                error = $"socketmap-load: {arg} '{value}': {rule}";
                return false;
            }
        }
        if ((rate > 0 || depth > 1) && io != "epoll")
        {
            error = "socketmap-load: --rate and --depth need --io epoll";
            return false;
        }
        if (depth > 1 && rate > 0)
        {
            error = "socketmap-load: --depth is for the closed loop: leave out --rate";
            return false;
        }
        if (warmup > 0 && warmupKey is null)
        {
            error = "socketmap-load: --warmup needs --warmup-key KEY (a key the measurement does not ask for, so a cold run stays cold)";
            return false;
        }
        if (target is null)
        {
            error = "socketmap-load: --target HOST:PORT is required (e.g. 127.0.0.1:8461)";
            return false;
        }
        if ((pattern is null) == (domainsFile is null))
        {
            error = "socketmap-load: give exactly one of --pattern 'd{i}.bench.test' and --domains FILE";
            return false;
        }
        string[]? keys = null;
        if (domainsFile is not null)
        {
            try
            {
                keys = File.ReadLines(domainsFile).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToArray();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                error = $"socketmap-load: --domains {domainsFile}: {ex.Message}";
                return false;
            }
            if (keys.Length == 0)
            {
                error = $"socketmap-load: --domains {domainsFile}: no keys (one per line, # comments)";
                return false;
            }
        }
        foreach (string text in (keys ?? [pattern!]).Append(map).Concat(warmupKey is null ? [] : [warmupKey]))
        {
            if (!Ascii.IsValid(text) || text.Length > 1000 || text.Any(char.IsControl))
            {
                error = $"socketmap-load: key or map '{text}' is not printable ASCII of at most 1000 characters";
                return false;
            }
        }
        options = new Options(
            target,
            connections,
            count == 0 ? long.MaxValue : count,
            TimeSpan.FromSeconds(duration > 0 ? duration : count > 0 ? 300 : 10),
            pattern,
            keys,
            first,
            distinct > 0 ? distinct : count > 0 ? count : 1000,
            map,
            TimeSpan.FromSeconds(timeout),
            expect,
            label.Length > 0 ? label : StreamEndpoint.Describe(target),
            json,
            io,
            rate,
            warmup,
            warmupKey,
            depth,
            malformed);
        return true;
    }
}
