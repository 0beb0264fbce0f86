namespace Rampart.Core.Check;

/// <summary>
/// What the monitor counts for its metrics: the last round's results and how many rounds have run. Safe to read while
/// a round records. The watcher's /metrics renders it (the edge owns the Prometheus text).
/// </summary>
public sealed class WatchMetrics
{
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

    /// <summary>What the last round left, read together (a round may be recording meanwhile).</summary>
    public WatchMetricsSnapshot Snapshot()
    {
        lock (_gate)
        {
            return new(_last, _rounds, _lastRound);
        }
    }
}

/// <summary>The monitor's metrics at one moment: the last round's results per domain, rounds completed, when the last ended.</summary>
public sealed record WatchMetricsSnapshot(IReadOnlyList<DomainWatchResult> LastRound, long Rounds, DateTimeOffset? LastRoundFinished);
