using Rampart.Core;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Rampart.Core.Policy;
using Rampart.Core.Tls;

namespace Rampart.Benchmarks;

/// <summary>
/// Latency of one domain's sender decision (<see cref="SenderPolicyResolver.DecideAsync"/>) in the lab, cold and warm,
/// in one process after a JIT warm-up:
/// <list type="bullet">
/// <item><b>cold</b>: before each lookup Unbound's cache is flushed below the domain (<c>unbound-control flush_zone</c>:
/// rrsets, messages and validated keys, so Unbound asks NSD again and re-validates), and the lookup runs through a
/// fresh composition (DNS client, policy fetcher, policy provider, in-memory store), so an MTA-STS domain pays the TXT
/// lookup and the HTTPS fetch every time. The flush and the composition are outside the timed part.</item>
/// <item><b>warm</b>: one composition for all lookups and Unbound's cache left as it is, after one priming lookup (not
/// counted): DNS answers come from Unbound's cache, an MTA-STS policy from the provider's store.</item>
/// </list>
/// NSD's and Unbound's query counters are read before and after each mode, so the report shows that cold lookups did
/// reach NSD and warm ones did not. Run it under <c>lab/run</c>.
/// </summary>
internal static class LabDane
{
    private const string Usage =
        "usage: Rampart.Benchmarks resolve-dane --domain D [--repeat N] [--warmup W] [--expect KIND] [--flush ZONE]… [--flush-infra] [--time-limit S]\n" +
        "  Times SenderPolicyResolver.DecideAsync(D) N times cold (Unbound cache flushed below D before each lookup, fresh\n" +
        "  composition) and N times warm (one composition, Unbound cache warm), after W cold + W warm warm-up lookups.\n" +
        "  --expect: the decision every lookup must reach (default dane-only; mta-sts for an MTA-STS domain).\n" +
        "  --flush: zone(s) to flush for cold lookups (default: D; give it more than once when the MX hosts live elsewhere).\n" +
        "  --flush-infra: also `flush_infra all` (Unbound forgets NSD's RTT and EDNS status) before each cold lookup.\n" +
        "  Run it under lab/run. Exit status: 0 every decision was the expected one, 1 not, 2 usage or setup error.";

    private sealed record Options(string Domain, int Repeat, int Warmup, string Expect, string[] FlushZones, bool FlushInfra, TimeSpan TimeLimit);

    private readonly record struct Sample(string Kind, double Milliseconds, string? Detail);

    private sealed record Counters(long NsdQueries, long UnboundQueries, long UnboundCacheMisses);

    public static async Task<int> RunAsync(string[] args)
    {
        if (!TryParse(args, out var options, out var usageError))
        {
            return LabLoad.UsageExit(usageError, Usage);
        }
        var state = Environment.GetEnvironmentVariable("RAMPART_LAB_STATE");
        if (Environment.GetEnvironmentVariable("RAMPART_LAB") != "1" || string.IsNullOrEmpty(state))
        {
            Console.Error.WriteLine("resolve-dane: not inside the lab (RAMPART_LAB is not 1 or RAMPART_LAB_STATE unset): run it as `lab/run <this program> resolve-dane …` after `lab/up`.");
            return 2;
        }
        var lab = new LabControl(state);
        if (lab.Problem() is { } problem)
        {
            Console.Error.WriteLine($"resolve-dane: {problem}");
            return 2;
        }

        var anchors = TrustAnchors.Load(null);
        Console.WriteLine($"runner: rampart resolve-dane (Rampart.Core SenderPolicyResolver, {RuntimeInformation.FrameworkDescription}, {Environment.ProcessorCount} CPUs)");
        Console.WriteLine($"domain: {options.Domain}, expect: {options.Expect}, repeat: {options.Repeat} cold + {options.Repeat} warm, warm-up: {options.Warmup} cold + {options.Warmup} warm (not counted)");
        Console.WriteLine($"cold = before each lookup: unbound-control flush_zone {string.Join(", ", options.FlushZones)}{(options.FlushInfra ? " + flush_infra all" : "")}, fresh composition; warm = one composition, Unbound cache warm");
        using var hardStop = new CancellationTokenSource(options.TimeLimit);
        var token = hardStop.Token;

        try
        {
            // JIT, thread pool, sockets, first TLS handshake: both paths, not counted.
            var warmSender = LabLoad.CreateSender(anchors);
            for (var i = 0; i < options.Warmup; i++)
            {
                await ColdAsync(options, lab, anchors, token).ConfigureAwait(false);
            }
            for (var i = 0; i < options.Warmup; i++)
            {
                await TimeAsync(warmSender, options.Domain, token).ConfigureAwait(false);
            }

            var flushTimes = new List<double>();
            var before = lab.Read();
            var cold = new List<Sample>();
            for (var i = 0; i < options.Repeat; i++)
            {
                cold.Add(await ColdAsync(options, lab, anchors, token, flushTimes).ConfigureAwait(false));
            }
            var afterCold = lab.Read();

            // Warm: a fresh composition primed by one lookup (which refills Unbound and the policy store), then N lookups.
            var sender = LabLoad.CreateSender(anchors);
            var priming = await TimeAsync(sender, options.Domain, token).ConfigureAwait(false);
            var beforeWarm = lab.Read();
            var warm = new List<Sample>();
            var warmClock = Stopwatch.StartNew();
            for (var i = 0; i < options.Repeat; i++)
            {
                warm.Add(await TimeAsync(sender, options.Domain, token).ConfigureAwait(false));
            }
            warmClock.Stop();
            var afterWarm = lab.Read();

            var failures = Report("cold", cold, options, Delta(before, afterCold));
            Console.WriteLine($"  flush (unbound-control, not timed): p50 {LabLoad.Percentile([.. flushTimes.Order()], 50):0.0} ms");
            Console.WriteLine($"  priming lookup before warm (not counted): {priming.Milliseconds:0.0} ms, {priming.Kind}");
            failures += Report("warm", warm, options, Delta(beforeWarm, afterWarm));
            if (afterWarm.NsdQueries > beforeWarm.NsdQueries)
            {
                Console.WriteLine($"  note: warm lookups reached NSD {afterWarm.NsdQueries - beforeWarm.NsdQueries} times in {warmClock.Elapsed.TotalSeconds:0.0} s " +
                                  "(the lab caps Unbound's cache at 30 s, or someone else used this lab instance)");
            }
            return failures == 0 ? 0 : 1;
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            Console.WriteLine($"resolve-dane: time limit of {options.TimeLimit.TotalSeconds:0} s reached; no report");
            return 1;
        }
    }

