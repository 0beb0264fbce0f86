using Rampart.Core;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Rampart.Core.Dns;
using Rampart.Core.MtaSts;
using Rampart.Core.Policy;
using Rampart.Core.Tls;

namespace Rampart.Benchmarks;

/// <summary>
/// The load run: N distinct <c>b&lt;i&gt;-&lt;run&gt;.bench.test</c> domains (fresh names every run, so neither
/// Rampart's policy cache nor Unbound's answer cache can help), each decided by Rampart.Core's real
/// <see cref="SenderPolicyResolver"/> (MX, <c>_mta-sts</c> TXT, policy host address, HTTPS fetch with WebPKI
/// validation, parse), at most C at a time. Composed exactly as tests/Rampart.Lab.Tests/Lab.cs does. Runs under
/// <c>lab/run</c> (resolver 127.0.0.1:53 in the lab's namespace, lab CA through SSL_CERT_FILE).
/// benchmarks/peer/sts_resolve_bench.py prints the same report for postfix-mta-sts-resolver.
/// </summary>
internal static class LabLoad
{
    private const string Usage =
        "usage: Rampart.Benchmarks resolve-lab [--count N] [--concurrency C] [--warmup W] [--time-limit SECONDS] [--run-id ID] [--zone bench.test]\n" +
        "  Resolves N fresh <label>.bench.test domains through SenderPolicyResolver, C at a time; run it under lab/run.\n" +
        "  Exit status: 0 every decision was mta-sts, 1 some were not (or the time limit hit), 2 usage or setup error.";

    private sealed record Options(int Count, int Concurrency, int Warmup, TimeSpan TimeLimit, string RunId, string Zone);

    private readonly record struct Outcome(string Kind, double Milliseconds, string? Detail);

    public static async Task<int> RunAsync(string[] args)
    {
        if (!TryParse(args, out var options, out var usageError))
        {
            return LabLoad.UsageExit(usageError, Usage);
        }
        if (Environment.GetEnvironmentVariable("RAMPART_LAB") != "1")
        {
            Console.Error.WriteLine("resolve-lab: not inside the lab (RAMPART_LAB is not 1): run it as `lab/run <this program> resolve-lab …` after `lab/up`.");
            return 2;
        }

        var sender = CreateSender(out var anchors);
        Console.WriteLine($"runner: rampart (Rampart.Core SenderPolicyResolver, {RuntimeInformation.FrameworkDescription}, {Environment.ProcessorCount} CPUs, {(System.Runtime.GCSettings.IsServerGC ? "server" : "workstation")} GC)");
        Console.WriteLine($"resolver: 127.0.0.1:53; extra trust anchors: {(anchors.Sources.Count == 0 ? "none (SSL_CERT_FILE unset?)" : string.Join(", ", anchors.Sources))}");

        using var hardStop = new CancellationTokenSource(options.TimeLimit);

        // Warm-up: JIT, thread pool, first TLS handshake; its own names, excluded from every number below.
        if (options.Warmup > 0)
        {
            var warm = await RunBatchAsync(sender, Names($"w{options.RunId}", options.Warmup, options.Zone), Math.Min(options.Concurrency, options.Warmup), hardStop.Token).ConfigureAwait(false);
            int warmOk = warm.Outcomes.Count(o => o.Kind == "mta-sts");
            Console.WriteLine($"warmup: {options.Warmup} domains, {warmOk} mta-sts (not counted)");
        }

        var names = Names(options.RunId, options.Count, options.Zone);
        Console.WriteLine($"domains: {options.Count} (b0-{options.RunId}.{options.Zone} … b{options.Count - 1}-{options.RunId}.{options.Zone}), concurrency: {options.Concurrency}, time limit: {options.TimeLimit.TotalSeconds:0} s");
        var self = Process.GetCurrentProcess();
        var cpuBefore = self.TotalProcessorTime;
        var run = await RunBatchAsync(sender, names, options.Concurrency, hardStop.Token).ConfigureAwait(false);
        self.Refresh();
        return Report(run, options, self, self.TotalProcessorTime - cpuBefore);
    }

    internal static SenderPolicyResolver CreateSender(out TrustAnchors anchors) => CreateSender(anchors = TrustAnchors.Load(null));

