using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Rampart.Tests.Shared;

namespace Rampart.Benchmarks;

/// <summary>
/// <c>Rampart.Benchmarks tlsrpt-datagrams --socket PATH --metrics URL --pid PID [--rate R] [--duration S] [--senders K] [--domains N]</c>:
/// load on a TLS-RPT datagram collector (<c>rampart daemon</c> with <c>tlsrpt_reporting.datagram_socket</c>), as Postfix
/// 3.10 gives it: K sender threads (smtp processes) sending libtlsrpt's datagrams (90% successes, 10% failures of every
/// code, over N report domains, two MTA-STS and one DANE policy shape).
/// <list type="bullet">
/// <item><c>--rate 0</c>: capacity. Senders block when the socket's queue is full (libtlsrpt's <c>tlsrpt_set_blocking</c>,
/// "for benchmarking"), so nothing is lost and the collector runs flat out: results/s from sending the first datagram
/// to the collector's /metrics showing the last one stored.</item>
/// <item><c>--rate R</c>: Postfix's way, <c>MSG_DONTWAIT</c> at R datagrams/s in total, paced per sender: a full queue
/// loses the datagram at the sender (counted); then /metrics must show every datagram sent as stored.</item>
/// </list>
/// CPU per result: the collector process's user+system time (/proc/PID/stat) over the run, divided by the results.
/// Bounded: <c>--duration</c> seconds of sending (default 20), then at most 60 s waiting for the collector.
/// </summary>
internal static partial class DatagramLoad
{
    public static async Task<int> RunAsync(string[] args)
    {
        string? socket = null, metrics = null;
        int pid = 0, rate = 0, senders = 4, domains = 1000;
        double duration = 20;
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--socket": socket = args[i + 1]; break;
                case "--metrics": metrics = args[i + 1]; break;
                case "--pid": pid = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--rate": rate = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--senders": senders = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--domains": domains = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--duration": duration = double.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                default: Console.Error.WriteLine($"tlsrpt-datagrams: unknown option {args[i]}"); return 2;
            }
        }
        if (socket is null || metrics is null || pid == 0)
        {
            Console.Error.WriteLine("tlsrpt-datagrams: --socket PATH --metrics URL --pid PID are required");
            return 2;
        }

        var pool = Datagrams(domains, Math.Max(5000, domains)); // every domain in the pool (100,000 distinct domains in a day)
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var before = await ReadMetricsAsync(http, metrics).ConfigureAwait(false);
        var cpuBefore = CpuSeconds(pid);
        var clock = Stopwatch.StartNew();
        var sent = new long[senders];
        var refused = new long[senders];
        var threads = Enumerable.Range(0, senders).Select(k => new Thread(() =>
        {
            using var sender = new LibTlsRptSender(socket, blocking: rate == 0);
            var interval = rate == 0 ? 0 : senders / (double)rate; // seconds between this sender's datagrams
            var next = 0.0;
            for (var n = k; clock.Elapsed.TotalSeconds < duration; n += senders)
            {
                if (rate > 0)
                {
                    next += interval;
                    while (clock.Elapsed.TotalSeconds < next)
                    {
                        Thread.Sleep(1);
                    }
                }
                sender.TrySend(pool[n % pool.Count]);
            }
            sent[k] = sender.Sent;
            refused[k] = sender.WouldBlock;
        }) { IsBackground = true }).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        var sending = clock.Elapsed;
        var total = sent.Sum();

        // Wait (bounded) until the collector has read everything sent.
        Dictionary<string, double> after;
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            after = await ReadMetricsAsync(http, metrics).ConfigureAwait(false);
            if (Read(after) - Read(before) >= total || deadline.Elapsed > TimeSpan.FromSeconds(60))
            {
                break;
            }
            await Task.Delay(20).ConfigureAwait(false);
        }
        var done = clock.Elapsed;
        var cpu = CpuSeconds(pid) - cpuBefore;
        var results = Sum(after, "rampart_tlsrpt_sessions_total") - Sum(before, "rampart_tlsrpt_sessions_total");
        var accepted = Value(after, "rampart_tlsrpt_datagrams_total{result=\"accepted\"}") - Value(before, "rampart_tlsrpt_datagrams_total{result=\"accepted\"}");
        var dropped = Value(after, "rampart_tlsrpt_datagrams_total{result=\"dropped\"}") - Value(before, "rampart_tlsrpt_datagrams_total{result=\"dropped\"}");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"mode {(rate == 0 ? "capacity (blocking senders)" : $"{rate}/s MSG_DONTWAIT")}, {senders} senders, {domains} domains: " +
            $"sent {total} in {sending.TotalSeconds:0.0} s ({total / sending.TotalSeconds:0} datagrams/s offered); " +
            $"refused at the sender (queue full) {refused.Sum()}; stored {accepted} datagrams = {results} results, dropped by the collector {dropped}, " +
            $"all stored after {done.TotalSeconds:0.0} s: {results / done.TotalSeconds:0} results/s; " +
            $"collector CPU {cpu:0.00} s = {cpu / Math.Max(results, 1) * 1e6:0.0} µs per result"));
        return accepted == total && dropped == 0 ? 0 : 1;
    }

    /// <summary>
    /// <paramref name="count"/> different datagrams over <paramref name="domains"/> report domains (drawn at random, or
    /// each once in turn when there are as many datagrams as domains).
    /// </summary>
    private static List<byte[]> Datagrams(int domains, int count)
    {
        int[] codes = [201, 202, 203, 204, 205, 301, 302, 303, 304, 305, 306];
        var random = new Random(8460);
        var pool = new List<byte[]>(count);
        for (var i = 0; i < count; i++)
        {
            var domain = $"d{(domains >= count ? i : random.Next(domains))}.bench.test";
            var builder = new LibTlsRptDatagramBuilder(domain, $"v=TLSRPTv1; rua=mailto:tlsrpt@{domain}");
            var failed = random.Next(10) == 0;
            if (i % 10 == 9)
            {
                builder.Policy(1, "mx." + domain).PolicyString("3 1 1 " + Convert.ToHexString(BitConverter.GetBytes(random.NextInt64())).PadRight(64, 'A'));
            }
            else
            {
                builder.Policy(2, domain).PolicyString("version: STSv1").PolicyString("mode: enforce").PolicyString("mx: mx" + (i % 2) + "." + domain)
                    .PolicyString("max_age: 604800").MxHost("mx" + (i % 2) + "." + domain);
            }
            if (failed)
            {
                builder.Failure(codes[random.Next(codes.Length)], "192.0.2.10", "mx." + domain, "mx." + domain, "198.51.100." + random.Next(1, 255),
                    reason: random.Next(2) == 0 ? "self-signed_certificate" : null);
            }
            pool.Add(builder.Finish(failed ? 1 : 0).Build());
        }
        return pool;
    }

    private static double CpuSeconds(int pid)
    {
        // /proc/PID/stat: fields 14 and 15 (utime, stime) in clock ticks, after the ")" that ends the command name.
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
    }

    private static async Task<Dictionary<string, double>> ReadMetricsAsync(HttpClient http, string url)
    {
        var text = await http.GetStringAsync(new Uri(url)).ConfigureAwait(false);
        return MetricLine().Matches(text).ToDictionary(m => m.Groups[1].Value, m => double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture));
    }

    private static double Read(Dictionary<string, double> metrics) =>
        Value(metrics, "rampart_tlsrpt_datagrams_total{result=\"accepted\"}") + Value(metrics, "rampart_tlsrpt_datagrams_total{result=\"rejected\"}")
        + Value(metrics, "rampart_tlsrpt_datagrams_total{result=\"dropped\"}");

    private static double Value(Dictionary<string, double> metrics, string name) => metrics.GetValueOrDefault(name);

    private static double Sum(Dictionary<string, double> metrics, string family) =>
        metrics.Where(m => m.Key.StartsWith(family + "{", StringComparison.Ordinal)).Sum(m => m.Value);

    [GeneratedRegex(@"^(rampart_tlsrpt_\S+) (\S+)$", RegexOptions.Multiline)]
    private static partial Regex MetricLine();
}
