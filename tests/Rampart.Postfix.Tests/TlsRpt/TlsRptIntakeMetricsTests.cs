using Rampart.Core.TlsRpt;
using Rampart.Hosting;
using Rampart.Postfix.TlsRpt;

namespace Rampart.Postfix.Tests.TlsRpt;

/// <summary>The collector's counts as Prometheus text: sessions by source and result, datagrams by outcome and problem kind.</summary>
public sealed class TlsRptIntakeMetricsTests
{
    private static readonly DateTimeOffset s_at = new(2026, 12, 7, 12, 0, 0, TimeSpan.Zero);

    private static TlsSessionResult Result(bool succeeded, params string[] types) =>
        new("example.net", null, TlsSessionPolicy.NoPolicyFound, succeeded, types.Select(t => new TlsSessionFailure(t)).ToList(), s_at);

    [Fact]
    public void Render_SessionsDatagramsAndProblems_OneSamplePerLabelSet()
    {
        var metrics = new TlsRptIntakeMetrics();
        metrics.RecordStored(TlsSessionSources.Datagram, [
            Result(true), Result(true),
            Result(false, TlsRptResultTypes.StartTlsNotSupported),
            Result(false, TlsRptResultTypes.CertificateExpired, TlsRptResultTypes.ValidationFailure),
            Result(false),
        ]);
        metrics.RecordDatagram(LibTlsRptDatagram.Read("{\"d\": \"example.net\",\"policies\":[{\"policy-type\":9,\"t\":2,\"f\":0}]}"u8, s_at));
        metrics.RecordDatagram(LibTlsRptDatagram.Read("nonsense"u8, s_at));
        metrics.RecordDropped(3);
        metrics.RecordPause();
        var text = new PrometheusText();

        metrics.Render(text);

        var lines = text.ToString().Split('\n');
        Assert.Contains("# TYPE rampart_tlsrpt_sessions_total counter", lines);
        Assert.Contains("rampart_tlsrpt_sessions_total{source=\"datagram\",result=\"success\"} 2", lines);
        Assert.Contains("rampart_tlsrpt_sessions_total{source=\"datagram\",result=\"starttls-not-supported\"} 1", lines);
        Assert.Contains("rampart_tlsrpt_sessions_total{source=\"datagram\",result=\"certificate-expired\"} 1", lines); // the first failure names it
        Assert.Contains("rampart_tlsrpt_sessions_total{source=\"datagram\",result=\"failure\"} 1", lines);
        Assert.DoesNotContain(lines, l => l.Contains("validation-failure", StringComparison.Ordinal));
        Assert.Contains("rampart_tlsrpt_datagrams_total{result=\"accepted\"} 1", lines);
        Assert.Contains("rampart_tlsrpt_datagrams_total{result=\"rejected\"} 1", lines);
        Assert.Contains("rampart_tlsrpt_datagrams_total{result=\"dropped\"} 3", lines);
        Assert.Contains("rampart_tlsrpt_receive_pauses_total 1", lines);
        Assert.Contains("rampart_tlsrpt_datagram_problems_total{kind=\"invalid-json\"} 1", lines);
        Assert.Contains("rampart_tlsrpt_datagram_problems_total{kind=\"failure-count-mismatch\"} 1", lines);
        Assert.Equal(LibTlsRptDatagram.Kinds.Count, lines.Count(l => l.StartsWith("rampart_tlsrpt_datagram_problems_total{", StringComparison.Ordinal)));
    }
}