    /// <summary>A complete, fresh composition (own DNS client, fetcher, policy provider and in-memory store).</summary>
    internal static SenderPolicyResolver CreateSender(TrustAnchors anchors)
    {
        // As tests/Rampart.Lab.Tests/Lab.cs: DNS timeout 3 s, fetch 5 s total / 2 s connect, in-memory policy store.
        var dns = new DnsClientResolver(DnsResolverSettings.FromOptions(new DnsResolverOptions
        {
            Resolver = "127.0.0.1:53",
            Timeout = TimeSpan.FromSeconds(3),
        }));
        var mtaSts = SenderPolicyStack.MtaStsProvider(dns, new WebPkiValidator(anchors, TimeProvider.System),
            new MtaStsFetchSettings { TotalTimeout = TimeSpan.FromSeconds(5), ConnectTimeout = TimeSpan.FromSeconds(2) },
            new InMemoryMtaStsPolicyStore(), TimeProvider.System);
        return SenderPolicyStack.Resolver(dns, mtaSts, new SenderPolicySettings(), pinned: null, TimeProvider.System);
    }

    private static string[] Names(string runId, int count, string zone) =>
        Enumerable.Range(0, count).Select(i => $"b{i}-{runId}.{zone}").ToArray();

    private sealed record Batch(Outcome[] Outcomes, int NotStarted, TimeSpan Wall);

    private static async Task<Batch> RunBatchAsync(SenderPolicyResolver sender, string[] names, int concurrency, CancellationToken hardStop)
    {
        var outcomes = new Outcome[names.Length];
        using var gate = new SemaphoreSlim(concurrency, concurrency);
        var tasks = new List<Task>(names.Length);
        int notStarted = 0;
        var wall = Stopwatch.StartNew();
        for (int i = 0; i < names.Length; i++)
        {
            try
            {
                await gate.WaitAsync(hardStop).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                notStarted = names.Length - i;
                for (int j = i; j < names.Length; j++)
                {
                    outcomes[j] = new("not-started", double.NaN, "time limit reached before this lookup started");
                }
                break;
            }
            int index = i;
            tasks.Add(Task.Run(async () =>
            {
                try
                {
                    outcomes[index] = await DecideOneAsync(sender, names[index], hardStop).ConfigureAwait(false);
                }
                finally
                {
                    gate.Release();
                }
            }, CancellationToken.None));
        }
        await Task.WhenAll(tasks).ConfigureAwait(false);
        wall.Stop();
        return new Batch(outcomes, notStarted, wall.Elapsed);
    }

    private static async Task<Outcome> DecideOneAsync(SenderPolicyResolver sender, string domain, CancellationToken hardStop)
    {
        long started = Stopwatch.GetTimestamp();
        try
        {
            var decision = await sender.DecideAsync(DomainName.Parse(domain), hardStop).ConfigureAwait(false);
            double ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            string kind = SenderPolicyDecision.KindName(decision.Kind);
            string? detail = kind == "mta-sts" ? null
                : $"{domain}: {kind} after {ms:0} ms, requirement '{decision.Requirement}'; " +
                  string.Join(" | ", decision.Evidence.Where(e => e.Outcome is EvidenceOutcome.Fail or EvidenceOutcome.Warning).Select(e => e.ToString()).DefaultIfEmpty(decision.Evidence.Count > 0 ? decision.Evidence[^1].ToString() : "no evidence"));
            return new(kind, ms, detail);
        }
        catch (OperationCanceledException) when (hardStop.IsCancellationRequested)
        {
            return new("cancelled", Stopwatch.GetElapsedTime(started).TotalMilliseconds, $"{domain}: cancelled by the time limit");
        }
        catch (Exception ex)
        {
            return new("exception", Stopwatch.GetElapsedTime(started).TotalMilliseconds, $"{domain}: {ex.GetType().Name}: {ex.Message}");
        }
    }

