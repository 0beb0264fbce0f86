using Rampart.Core.Check;
using Rampart.Hosting;

namespace Rampart.Cli.Commands;

/// <summary>
/// The watcher's /metrics: <c>rampart_check_findings{domain,severity}</c> (tracked findings of the last round),
/// <c>rampart_check_status{domain}</c> (0 ok, 1 warning, 2 failure), <c>rampart_check_rounds_total</c> and
/// <c>rampart_check_last_round_timestamp_seconds</c>.
/// </summary>
internal static class WatchMetricsText
{
    private static readonly CheckSeverity[] s_severities = [CheckSeverity.Info, CheckSeverity.Warning, CheckSeverity.Failure];

    public static string Render(WatchMetricsSnapshot metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        var text = new PrometheusText();
        text.Family("rampart_check_findings", "gauge", "Findings of the last round by domain and severity (info, warning, failure).");
        foreach (var result in metrics.LastRound)
        {
            foreach (var severity in s_severities)
            {
                text.Sample("rampart_check_findings", [("domain", result.Domain), ("severity", CheckFinding.SeverityName(severity))],
                    result.Current.Count(r => r.Finding.Severity == severity));
            }
        }
        text.Family("rampart_check_status", "gauge", "Verdict of the last round per domain: 0 ok, 1 warning, 2 failure.");
        foreach (var result in metrics.LastRound)
        {
            text.Sample("rampart_check_status", [("domain", result.Domain)], (long)result.Report.Status);
        }
        text.Family("rampart_check_rounds_total", "counter", "Check rounds completed.");
        text.Sample("rampart_check_rounds_total", metrics.Rounds);
        if (metrics.LastRoundFinished is { } at)
        {
            text.Family("rampart_check_last_round_timestamp_seconds", "gauge", "When the last round finished (Unix time).");
            text.Sample("rampart_check_last_round_timestamp_seconds", at.ToUnixTimeSeconds());
        }
        return text.ToString();
    }
}
