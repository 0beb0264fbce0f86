using System.Globalization;
using System.Text;
using System.Text.Json;
using Rampart.Core;
using Rampart.Core.Check;

namespace Rampart.Cli;

/// <summary>
/// How <c>rampart check</c> shows its reports: the monitoring view (problems first, ok and info hidden unless -v, one
/// summary line), the DESIGN.md JSON (always <c>{status, domains: [...]}</c>), or a Nagios/Icinga plugin line
/// (<c>STATUS - text | perfdata</c>).
/// </summary>
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

    /// <summary>The worst verdict as the JSON and Nagios name it; <c>unknown</c> when the run could not judge (<paramref name="unknown"/>).</summary>
    public static string StatusName(IReadOnlyList<DomainCheckReport> reports, string? unknown) =>
        unknown is not null ? "unknown" : DomainCheckReport.StatusName(reports.Count == 0 ? CheckStatus.Ok : reports.Max(r => r.Status));

    /// <summary>
    /// <c>{"status", "domains": [{"domain", "status", "findings": [...]}]}</c> for one domain or many; with
    /// <paramref name="unknown"/> (the local resolver is down) the status is <c>unknown</c> and <c>unknown</c> says why.
    /// </summary>
    public static void WriteJson(IReadOnlyList<DomainCheckReport> reports, string? unknown = null)
    {
        JsonShapes.WriteStdout(w =>
        {
            w.WriteStartObject();
            w.WriteString("status", StatusName(reports, unknown));
            if (unknown is not null)
            {
                w.WriteString("unknown", unknown);
            }
            w.WriteStartArray("domains");
            foreach (var report in reports)
            {
                WriteReport(w, report);
            }
            w.WriteEndArray();
            w.WriteEndObject();
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

    /// <summary>
    /// The monitoring view: domains with failures first, then warnings, then ok; per domain its verdict line and, unless
    /// <paramref name="verbose"/>, only its failure and warning lines (each with its one-sentence fix and the docs anchor,
    /// then the records to publish, if any, as an indented block); then one summary line across domains.
    /// <paramref name="verbose"/> shows every finding, and each finding's detail indented under it.
    /// </summary>
    public static void WriteHuman(IReadOnlyList<DomainCheckReport> reports, bool verbose, string? unknown = null)
    {
        var hidden = 0;
        foreach (var report in reports.OrderByDescending(r => r.Status))
        {
            var failures = report.Findings.Count(f => f.Severity == CheckSeverity.Failure);
            var warnings = report.Findings.Count(f => f.Severity == CheckSeverity.Warning);
            Console.WriteLine($"Verdict for {report.Domain}: {ConsoleReport.Verdict(report.Status)} ({failures} failure(s), {warnings} warning(s), {report.Findings.Count} finding(s))");
            foreach (var f in report.Findings.OrderByDescending(f => f.Severity))
            {
                if (!verbose && f.Severity < CheckSeverity.Warning)
                {
                    hidden++;
                    continue;
                }
                var fix = f.Fix.Length == 0 ? "" : $" Fix: {f.Fix}";
                Console.WriteLine($"  {ConsoleReport.Label(f.Severity)} {f.Id} [{f.Subject}] {f.Message.TrimEnd('.')}.{fix}" + ConsoleReport.Note($" ({CheckDocs.Anchor(f.Id)}; {f.Reference})"));
                foreach (var record in f.Records)
                {
                    Console.WriteLine("      " + record);
                }
                if (verbose && f.Detail.Length > 0)
                {
                    Console.WriteLine("      " + ConsoleReport.Note(f.Detail));
                }
            }
        }
        if (unknown is not null)
        {
            Console.WriteLine($"UNKNOWN: {unknown}");
        }
        Console.WriteLine(Summary(reports) + (hidden > 0 ? $"; {hidden} ok/info line(s) hidden (-v shows them)" : ""));
    }

    /// <summary>One line across domains: <c>40 domain(s): 2 failure, 3 warning, 35 ok</c>.</summary>
    public static string Summary(IReadOnlyList<DomainCheckReport> reports) =>
        $"{reports.Count} domain(s): {reports.Count(r => r.Status == CheckStatus.Failure)} failure, " +
        $"{reports.Count(r => r.Status == CheckStatus.Warning)} warning, {reports.Count(r => r.Status == CheckStatus.Ok)} ok";

    /// <summary>
    /// The Nagios/Icinga plugin line: <c>CRITICAL - 2 of 40 domain(s) failing: a.example (mx.lookup-error), … | domains=40;;;0 …</c>,
    /// and its exit code (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN). <paramref name="unknown"/> makes it UNKNOWN.
    /// </summary>
    public static int WriteNagios(IReadOnlyList<DomainCheckReport> reports, string? unknown)
    {
        var (line, code) = Nagios(reports, unknown);
        Console.WriteLine(line);
        return code;
    }

    /// <summary>The plugin line and exit code of <see cref="WriteNagios"/>.</summary>
    public static (string Line, int ExitCode) Nagios(IReadOnlyList<DomainCheckReport> reports, string? unknown)
    {
        var failing = reports.Where(r => r.Status == CheckStatus.Failure).ToList();
        var warning = reports.Where(r => r.Status == CheckStatus.Warning).ToList();
        var (status, code) = unknown is not null ? ("UNKNOWN", ExitCodes.Unknown)
            : failing.Count > 0 ? ("CRITICAL", ExitCodes.InputError)
            : warning.Count > 0 ? ("WARNING", ExitCodes.Invalid)
            : ("OK", ExitCodes.Ok);
        var text = new StringBuilder();
        if (unknown is not null)
        {
            text.Append(unknown);
        }
        else if (failing.Count + warning.Count == 0)
        {
            text.Append(CultureInfo.InvariantCulture, $"{reports.Count} domain(s) ok");
        }
        else
        {
            if (failing.Count > 0)
            {
                text.Append(CultureInfo.InvariantCulture, $"{failing.Count} of {reports.Count} domain(s) failing: {Worst(failing, CheckSeverity.Failure)}");
            }
            if (warning.Count > 0)
            {
                text.Append(failing.Count > 0 ? "; " : "").Append(CultureInfo.InvariantCulture, $"{warning.Count} of {reports.Count} with warnings: {Worst(warning, CheckSeverity.Warning)}");
            }
        }
        var perfdata = string.Create(CultureInfo.InvariantCulture,
            $"domains={reports.Count};;;0 ok={reports.Count(r => r.Status == CheckStatus.Ok)};;;0 warning={warning.Count};;;0 failure={failing.Count};;;0 " +
            $"findings_failure={reports.Sum(r => r.Findings.Count(f => f.Severity == CheckSeverity.Failure))};;;0 " +
            $"findings_warning={reports.Sum(r => r.Findings.Count(f => f.Severity == CheckSeverity.Warning))};;;0");
        // '|' separates perfdata in the plugin protocol: none may appear in the text.
        return ($"{status} - {DisplayText.Sanitize(text.ToString(), 900).Replace('|', '/')} | {perfdata}", code);

        static string Worst(List<DomainCheckReport> domains, CheckSeverity severity) =>
            string.Join(", ", domains.Take(5).Select(d => $"{d.Domain} ({string.Join(" ", d.Findings.Where(f => f.Severity == severity).Select(f => f.Id).Distinct().Take(3))})"))
            + (domains.Count > 5 ? $", +{domains.Count - 5} more" : "");
    }
}

/// <summary>Where docs/checks.md explains a finding: the section of its family (the id's first part).</summary>
internal static class CheckDocs
{
    public const string Page = "docs/checks.md";

    /// <summary><c>docs/checks.md#section</c> for a finding id; every section named here is a heading of that page (tested).</summary>
    public static string Anchor(string id) => $"{Page}#{Section(id)}";

    public static string Section(string id) => id.Split('.')[0] switch
    {
        "mx" => "mx",
        "dnssec" => "dnssec",
        "smtp" => "smtp-and-tls-per-mx-address",
        "tls" => "certificates-per-mx-address",
        "dane" => "dane",
        "mta-sts" => "mta-sts",
        "tls-rpt" => "tls-rpt",
        "consistency" => "dane-and-mta-sts-together",
        _ => "the-run",
    };
}
