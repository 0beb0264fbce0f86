using System.IO.Compression;
using System.Text.Json;
using Rampart.Core.TlsRpt;

namespace Rampart.Core.Tests.TlsRpt;

/// <summary>
/// The day's reports from the session store's counts: one per report domain and TLSRPT record, RFC 8460 §4.4's fields,
/// and JSON that Rampart's own strict reader reads back unchanged.
/// </summary>
public sealed class TlsRptReportBuilderTests
{
    private static readonly DateOnly s_day = new(2026, 12, 6);
    private static readonly TlsRptReporter s_reporter = new("Example Sender", "mailto:tlsrpt-admin@sender.example", "sender.example");
    private const string RecordA = "v=TLSRPTv1; rua=mailto:tlsrpt@a.example";
    private const string RecordA2 = "v=TLSRPTv1; rua=https://reports.a.example/v1";

    private static readonly TlsSessionPolicy s_sts = new(TlsRptPolicyTypes.Sts, "a.example",
        ["version: STSv1", "mode: enforce", "mx: mx1.a.example", "max_age: 86400"], ["mx1.a.example"]);

    private static readonly TlsSessionPolicy s_tlsa = new(TlsRptPolicyTypes.Tlsa, "mx.b.example", ["3 1 1 0011AABB"], []);

    private static TlsSessionFailureCount Failure(string type, long sessions, string? reason = null) =>
        new(new TlsSessionFailure(type, "192.0.2.10", "mx1.a.example", "mx1.a.example", "198.51.100.25", null, reason), sessions);

    private static List<TlsSessionDayPolicy> Rows() =>
    [
        new(s_day, "a.example", RecordA, s_sts, 40, 3,
            [Failure(TlsRptResultTypes.StartTlsNotSupported, 2), Failure(TlsRptResultTypes.ValidationFailure, 1, "self-signed_certificate")]),
        new(s_day, "a.example", RecordA, TlsSessionPolicy.NoPolicyFound, 5, 0, []),
        new(s_day, "a.example", RecordA2, s_sts, 1, 0, []),
        new(s_day, "b.example", "v=TLSRPTv1; rua=mailto:r@b.example", s_tlsa, 7, 1,
            [Failure(TlsRptResultTypes.TlsaInvalid, 1, "all-TLSA-records-unusable")]),
        new(s_day.AddDays(-1), "c.example", null, s_sts, 9, 0, []), // another day: not in this day's reports
    ];

    [Fact]
    public void Build_OneReportPerReportDomainAndRecord_WithPoliciesSummariesAndFailures()
    {
        var reports = TlsRptReportBuilder.Build(s_day, Rows(), s_reporter);

        // Ordered by report domain, then record (ordinal: "https:" before "mailto:").
        Assert.Equal([("a.example", RecordA2), ("a.example", RecordA), ("b.example", "v=TLSRPTv1; rua=mailto:r@b.example")],
            reports.Select(r => (r.ReportDomain, r.TlsRptRecord!)));
        var a = reports[1].Report;
        Assert.Equal("Example Sender", a.OrganizationName);
        Assert.Equal("mailto:tlsrpt-admin@sender.example", a.ContactInfo);
        Assert.Equal(new DateTimeOffset(2026, 12, 6, 0, 0, 0, TimeSpan.Zero), a.StartDatetime);
        Assert.Equal(new DateTimeOffset(2026, 12, 6, 23, 59, 59, TimeSpan.Zero), a.EndDatetime);
        Assert.Equal(2, a.Policies.Count);
        Assert.Equal(45, a.TotalSuccessful);
        Assert.Equal(3, a.TotalFailed);
        var sts = a.Policies[0];
        Assert.Equal((TlsRptPolicyTypes.Sts, "a.example"), (sts.PolicyType, sts.PolicyDomain));
        Assert.Equal(["mx1.a.example"], sts.MxHosts);
        Assert.Equal([(TlsRptResultTypes.StartTlsNotSupported, 2L, (string?)null), (TlsRptResultTypes.ValidationFailure, 1L, "self-signed_certificate")],
            sts.FailureDetails.Select(d => (d.ResultType, d.FailedSessionCount, d.FailureReasonCode)));
        Assert.Equal("198.51.100.25", sts.FailureDetails[0].ReceivingIp);
        // A policy the source gave no domain (no-policy-found) is reported for the report domain.
        Assert.Equal("a.example", a.Policies[1].PolicyDomain);
        // The TLSA policy keeps its base domain, which differs from the report domain.
        Assert.Equal("mx.b.example", reports[2].Report.Policies[0].PolicyDomain);
    }

