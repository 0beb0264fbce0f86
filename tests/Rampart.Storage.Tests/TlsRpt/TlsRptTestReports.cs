using System.Globalization;
using System.Text;
using Rampart.Core.TlsRpt;
using Rampart.Storage.Tests.Support;

namespace Rampart.Storage.Tests.TlsRpt;

/// <summary>Reports for the TLS-RPT store tests (SQLite and PostgreSQL), and a canonical text of a summary to compare two stores with.</summary>
internal static class TlsRptTestReports
{
    public static readonly DateTimeOffset Day = new(2025, 3, 1, 0, 0, 0, TimeSpan.Zero);

    public static TlsRptStoredReport Stored(string org = "Google", string id = "r1", string domain = "a.example", long ok = 90, long failed = 10,
        DateTimeOffset? start = null, params TlsRptFailureDetail[] details)
    {
        var begin = start ?? Day;
        var policy = new TlsRptPolicyResult("sts", ["version: STSv1", "mode: enforce", "mx: mx.a.example", "max_age: 86400"], domain, ["mx.a.example"], ok, failed,
            details.Length > 0 ? details : [new TlsRptFailureDetail("certificate-expired", "192.0.2.1", "mx.a.example", null, "198.51.100.1", failed, null, null)]);
        return new TlsRptStoredReport(new TlsRptReport(org, begin, begin.AddDays(1).AddSeconds(-1), null, id, [policy]), "test", TlsRptDkimResult.NotChecked);
    }

    /// <summary>The report of <see cref="Stored"/> with a second policy (for b.example): rows in two policy tables, for atomicity tests.</summary>
    public static TlsRptStoredReport TwoPolicies()
    {
        var one = Stored();
        return one with { Report = one.Report with { Policies = [.. one.Report.Policies, one.Report.Policies[0] with { PolicyDomain = "b.example" }] } };
    }

    /// <summary>
    /// <paramref name="count"/> varied reports from a seeded generator: several reporters, domains (one empty, as for
    /// no-policy-found), one to three policies, absent fields, counts that do not add up, times with sub-millisecond
    /// parts, and about one in eight a re-send of an earlier report's key with other counts.
    /// </summary>
    public static List<TlsRptStoredReport> Varied(int count, int seed)
    {
        var random = new Random(seed);
        string[] orgs = ["Google", "Microsoft Corporation", "Mail.ru", "Yahoo", "smtp.büro.example"];
        string[] domains = ["a.example", "b.example", "c.example", "", "xn--bro-hoa.example", "d.example"];
        string[] types = ["certificate-expired", "starttls-not-supported", "validation-failure", "tlsa-invalid", "sts-policy-fetch-error", "x-vendor-type"];
        string?[] ips = ["192.0.2.1", "192.0.2.2", "2001:db8::25", null];
        string?[] mxs = ["mx1.a.example", "mx2.a.example", "MX.B.example", null];
        var reports = new List<TlsRptStoredReport>();
        for (int i = 0; i < count; i++)
        {
            if (reports.Count > 0 && random.Next(8) == 0)
            {
                var earlier = reports[random.Next(reports.Count)];
                var resend = earlier.Report with { Policies = [earlier.Report.Policies[0] with { TotalSuccessfulSessionCount = 1, TotalFailureSessionCount = 999 }] };
                reports.Add(earlier with { Report = resend, Source = "resend" });
                continue;
            }
            var start = Day.AddDays(random.Next(60)).AddTicks(random.Next(10_000)); // sub-millisecond noise, cut by both stores
            var policies = Enumerable.Range(0, 1 + random.Next(3)).Select(_ =>
            {
                var details = Enumerable.Range(0, random.Next(5)).Select(_ => new TlsRptFailureDetail(
                    types[random.Next(types.Length)], ips[random.Next(ips.Length)], mxs[random.Next(mxs.Length)],
                    random.Next(2) == 0 ? null : "helo.example", null, random.Next(0, 1000), random.Next(3) == 0 ? "https://info.example/x" : null,
                    random.Next(3) == 0 ? "X509_V_ERR_CERT_HAS_EXPIRED" : null)).ToList();
                return new TlsRptPolicyResult(random.Next(3) switch { 0 => "sts", 1 => "tlsa", _ => "no-policy-found" },
                    ["version: STSv1", "mode: enforce"], domains[random.Next(domains.Length)], ["mx1.a.example", "*.b.example"],
                    random.Next(4) == 0 ? 1L << 40 : random.Next(0, 100_000), random.Next(0, 500), details);
            }).ToList();
            var report = new TlsRptReport(orgs[random.Next(orgs.Length)], start, start.AddDays(1).AddTicks(-1),
                random.Next(2) == 0 ? null : "mailto:tlsrpt@reporter.example", $"report-{i.ToString(CultureInfo.InvariantCulture)}-{random.Next(3)}", policies)
            {
                Warnings = random.Next(4) == 0 ? ["a warning", "another"] : [],
            };
            reports.Add(new TlsRptStoredReport(report, $"file-{i.ToString(CultureInfo.InvariantCulture)}.json", TlsRptDkimResult.NotChecked));
        }
        return reports;
    }

    /// <summary>Every number, name, time (with its offset) and ordering of a summary, one line each.</summary>
    public static string Render(IReadOnlyList<TlsRptDomainSummary> domains)
    {
        var text = new StringBuilder();
        foreach (var d in domains)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"domain '{d.PolicyDomain}' reports={d.Reports} ok={d.Successful} failed={d.Failed} rate={d.FailureRate:R} {Time(d.FirstSeen)}..{Time(d.LastSeen)}");
            text.AppendLine(CultureInfo.InvariantCulture, $"  types {Counts(d.FailureTypes)}");
            text.AppendLine(CultureInfo.InvariantCulture, $"  mx {Counts(d.FailuresByMx)}");
            text.AppendLine(CultureInfo.InvariantCulture, $"  ips {Counts(d.FailuresBySendingIp)}");
            foreach (var r in d.Reporters)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"  reporter '{r.Organization}' reports={r.Reports} ok={r.Successful} failed={r.Failed} {Time(r.FirstSeen)}..{Time(r.LastSeen)} types {Counts(r.FailureTypes)}");
            }
        }
        return text.ToString();

        static string Time(DateTimeOffset t) => t.ToString("O", CultureInfo.InvariantCulture);

        static string Counts(IReadOnlyDictionary<string, long> counts) => string.Join(", ", counts.Select(kv => $"{kv.Key}={kv.Value}"));
    }
}
