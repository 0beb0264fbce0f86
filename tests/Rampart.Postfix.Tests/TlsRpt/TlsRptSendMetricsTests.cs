using Rampart.Core.TlsRpt;
using Rampart.Hosting;
using Rampart.Postfix.TlsRpt;

namespace Rampart.Postfix.Tests.TlsRpt;

/// <summary>The report sender's counts as Prometheus text: reports built, tries per rua scheme and result, outcomes per state.</summary>
public sealed class TlsRptSendMetricsTests
{
    private static readonly DateOnly s_day = new(2026, 12, 6);

    private static TlsRptSendOutcome Outcome(TlsRptOutboxState state, params TlsRptAttempt[] attempts) =>
        new(TlsRptReportBuilder.Build(s_day, [new TlsSessionDayPolicy(s_day, "a.example", null, TlsSessionPolicy.NoPolicyFound, 1, 0, [])],
            new TlsRptReporter("o", "mailto:c@s.example", "s.example"))[0], state, attempts, "detail", null);

    [Fact]
    public void Render_BuiltTriesAndOutcomes_BySchemeAndResult()
    {
        var metrics = new TlsRptSendMetrics();
        metrics.RecordBuilt(3);
        metrics.Record(Outcome(TlsRptOutboxState.Sent,
            new TlsRptAttempt(new Uri("mailto:r@a.example"), TlsRptDeliveryResult.Temporary("421")),
            new TlsRptAttempt(new Uri("https://r.a.example/"), TlsRptDeliveryResult.Accepted("201"))));
        metrics.Record(Outcome(TlsRptOutboxState.Dropped,
            new TlsRptAttempt(new Uri("mailto:r@a.example"), TlsRptDeliveryResult.Permanent("550")),
            new TlsRptAttempt(new Uri("mailto:s@a.example"), null, "suppressed until …")));
        metrics.Record(Outcome(TlsRptOutboxState.Pending));
        var text = new PrometheusText();

        metrics.Render(text);

        var lines = text.ToString().Split('\n');
        Assert.Contains("rampart_tlsrpt_reports_built_total 3", lines);
        Assert.Contains("rampart_tlsrpt_report_deliveries_total{scheme=\"https\",result=\"sent\"} 1", lines);
        Assert.Contains("rampart_tlsrpt_report_deliveries_total{scheme=\"mailto\",result=\"failed\"} 1", lines);
        Assert.Contains("rampart_tlsrpt_report_deliveries_total{scheme=\"mailto\",result=\"refused\"} 1", lines);
        Assert.Contains("rampart_tlsrpt_report_deliveries_total{scheme=\"mailto\",result=\"skipped\"} 1", lines);
        Assert.Contains("rampart_tlsrpt_report_deliveries_total{scheme=\"mailto\",result=\"sent\"} 0", lines); // every series exists from the start
        Assert.Contains("rampart_tlsrpt_report_outcomes_total{state=\"sent\"} 1", lines);
        Assert.Contains("rampart_tlsrpt_report_outcomes_total{state=\"dropped\"} 1", lines);
        Assert.Contains("rampart_tlsrpt_report_outcomes_total{state=\"pending\"} 1", lines);
        Assert.Contains("rampart_tlsrpt_report_outcomes_total{state=\"expired\"} 0", lines);
    }
}