    private static async Task<Sample> ColdAsync(Options options, LabControl lab, TrustAnchors anchors, CancellationToken token, List<double>? flushTimes = null)
    {
        var flushStarted = Stopwatch.GetTimestamp();
        foreach (var zone in options.FlushZones)
        {
            await lab.UnboundAsync(token, "flush_zone", zone).ConfigureAwait(false);
        }
        if (options.FlushInfra)
        {
            await lab.UnboundAsync(token, "flush_infra", "all").ConfigureAwait(false);
        }
        flushTimes?.Add(Stopwatch.GetElapsedTime(flushStarted).TotalMilliseconds);
        var sender = LabLoad.CreateSender(anchors);
        return await TimeAsync(sender, options.Domain, token).ConfigureAwait(false);
    }

    private static async Task<Sample> TimeAsync(SenderPolicyResolver sender, string domain, CancellationToken token)
    {
        var started = Stopwatch.GetTimestamp();
        var decision = await sender.DecideAsync(DomainName.Parse(domain), token).ConfigureAwait(false);
        var ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        var kind = SenderPolicyDecision.KindName(decision.Kind);
        var detail = $"{kind} after {ms:0.0} ms, requirement '{decision.Requirement}'; " + string.Join(" | ", decision.Evidence.Select(e => e.ToString()));
        return new(kind, ms, detail);
    }

    private static Counters Delta(Counters a, Counters b) =>
        new(b.NsdQueries - a.NsdQueries, b.UnboundQueries - a.UnboundQueries, b.UnboundCacheMisses - a.UnboundCacheMisses);

    /// <summary>Prints one mode's line and returns how many lookups did not reach the expected decision.</summary>
    private static int Report(string mode, List<Sample> samples, Options options, Counters counters)
    {
        var ms = samples.Select(s => s.Milliseconds).Order().ToArray();
        var wrong = samples.Where(s => s.Kind != options.Expect).ToList();
        double n = samples.Count;
        Console.WriteLine($"{mode}: n {samples.Count}  latency ms: min {ms[0]:0.00}  p50 {LabLoad.Percentile(ms, 50):0.00}  p95 {LabLoad.Percentile(ms, 95):0.00}  max {ms[^1]:0.00}  mean {ms.Average():0.00}");
        Console.WriteLine($"  outcomes: {string.Join(", ", samples.GroupBy(s => s.Kind).OrderByDescending(g => g.Count()).Select(g => $"{g.Key}={g.Count()}"))}" +
                          (wrong.Count == 0 ? $" (all {options.Expect})" : $"; {wrong.Count} NOT {options.Expect}"));
        Console.WriteLine($"  per lookup: NSD queries {counters.NsdQueries / n:0.0}, Unbound client queries {counters.UnboundQueries / n:0.0}, Unbound cache misses {counters.UnboundCacheMisses / n:0.0}");
        Console.WriteLine($"  decision: {samples[0].Detail}");
        foreach (var example in wrong.Take(3))
        {
            Console.WriteLine($"  e.g. {example.Detail}");
        }
        return wrong.Count;
    }

