using System.Diagnostics;
using System.Globalization;
using Rampart.Core.TlsRpt;
using Rampart.Storage.TlsRpt;

namespace Rampart.Benchmarks;

/// <summary>
/// <c>Rampart.Benchmarks tlsrpt-report --state-dir DIR [--store postgres://…] [--domains N] [--day YYYY-MM-DD]</c>: a day
/// of our own sessions to N report domains in the SQLite session store (or a fleet's PostgreSQL one, as host "bench") (each domain: an MTA-STS policy with 40 successes and 3 failures of two
/// kinds, a no-policy-found policy with 10 successes), then the day's reports built as <c>rampart tlsrpt send</c> builds
/// them: read the day from the store, build one report per domain, write each report's JSON and gzip. Prints the time of
/// each step and the bytes; the store stays in DIR for timing <c>rampart tlsrpt report</c> over it.
/// </summary>
internal static class ReportBuildLoad
{
    public static async Task<int> RunAsync(string[] args)
    {
        string? stateDir = null;
        string? shared = null;
        var domains = 10_000;
        var day = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-1);
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--state-dir": stateDir = args[i + 1]; break;
                case "--store": shared = args[i + 1]; break;
                case "--domains": domains = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--day": day = DateOnly.ParseExact(args[i + 1], "yyyy-MM-dd", CultureInfo.InvariantCulture); break;
                default: Console.Error.WriteLine($"unknown option {args[i]}"); return 2;
            }
        }
        if (stateDir is null)
        {
            Console.Error.WriteLine("usage: tlsrpt-report --state-dir DIR [--store postgres://…] [--domains N] [--day YYYY-MM-DD]");
            return 2;
        }
        var at = new DateTimeOffset(day.ToDateTime(new TimeOnly(12, 0)), TimeSpan.Zero);
        await using ITlsSessionStore store = shared is null
            ? await SqliteTlsSessionStore.OpenAsync(SqliteTlsSessionStore.PathIn(stateDir), TimeProvider.System)
            : await PostgresTlsSessionStore.OpenAsync(shared, "bench", TimeProvider.System);
        var seed = Stopwatch.StartNew();
        var sessions = 0;
        for (var first = 0; first < domains; first += 500)
        {
            var batch = new List<TlsSessionEntry>();
            for (var d = first; d < Math.Min(domains, first + 500); d++)
            {
                var domain = $"d{d}.bench.test";
                var record = $"v=TLSRPTv1; rua=mailto:tlsrpt@{domain}";
                var sts = new TlsSessionPolicy(TlsRptPolicyTypes.Sts, domain, ["version: STSv1", "mode: enforce", $"mx: mx.{domain}", "max_age: 604800"], [$"mx.{domain}"]);
                for (var s = 0; s < 40; s++)
                {
                    batch.Add(new(new TlsSessionResult(domain, record, sts, true, [], at)));
                }
                for (var f = 0; f < 3; f++)
                {
                    var failure = new TlsSessionFailure(f == 0 ? TlsRptResultTypes.CertificateExpired : TlsRptResultTypes.StartTlsNotSupported,
                        "192.0.2.1", $"mx.{domain}", $"mx.{domain}", "198.51.100." + (f % 2 + 1));
                    batch.Add(new(new TlsSessionResult(domain, record, sts, false, [failure], at)));
                }
                for (var s = 0; s < 10; s++)
                {
                    batch.Add(new(new TlsSessionResult(domain, record, TlsSessionPolicy.NoPolicyFound, true, [], at)));
                }
            }
            sessions += await store.AddAsync(TlsSessionSources.Datagram, batch, null, CancellationToken.None);
        }
        Console.WriteLine($"seeded {domains} domains, {sessions} sessions in {seed.Elapsed.TotalSeconds:0.0} s ({store.Location})");

        var total = Stopwatch.StartNew();
        var step = Stopwatch.StartNew();
        var rows = await store.ReadDayAsync(day, null, CancellationToken.None);
        var read = step.Elapsed;
        step.Restart();
        var reports = TlsRptReportBuilder.Build(day, rows, new TlsRptReporter("Bench Sender", "mailto:tlsrpt@sender.test", "sender.test"));
        var build = step.Elapsed;
        step.Restart();
        long json = 0, gzip = 0;
        foreach (var report in reports)
        {
            var bytes = TlsRptReportWriter.ToJson(report.Report);
            json += bytes.Length;
            gzip += TlsRptReportWriter.Gzip(bytes).Length;
        }
        var write = step.Elapsed;
        Console.WriteLine($"{reports.Count} reports from {rows.Count} policy rows: read {read.TotalSeconds:0.00} s, build {build.TotalSeconds:0.00} s, " +
                          $"JSON+gzip {write.TotalSeconds:0.00} s; total {total.Elapsed.TotalSeconds:0.00} s; JSON {json / 1024} KiB, gzip {gzip / 1024} KiB; " +
                          $"peak working set {Process.GetCurrentProcess().PeakWorkingSet64 / (1024 * 1024)} MiB");
        return reports.Count == domains ? 0 : 1;
    }
}