    private static int Report(Batch run, Options options, Process self, TimeSpan cpu)
    {
        // Decided lookups only: a lookup cut short by the time limit has no decision and no meaningful latency.
        var done = run.Outcomes.Where(o => o.Kind is not ("not-started" or "cancelled")).ToArray();
        var latencies = done.Select(o => o.Milliseconds).Order().ToArray();
        int ok = run.Outcomes.Count(o => o.Kind == "mta-sts");
        int errors = run.Outcomes.Length - ok;

        Console.WriteLine($"wall: {run.Wall.TotalSeconds:0.000} s");
        Console.WriteLine($"lookups/s: {done.Length / run.Wall.TotalSeconds:0.0} ({done.Length} decided)");
        Console.WriteLine(latencies.Length == 0 ? "latency ms: none completed"
            : $"latency ms: p50 {Percentile(latencies, 50):0.0}  p95 {Percentile(latencies, 95):0.0}  p99 {Percentile(latencies, 99):0.0}  max {latencies[^1]:0.0}");
        Console.WriteLine("outcomes: " + string.Join(", ", run.Outcomes.GroupBy(o => o.Kind).OrderByDescending(g => g.Count()).Select(g => $"{g.Key}={g.Count()}")));
        Console.WriteLine($"errors: {errors}");
        foreach (var example in run.Outcomes.Where(o => o.Detail is not null).Select(o => o.Detail!).Take(5))
        {
            Console.WriteLine("  e.g. " + example);
        }
        Console.WriteLine($"cpu (this process, user+sys): {cpu.TotalSeconds:0.00} s, {cpu.TotalMilliseconds / Math.Max(done.Length, 1):0.00} ms per lookup");
        Console.WriteLine($"peak working set: {self.PeakWorkingSet64 / 1048576.0:0.0} MiB");
        Console.WriteLine($"concurrency: {options.Concurrency}");
        return errors == 0 && run.NotStarted == 0 ? 0 : 1;
    }

    /// <summary>Nearest-rank percentile of sorted values (the same definition as the peer harness).</summary>
    /// <summary>An empty error means --help: usage on stdout, exit 0; otherwise the error and usage on stderr, exit 2.</summary>
    internal static int UsageExit(string error, string usage)
    {
        if (error.Length == 0)
        {
            Console.WriteLine(usage);
            return 0;
        }
        Console.Error.WriteLine(error);
        Console.Error.WriteLine(usage);
        return 2;
    }

    internal static double Percentile(double[] sorted, double p)
    {
        int rank = (int)Math.Ceiling(p / 100.0 * sorted.Length);
        return sorted[Math.Clamp(rank, 1, sorted.Length) - 1];
    }

    private static bool TryParse(string[] args, out Options options, out string error)
    {
        int count = 1000, concurrency = 32, warmup = 10;
        double limit = 300;
        string runId = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString("x", CultureInfo.InvariantCulture) + Environment.ProcessId.ToString("x", CultureInfo.InvariantCulture);
        string zone = "bench.test";
        options = null!;
        error = "";
        for (int i = 0; i < args.Length; i++)
        {
            string arg = args[i];
            if (arg is "-h" or "--help")
            {
                error = "";
                return false;
            }
            if (i + 1 >= args.Length)
            {
                error = $"resolve-lab: {arg} needs a value (or is unknown)";
                return false;
            }
            string value = args[++i];
            bool good = arg switch
            {
                "--count" => int.TryParse(value, CultureInfo.InvariantCulture, out count) && count is > 0 and <= 1_000_000,
                "--concurrency" => int.TryParse(value, CultureInfo.InvariantCulture, out concurrency) && concurrency is > 0 and <= 10_000,
                "--warmup" => int.TryParse(value, CultureInfo.InvariantCulture, out warmup) && warmup is >= 0 and <= 10_000,
                "--time-limit" => double.TryParse(value, CultureInfo.InvariantCulture, out limit) && limit is > 0 and <= 3600,
                "--run-id" => IsLabel(runId = value),
                "--zone" => (zone = value.TrimEnd('.')).Length > 0,
                _ => false,
            };
            if (!good)
            {
                error = $"resolve-lab: bad option {arg} {value}";
                return false;
            }
        }
        options = new Options(count, concurrency, warmup, TimeSpan.FromSeconds(limit), runId, zone);
        return true;

        static bool IsLabel(string s) => s.Length is > 0 and <= 40 && s.All(c => char.IsAsciiLetterOrDigit(c) || c == '-');
    }
}