    private static bool TryParse(string[] args, out Options options, out string error)
    {
        string? domain = null;
        int repeat = 50, warmup = 5;
        double limit = 600;
        var expect = "dane-only";
        var flush = new List<string>();
        var flushInfra = false;
        options = null!;
        error = "";
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            if (arg is "-h" or "--help")
            {
                return false;
            }
            if (arg == "--flush-infra")
            {
                flushInfra = true;
                continue;
            }
            if (i + 1 >= args.Length)
            {
                error = $"resolve-dane: {arg} needs a value (or is unknown)";
                return false;
            }
            var value = args[++i];
            var good = arg switch
            {
                "--domain" => IsName(domain = value.TrimEnd('.')),
                "--repeat" => int.TryParse(value, CultureInfo.InvariantCulture, out repeat) && repeat is > 0 and <= 100_000,
                "--warmup" => int.TryParse(value, CultureInfo.InvariantCulture, out warmup) && warmup is >= 0 and <= 10_000,
                "--expect" => (expect = value).Length > 0,
                "--flush" => IsName(value.TrimEnd('.')) && AddTo(flush, value.TrimEnd('.')),
                "--time-limit" => double.TryParse(value, CultureInfo.InvariantCulture, out limit) && limit is > 0 and <= 3600,
                _ => false,
            };
            if (!good)
            {
                error = $"resolve-dane: bad option {arg} {value}";
                return false;
            }
        }
        if (domain is null)
        {
            error = "resolve-dane: --domain is required";
            return false;
        }
        options = new Options(domain, repeat, warmup, expect, flush.Count > 0 ? [.. flush] : [domain], flushInfra, TimeSpan.FromSeconds(limit));
        return true;

        // A DNS name that is safe to pass to unbound-control as one argument.
        static bool IsName(string s) => s.Length is > 0 and <= 253 && s.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_');
        static bool AddTo(List<string> list, string s)
        {
            list.Add(s);
            return true;
        }
    }

    /// <summary>The lab's Unbound and NSD control programs, with the configuration lab/up wrote (as lab/lib/common.sh calls them).</summary>
    private sealed class LabControl(string state)
    {
        private readonly string _unboundConf = Path.Combine(state, "unbound", "unbound.conf");
        private readonly string _nsdConf = Path.Combine(state, "nsd", "nsd.conf");

        public string? Problem()
        {
            if (!File.Exists(_unboundConf) || !File.Exists(_nsdConf))
            {
                return $"no lab configuration under {state} (unbound/unbound.conf, nsd/nsd.conf): is the lab up?";
            }
            try
            {
                _ = Read();
                return null;
            }
            catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception)
            {
                return ex.Message;
            }
        }

        public Task UnboundAsync(CancellationToken token, params string[] command) =>
            RunAsync(Tool("unbound-control"), ["-c", _unboundConf, .. command], token);

        public Counters Read()
        {
            var nsd = Parse(RunAsync(Tool("nsd-control"), ["-c", _nsdConf, "stats_noreset"], CancellationToken.None).GetAwaiter().GetResult());
            var unbound = Parse(RunAsync(Tool("unbound-control"), ["-c", _unboundConf, "stats_noreset"], CancellationToken.None).GetAwaiter().GetResult());
            return new(Get(nsd, "num.queries"), Get(unbound, "total.num.queries"), Get(unbound, "total.num.cachemiss"));

            static long Get(Dictionary<string, string> values, string key) =>
                values.TryGetValue(key, out var v) && long.TryParse(v, CultureInfo.InvariantCulture, out var n) ? n
                    : throw new InvalidOperationException($"no {key} in the statistics (is the lab up?)");
        }

        private static Dictionary<string, string> Parse(string text) =>
            text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(line => line.Split('=', 2))
                .Where(parts => parts.Length == 2)
                .GroupBy(parts => parts[0])
                .ToDictionary(g => g.Key, g => g.First()[1]);

        private static string Tool(string name) =>
            new[] { "/usr/sbin/" + name, "/usr/bin/" + name }.FirstOrDefault(File.Exists) ?? name;

        private static async Task<string> RunAsync(string program, string[] arguments, CancellationToken token)
        {
            var info = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var argument in arguments)
            {
                info.ArgumentList.Add(argument);
            }
            using var process = Process.Start(info) ?? throw new InvalidOperationException($"cannot start {program}");
            var stdout = process.StandardOutput.ReadToEndAsync(token);
            var stderr = process.StandardError.ReadToEndAsync(token);
            await process.WaitForExitAsync(token).ConfigureAwait(false);
            var output = await stdout.ConfigureAwait(false);
            if (process.ExitCode != 0 || (arguments.Contains("flush_zone") || arguments.Contains("flush_infra")) && !output.StartsWith("ok", StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"{program} {string.Join(' ', arguments)} failed ({process.ExitCode}): {output.Trim()} {(await stderr.ConfigureAwait(false)).Trim()}");
            }
            return output;
        }
    }
}
