using Rampart.Core.TlsRpt;

namespace Rampart.Core.Tests.TlsRpt;

/// <summary>Summaries group per domain and reporter; advice follows the failure-rate thresholds and the result types seen.</summary>
public sealed class TlsRptSummaryTests
{
    private static readonly DateTimeOffset s_day = new(2025, 3, 1, 0, 0, 0, TimeSpan.Zero);

    private static TlsRptDomainSummary Domain(long ok, long failed, params (string Type, long Sessions)[] types) =>
        Assert.Single(TlsRptSummaryBuilder.Build(new TlsRptAggregates(
            [new TlsRptReporterRow("d.example", "R", 1, ok, failed, s_day, s_day.AddDays(1))],
            [.. types.Select(t => new TlsRptFailureRow("d.example", "R", t.Type, t.Sessions))], [], [])));

    [Fact]
    public void Build_TwoReportersTwoDomains_SumsPerDomainAndReporter()
    {
        var aggregates = new TlsRptAggregates(
            [
                new TlsRptReporterRow("b.example", "Google", 2, 100, 4, s_day, s_day.AddDays(2)),
                new TlsRptReporterRow("b.example", "Microsoft", 1, 50, 0, s_day.AddDays(-3), s_day.AddDays(1)),
                new TlsRptReporterRow("a.example", "Google", 1, 7, 1, s_day, s_day.AddDays(1)),
            ],
            [
                new TlsRptFailureRow("b.example", "Google", "certificate-expired", 3),
                new TlsRptFailureRow("b.example", "Google", "starttls-not-supported", 5),
                new TlsRptFailureRow("a.example", "Google", "tlsa-invalid", 1),
            ],
            [new TlsRptFailureRow("b.example", "Google", "mx1.b.example", 8)],
            [new TlsRptFailureRow("b.example", "Google", "192.0.2.1", 6), new TlsRptFailureRow("b.example", "Microsoft", "192.0.2.1", 2)]);

        var domains = TlsRptSummaryBuilder.Build(aggregates);

        Assert.Equal(["a.example", "b.example"], domains.Select(d => d.PolicyDomain));
        var b = domains[1];
        Assert.Equal(3, b.Reports);
        Assert.Equal(150, b.Successful);
        Assert.Equal(4, b.Failed); // summary counts, not the failure-details sum (8)
        Assert.Equal(["starttls-not-supported", "certificate-expired"], b.FailureTypes.Keys); // largest first
        Assert.Equal(8, b.FailuresByMx["mx1.b.example"]);
        Assert.Equal(8, b.FailuresBySendingIp["192.0.2.1"]);
        Assert.Equal(s_day.AddDays(-3), b.FirstSeen);
        Assert.Equal(s_day.AddDays(2), b.LastSeen);
        Assert.Equal(["Google", "Microsoft"], b.Reporters.Select(r => r.Organization));
        Assert.Equal(8, b.Reporters[0].FailureTypes.Values.Sum());
        Assert.Empty(b.Reporters[1].FailureTypes);
        Assert.Equal(4.0 / 154, b.FailureRate, 6);
    }

    [Fact]
    public void Top_PerDomainOverReporters_TopNByBytesOnTies_TheRestCounted_AndTheSummaryCarriesIt()
    {
        TlsRptFailureRow[] rows =
        [
            new("a.example", "Google", "192.0.2.1", 3), new("a.example", "Microsoft", "192.0.2.1", 4), // 7 over two reporters
            new("a.example", "Google", "192.0.2.9", 5), new("a.example", "Google", "192.0.2.10", 5),  // a tie: "…10" < "…9"
            new("a.example", "Google", "192.0.2.2", 1),
            new("b.example", "Google", "192.0.2.1", 2),
        ];

        var (listed, notListed) = TlsRptSummaryBuilder.Top(rows, 2);

        Assert.Equal(["a.example 192.0.2.1 7", "a.example 192.0.2.10 5", "b.example 192.0.2.1 2"], listed.Select(r => $"{r.PolicyDomain} {r.Key} {r.Sessions}"));
        Assert.All(listed, r => Assert.Empty(r.Organization));
        Assert.Equal([new TlsRptNotListedRow("a.example", 2, 6)], notListed);
        var summary = TlsRptSummaryBuilder.Build(new TlsRptAggregates(
            [new TlsRptReporterRow("a.example", "Google", 1, 10, 18, s_day, s_day), new TlsRptReporterRow("b.example", "Google", 1, 1, 2, s_day, s_day)], [], [], listed)
        {
            SendingIpsNotListed = notListed,
        });
        Assert.Equal(new TlsRptNotListed(2, 6), summary[0].SendingIpsNotListed);
        Assert.Equal(default, summary[0].MxHostsNotListed);
        Assert.Equal(default, summary[1].SendingIpsNotListed);
        Assert.Equal(18, summary[0].FailuresBySendingIp.Values.Sum() + summary[0].SendingIpsNotListed.Sessions);
    }

    [Fact]
    public void Advise_NoFailures_NoAdvice()
    {
        Assert.Empty(TlsRptAdvisor.Advise(Domain(1000, 0)));
    }

    [Theory]
    [InlineData(999, 1, "info")]     // 0.1 %
    [InlineData(99, 1, "warning")]   // 1 %
    [InlineData(96, 4, "warning")]   // 4 %
    [InlineData(95, 5, "failure")]   // 5 %
    [InlineData(0, 3, "failure")]
    public void Advise_FailureRate_SeverityByThreshold(long ok, long failed, string severity)
    {
        var rate = TlsRptAdvisor.Advise(Domain(ok, failed)).Single(a => a.Id == "failure-rate");

        Assert.Equal(severity, rate.Severity);
        Assert.Contains($"{failed} of {ok + failed} reported sessions failed", rate.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Advise_ThresholdsAreSettings()
    {
        var advice = TlsRptAdvisor.Advise(Domain(99, 1), new TlsRptAdviceSettings { WarningRate = 0.5, FailureRate = 0.9 });

        Assert.Equal("info", advice.Single(a => a.Id == "failure-rate").Severity);
    }

    [Fact]
    public void Advise_EachResultType_ItsOwnFix()
    {
        var types = TlsRptResultTypes.All.Append("sender-specific").Select(t => (t, 1L)).ToArray();

        var advice = TlsRptAdvisor.Advise(Domain(0, types.Length, types));

        foreach (var type in TlsRptResultTypes.All.Append("sender-specific"))
        {
            var item = advice.Single(a => a.Id == $"result-type:{type}");
            Assert.False(string.IsNullOrWhiteSpace(item.Fix));
        }
        Assert.Equal(TlsRptResultTypes.All.Count + 1, advice.Select(a => a.Fix).Where(f => !f.StartsWith("Start with", StringComparison.Ordinal)).Distinct().Count());
        Assert.Contains("mta-sts", advice.Single(a => a.Id == "result-type:sts-policy-fetch-error").Fix, StringComparison.Ordinal);
        Assert.Contains("TLSA", advice.Single(a => a.Id == "result-type:tlsa-invalid").Fix, StringComparison.Ordinal);
    }
}
