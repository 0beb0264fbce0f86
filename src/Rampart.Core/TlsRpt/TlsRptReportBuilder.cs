using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Rampart.Core.TlsRpt;

/// <summary>Who sends our reports: the report's organization-name and contact-info, and the submitter domain of RFC 8460 §5.3.</summary>
/// <param name="OrganizationName">organization-name (RFC 8460 §4.4).</param>
/// <param name="ContactInfo">contact-info: an email address or URI; never null (receivers complain of null, FIELD-NOTES §1.3).</param>
/// <param name="SubmitterDomain">The domain of the sender (TLS-Report-Submitter, the right side of report-id, the filename's first part).</param>
public sealed record TlsRptReporter(string OrganizationName, string ContactInfo, string SubmitterDomain);

/// <summary>
/// One report to send: the RFC 8460 §4.4 report about <see cref="ReportDomain"/>'s sessions of one UTC day, and the
/// TLSRPT record the sessions saw (null when the source did not carry it). Where it goes is looked up at send time.
/// </summary>
public sealed record OutgoingTlsRptReport(DateOnly Day, string ReportDomain, string? TlsRptRecord, string SubmitterDomain, TlsRptReport Report)
{
    /// <summary>The RFC 8460 §5.1 file name: <c>submitter!policy-domain!begin!end!unique-id.json.gz</c> (Unix seconds).</summary>
    public string FileName => string.Create(CultureInfo.InvariantCulture,
        $"{SubmitterDomain}!{ReportDomain}!{Report.StartDatetime.ToUnixTimeSeconds()}!{Report.EndDatetime.ToUnixTimeSeconds()}!{TlsRptReportBuilder.RecordTag(TlsRptRecord)}.json.gz");

    /// <summary>The RFC 8460 §5.3 Subject: <c>Report Domain: D Submitter: S Report-ID: &lt;id&gt;</c>.</summary>
    public string Subject => $"Report Domain: {ReportDomain} Submitter: {SubmitterDomain} Report-ID: <{Report.ReportId}>";

    /// <summary>total-successful-session-count over the policies.</summary>
    public long Successful => Report.TotalSuccessful;

    /// <summary>total-failure-session-count over the policies.</summary>
    public long Failed => Report.TotalFailed;
}

/// <summary>
/// Builds the day's reports (RFC 8460 §4) from the session store's counts: one report per report domain and distinct
/// TLSRPT record, each policy one policies[] entry with its summary and aggregated failure-details, the date range the
/// whole UTC day, and a report-id that is the same each time the same day is built (so a receiver de-duplicates a report
/// sent twice).
/// </summary>
public static class TlsRptReportBuilder
{
    /// <summary>The reports of <paramref name="day"/> from its counts (<see cref="ITlsSessionStore.ReadDayAsync"/>), ordered by report domain.</summary>
    public static IReadOnlyList<OutgoingTlsRptReport> Build(DateOnly day, IEnumerable<TlsSessionDayPolicy> rows, TlsRptReporter reporter)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(reporter);
        var start = new DateTimeOffset(day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
        var end = start.AddDays(1).AddSeconds(-1); // 23:59:59Z, as RFC 8460's example
        var reports = new List<OutgoingTlsRptReport>();
        foreach (var group in rows.Where(r => r.Day == day)
                     .GroupBy(r => (r.ReportDomain, Record: r.TlsRptRecord ?? ""))
                     .OrderBy(g => g.Key.ReportDomain, StringComparer.Ordinal).ThenBy(g => g.Key.Record, StringComparer.Ordinal))
        {
            var (domain, record) = group.Key;
            var policies = group.Select(row => Policy(row, domain)).ToList();
            var reportId = string.Create(CultureInfo.InvariantCulture, $"{day:yyyyMMdd}.{RecordTag(record.Length == 0 ? null : record)}.{domain}@{reporter.SubmitterDomain}");
            var report = new TlsRptReport(reporter.OrganizationName, start, end, reporter.ContactInfo, reportId, policies);
            reports.Add(new OutgoingTlsRptReport(day, domain, record.Length == 0 ? null : record, reporter.SubmitterDomain, report));
        }
        return reports;
    }

    /// <summary>Eight hex digits that tell the TLSRPT records of one domain apart (<c>0</c> when the source carried none).</summary>
    internal static string RecordTag(string? record) => record is null
        ? "0"
        : Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(record)).AsSpan(0, 4));

    private static TlsRptPolicyResult Policy(TlsSessionDayPolicy row, string reportDomain)
    {
        var details = row.Failures
            .Select(f => new TlsRptFailureDetail(f.Failure.ResultType, f.Failure.SendingMtaIp, f.Failure.ReceivingMxHostname,
                f.Failure.ReceivingMxHelo, f.Failure.ReceivingIp, f.Sessions, f.Failure.AdditionalInformation, f.Failure.FailureReasonCode))
            .ToList();
        // policy-domain is required (§4.4); a source that gave none (libtlsrpt, sys4 issue #51) reported for the report domain.
        return new TlsRptPolicyResult(row.Policy.PolicyType, row.Policy.PolicyStrings, row.Policy.PolicyDomain ?? reportDomain,
            row.Policy.MxHostPatterns, row.Successful, row.Failed, details);
    }
}