    [Fact]
    public void Build_ReportIdSubjectAndFileName_InRfcForms_AndStableAcrossBuilds()
    {
        var first = TlsRptReportBuilder.Build(s_day, Rows(), s_reporter);
        var again = TlsRptReportBuilder.Build(s_day, Rows().AsEnumerable().Reverse(), s_reporter);

        Assert.Equal(first.Select(r => r.Report.ReportId), again.Select(r => r.Report.ReportId));
        Assert.Equal(3, first.Select(r => r.Report.ReportId).Distinct().Count()); // two records of a.example: two ids
        var a = first[1];
        Assert.Matches(@"^20261206\.[0-9a-f]{8}\.a\.example@sender\.example$", a.Report.ReportId);
        // RFC 8460 §5.3: Report Domain / Submitter / Report-ID <msg-id>
        Assert.Equal($"Report Domain: a.example Submitter: sender.example Report-ID: <{a.Report.ReportId}>", a.Subject);
        // RFC 8460 §5.1: sender!policy-domain!begin-timestamp!end-timestamp!unique-id.json.gz
        Assert.Matches(@"^sender\.example!a\.example!1796515200!1796601599![0-9a-f]{8}\.json\.gz$", a.FileName);
    }

    [Fact]
    public void Build_NoRows_NoReports()
    {
        Assert.Empty(TlsRptReportBuilder.Build(s_day, [], s_reporter));
        Assert.Empty(TlsRptReportBuilder.Build(s_day.AddDays(1), Rows(), s_reporter));
    }

    [Fact]
    public void Json_HasEveryFieldRfc8460Requires()
    {
        var report = TlsRptReportBuilder.Build(s_day, Rows(), s_reporter).Single(r => r.TlsRptRecord == RecordA).Report;

        using var json = JsonDocument.Parse(TlsRptReportWriter.ToJson(report));
        var root = json.RootElement;
        foreach (var field in new[] { "organization-name", "date-range", "contact-info", "report-id", "policies" })
        {
            Assert.True(root.TryGetProperty(field, out _), field);
        }
        Assert.Equal("2026-12-06T00:00:00Z", root.GetProperty("date-range").GetProperty("start-datetime").GetString());
        Assert.Equal("2026-12-06T23:59:59Z", root.GetProperty("date-range").GetProperty("end-datetime").GetString());
        var policy = root.GetProperty("policies")[0];
        Assert.Equal("sts", policy.GetProperty("policy").GetProperty("policy-type").GetString());
        Assert.Equal(4, policy.GetProperty("policy").GetProperty("policy-string").GetArrayLength());
        Assert.Equal("a.example", policy.GetProperty("policy").GetProperty("policy-domain").GetString());
        Assert.Equal(40, policy.GetProperty("summary").GetProperty("total-successful-session-count").GetInt64());
        Assert.Equal(3, policy.GetProperty("summary").GetProperty("total-failure-session-count").GetInt64());
        var detail = policy.GetProperty("failure-details")[1];
        Assert.Equal("validation-failure", detail.GetProperty("result-type").GetString());
        Assert.Equal(1, detail.GetProperty("failed-session-count").GetInt64());
        Assert.Equal("self-signed_certificate", detail.GetProperty("failure-reason-code").GetString());
        Assert.False(detail.TryGetProperty("additional-information", out _)); // unknown: left out, never null or ""
    }

    [Fact]
    public void Json_ReadsBackThroughTheStrictReader_Unchanged()
    {
        foreach (var outgoing in TlsRptReportBuilder.Build(s_day, Rows(), s_reporter))
        {
            var json = TlsRptReportWriter.ToJson(outgoing.Report);

            var parsed = TlsRptReportParser.Parse(json);

            Assert.Null(parsed.Error);
            var back = parsed.Report!;
            Assert.Empty(back.Warnings);
            Assert.Equal(json, TlsRptReportWriter.ToJson(back));
            Assert.Equal((outgoing.Report.ReportId, outgoing.Report.StartDatetime, outgoing.Report.EndDatetime),
                (back.ReportId, back.StartDatetime, back.EndDatetime));
            Assert.Equal(outgoing.Report.Policies.Select(Flatten), back.Policies.Select(Flatten));
        }

        static string Flatten(TlsRptPolicyResult p) =>
            $"{p.PolicyType}|{string.Join(",", p.PolicyString)}|{p.PolicyDomain}|{string.Join(",", p.MxHosts)}|{p.TotalSuccessfulSessionCount}|{p.TotalFailureSessionCount}|" +
            string.Join(";", p.FailureDetails);
    }

    [Fact]
    public void Gzip_IsTheJsonCompressed()
    {
        var report = TlsRptReportBuilder.Build(s_day, Rows(), s_reporter)[0].Report;

        using var gzip = new GZipStream(new MemoryStream(TlsRptReportWriter.ToGzip(report)), CompressionMode.Decompress);
        using var plain = new MemoryStream();
        gzip.CopyTo(plain);

        Assert.Equal(TlsRptReportWriter.ToJson(report), plain.ToArray());
    }
}
