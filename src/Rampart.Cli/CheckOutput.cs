using System.Text.Json;
using Rampart.Core.Check;

namespace Rampart.Cli;

/// <summary>How <c>rampart check</c> shows its reports: human lines grouped per check family, or the DESIGN.md JSON.</summary>
internal static class CheckOutput
{
    /// <summary>Nagios-style: 0 when every domain is ok, 1 when the worst is a warning, 2 when any has a failure.</summary>
    public static int ExitCode(IReadOnlyList<DomainCheckReport> reports) =>
        reports.Count == 0 ? ExitCodes.Ok : reports.Max(r => r.Status) switch
        {
            CheckStatus.Failure => ExitCodes.InputError,
            CheckStatus.Warning => ExitCodes.Invalid,
            _ => ExitCodes.Ok,
        };

    public static void WriteJson(IReadOnlyList<DomainCheckReport> reports)
    {
        JsonShapes.WriteStdout(w =>
        {
            if (reports.Count == 1)
            {
                WriteReport(w, reports[0]);
                return;
            }
            w.WriteStartArray();
            foreach (var report in reports)
            {
                WriteReport(w, report);
            }
            w.WriteEndArray();
        });
    }

    private static void WriteReport(Utf8JsonWriter w, DomainCheckReport report)
    {
        w.WriteStartObject();
        w.WriteString("domain", report.Domain);
        w.WriteString("status", DomainCheckReport.StatusName(report.Status));
        w.WriteStartArray("findings");
        foreach (var f in report.Findings)
        {
            w.WriteStartObject();
            ConsoleReport.WriteFinding(w, f);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    /// <summary>Per domain: findings grouped by family (the id's first part), one line each, then the verdict. Fixes are shown for warnings and failures.</summary>
    public static void WriteHuman(IReadOnlyList<DomainCheckReport> reports, bool verbose)
    {
        foreach (var report in reports)
        {
            Console.WriteLine($"Domain {report.Domain}");
            foreach (var group in report.Findings.GroupBy(f => f.Id.Split('.')[0]))
            {
                Console.WriteLine($"  {group.Key}");
                foreach (var f in group)
                {
                    var fix = f.Severity >= CheckSeverity.Warning || (verbose && f.Fix.Length > 0) ? $" Fix: {f.Fix}" : "";
                    Console.WriteLine($"    {ConsoleReport.Label(f.Severity)} {f.Id} [{f.Subject}] {f.Message}.{fix}" + ConsoleReport.Note($" ({f.Reference})"));
                }
            }
            var failures = report.Findings.Count(f => f.Severity == CheckSeverity.Failure);
            var warnings = report.Findings.Count(f => f.Severity == CheckSeverity.Warning);
            Console.WriteLine($"Verdict for {report.Domain}: {ConsoleReport.Verdict(report.Status)} ({failures} failure(s), {warnings} warning(s), {report.Findings.Count} finding(s))");
        }
    }
}
