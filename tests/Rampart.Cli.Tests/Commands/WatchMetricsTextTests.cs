using Microsoft.Extensions.Time.Testing;
using Rampart.Cli.Commands;
using Rampart.Core.Check;

namespace Rampart.Cli.Tests.Commands;

/// <summary>The watcher's /metrics text: gauges per domain and severity, the status per domain, rounds, escaping.</summary>
public sealed class WatchMetricsTextTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 5, 8, 0, 0, TimeSpan.Zero);

    private static CheckFinding F(string id, CheckSeverity severity = CheckSeverity.Warning, string subject = "example.org", string message = "m") =>
        new(id, severity, subject, message, "fix", "RFC 0000");

    [Fact]
    public void Metrics_GaugesPerDomainAndSeverity_StatusAndRounds()
    {
        var time = new FakeTimeProvider(T0);
        var metrics = new WatchMetrics();
        var results = new[]
        {
            WatchDiff.Compare([], new DomainCheckReport("a.example", [F("x.a", CheckSeverity.Failure), F("x.b"), F("x.c"), F("x.ok", CheckSeverity.Ok)]), time),
            WatchDiff.Compare([], new DomainCheckReport("we\"ird", [F("x.d", CheckSeverity.Info)]), time),
        };

        metrics.RecordRound(results, T0);
        metrics.RecordRound(results, T0 + TimeSpan.FromMinutes(1));
        var text = WatchMetricsText.Render(metrics.Snapshot());

        Assert.Contains("rampart_check_findings{domain=\"a.example\",severity=\"failure\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("rampart_check_findings{domain=\"a.example\",severity=\"warning\"} 2\n", text, StringComparison.Ordinal);
        Assert.Contains("rampart_check_findings{domain=\"a.example\",severity=\"info\"} 0\n", text, StringComparison.Ordinal);
        Assert.Contains("rampart_check_status{domain=\"a.example\"} 2\n", text, StringComparison.Ordinal);
        Assert.Contains("rampart_check_status{domain=\"we\\\"ird\"} 0\n", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE rampart_check_rounds_total counter\nrampart_check_rounds_total 2\n", text, StringComparison.Ordinal);
        Assert.Contains($"rampart_check_last_round_timestamp_seconds {(T0 + TimeSpan.FromMinutes(1)).ToUnixTimeSeconds()}\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Metrics_BeforeFirstRound_ZeroRounds()
    {
        var text = WatchMetricsText.Render(new WatchMetrics().Snapshot());

        Assert.Contains("rampart_check_rounds_total 0\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain("rampart_check_status{", text, StringComparison.Ordinal);
    }
}
