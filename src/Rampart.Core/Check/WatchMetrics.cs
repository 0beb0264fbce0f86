using System.Globalization;
using System.Text;

namespace Rampart.Core.Check;

/// <summary>
/// The monitor's Prometheus metrics (text exposition format 0.0.4): <c>rampart_check_findings{domain,severity}</c>
/// (tracked findings of the last round), <c>rampart_check_status{domain}</c> (0 ok, 1 warning, 2 failure),
/// <c>rampart_check_rounds_total</c> and <c>rampart_check_last_round_timestamp_seconds</c>. Safe to read while a round records.
/// </summary>
public sealed class WatchMetrics
{
    private static readonly CheckSeverity[] s_severities = [CheckSeverity.Info, CheckSeverity.Warning, CheckSeverity.Failure];

    private readonly Lock _gate = new();
    private IReadOnlyList<DomainWatchResult> _last = [];
    private long _rounds;
    private DateTimeOffset? _lastRound;

    /// <summary>Records a finished round: replaces the per-domain gauges and counts the round.</summary>
    public void RecordRound(IReadOnlyList<DomainWatchResult> results, DateTimeOffset finished)
    {
        ArgumentNullException.ThrowIfNull(results);
        lock (_gate)
        {
            _last = results;
            _rounds++;
            _lastRound = finished;
        }
    }

    /// <summary>The exposition text.</summary>
    public string Render()
    {
        IReadOnlyList<DomainWatchResult> last;
        long rounds;
        DateTimeOffset? lastRound;
        lock (_gate)
        {
            (last, rounds, lastRound) = (_last, _rounds, _lastRound);
        }
        var s = new StringBuilder();
        s.Append("# HELP rampart_check_findings Findings of the last round by domain and severity (info, warning, failure).\n");
        s.Append("# TYPE rampart_check_findings gauge\n");
        foreach (var result in last)
        {
            foreach (var severity in s_severities)
            {
                var count = result.Current.Count(r => r.Finding.Severity == severity);
                s.Append(CultureInfo.InvariantCulture, $"rampart_check_findings{{domain=\"{Escape(result.Domain)}\",severity=\"{CheckFinding.SeverityName(severity)}\"}} {count}\n");
            }
        }
        s.Append("# HELP rampart_check_status Verdict of the last round per domain: 0 ok, 1 warning, 2 failure.\n");
        s.Append("# TYPE rampart_check_status gauge\n");
        foreach (var result in last)
        {
            s.Append(CultureInfo.InvariantCulture, $"rampart_check_status{{domain=\"{Escape(result.Domain)}\"}} {(int)result.Report.Status}\n");
        }
        s.Append("# HELP rampart_check_rounds_total Check rounds completed.\n");
        s.Append("# TYPE rampart_check_rounds_total counter\n");
        s.Append(CultureInfo.InvariantCulture, $"rampart_check_rounds_total {rounds}\n");
        if (lastRound is { } at)
        {
            s.Append("# HELP rampart_check_last_round_timestamp_seconds When the last round finished (Unix time).\n");
            s.Append("# TYPE rampart_check_last_round_timestamp_seconds gauge\n");
            s.Append(CultureInfo.InvariantCulture, $"rampart_check_last_round_timestamp_seconds {at.ToUnixTimeSeconds()}\n");
        }
        return s.ToString();
    }

    private static string Escape(string value) => value.Replace("\\", "\\\\", StringComparison.Ordinal)
        .Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);
}
