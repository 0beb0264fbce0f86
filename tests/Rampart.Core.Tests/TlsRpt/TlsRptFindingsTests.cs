using Rampart.Core.TlsRpt;

namespace Rampart.Core.Tests.TlsRpt;

/// <summary>The dashboard's findings on one domain's reports: per-reporter severity, silent reporters, new failure types, mode testing.</summary>
public sealed class TlsRptFindingsTests
{
    private static readonly DateTimeOffset Day = new(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);

    private static TlsRptReporterSummary Reporter(string org, int reports, long ok, long failed, int lastDay, string? type = null) =>
        new(org, reports, ok, failed, type is null ? new Dictionary<string, long>() : new Dictionary<string, long> { [type] = failed }, Day, Day.AddDays(lastDay + 1).AddSeconds(-1));

    private static TlsRptDomainSummary Domain(params TlsRptReporterSummary[] reporters) =>
        new("a.example", reporters.Sum(r => r.Reports), reporters.Sum(r => r.Successful), reporters.Sum(r => r.Failed), new Dictionary<string, long>(),
            new Dictionary<string, long>(), new Dictionary<string, long>(), reporters, Day, reporters.Max(r => r.LastSeen));

    [Fact]
    public void Find_ReporterAboveThreshold_WarningAlthoughDomainRateIsLow()
    {
        var domain = Domain(Reporter("Mail.ru", 30, 700, 280, 29, "starttls-not-supported"), Reporter("Google", 30, 100_000, 0, 29));

        var found = TlsRptFindings.Find(domain, [], null);

        var finding = Assert.Single(found);
        Assert.Equal(("reporter-failure-rate:Mail.ru", "failure"), (finding.Id, finding.Severity));
        Assert.Contains("28.6 %", finding.Message, StringComparison.Ordinal);
        Assert.Contains("starttls-not-supported", finding.Message, StringComparison.Ordinal);
        Assert.True(domain.FailureRate < 0.01);
    }

    [Fact]
    public void Find_ReporterQuietForDays_Silent_ButNotANewOne()
    {
        var found = TlsRptFindings.Find(Domain(Reporter("Google", 20, 100, 0, 19), Reporter("Yahoo", 2, 10, 0, 10), Reporter("Microsoft", 30, 100, 0, 29)), [], null);

        var silent = Assert.Single(found);
        Assert.Equal(("reporter-silent:Google", "warning"), (silent.Id, silent.Severity));
        Assert.Contains("none in the 10 days since", silent.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Find_TypeFirstSeenLate_New_TypeSeenFromTheStart_NotNew()
    {
        var day0 = DateOnly.FromDateTime(Day.UtcDateTime);
        TlsRptDayFailureRow[] days =
        [
            new("a.example", day0, "starttls-not-supported", 2), new("a.example", day0.AddDays(20), "certificate-expired", 40),
            new("a.example", day0.AddDays(29), "certificate-expired", 45), new("b.example", day0.AddDays(29), "tlsa-invalid", 1),
        ];

        var found = TlsRptFindings.Find(Domain(Reporter("Google", 30, 100_000, 0, 29)), days, null);

        var type = Assert.Single(found);
        Assert.Equal("new-failure-type:certificate-expired", type.Id);
        Assert.Contains("first reported on 2026-11-21 (85 session(s) since)", type.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Find_NewestReportSawModeTesting_Info()
    {
        var policy = new TlsRptPolicyResult("sts", ["version: STSv1", "mode:  testing", "mx: mx.a.example"], "a.example", [], 1, 0, []);
        var newest = new TlsRptReport("Google", Day, Day.AddDays(1), null, "r", [policy]);

        var found = TlsRptFindings.Find(Domain(Reporter("Google", 1, 1, 0, 0)), [], newest);

        Assert.Equal("sts-testing", Assert.Single(found).Id);
        Assert.Empty(TlsRptFindings.Find(Domain(Reporter("Google", 1, 1, 0, 0)), [], newest with { Policies = [policy with { PolicyString = ["mode: enforce"] }] }));
    }
}
