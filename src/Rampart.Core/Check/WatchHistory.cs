namespace Rampart.Core.Check;

/// <summary>
/// Where the monitor remembers, per domain, the findings of its last round (so a restart keeps first-seen times).
/// </summary>
public interface IWatchHistory
{
    /// <summary>The findings remembered for <paramref name="domain"/>; empty when it was never checked.</summary>
    Task<IReadOnlyList<RememberedFinding>> LoadAsync(string domain, CancellationToken cancellationToken);

    /// <summary>Replaces what is remembered for <paramref name="domain"/> with <paramref name="current"/>, all or nothing.</summary>
    Task SaveAsync(string domain, IReadOnlyList<RememberedFinding> current, CancellationToken cancellationToken);
}

/// <summary>
/// One round of the monitor: checks every domain (through <c>check</c>), compares each report with the history and
/// saves the new state, one domain at a time. Rounds are run by the caller one after another, never overlapping.
/// </summary>
public sealed class WatchRound
{
    private readonly Func<IReadOnlyList<string>, CancellationToken, Task<IReadOnlyList<DomainCheckReport>>> _check;
    private readonly IWatchHistory _history;
    private readonly TimeProvider _time;

    /// <param name="check">Checks the domains and returns one report each, in input order (e.g. <see cref="DomainChecker.CheckAsync(IReadOnlyList{string}, CancellationToken)"/>).</param>
    public WatchRound(Func<IReadOnlyList<string>, CancellationToken, Task<IReadOnlyList<DomainCheckReport>>> check, IWatchHistory history, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(check);
        ArgumentNullException.ThrowIfNull(history);
        ArgumentNullException.ThrowIfNull(time);
        _check = check;
        _history = history;
        _time = time;
    }

    /// <summary>Runs one round over <paramref name="domains"/>; results come back in input order.</summary>
    public async Task<IReadOnlyList<DomainWatchResult>> RunAsync(IReadOnlyList<string> domains, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(domains);
        var reports = await _check(domains, cancellationToken).ConfigureAwait(false);
        var results = new List<DomainWatchResult>(reports.Count);
        foreach (var report in reports)
        {
            var previous = await _history.LoadAsync(report.Domain, cancellationToken).ConfigureAwait(false);
            var result = WatchDiff.Compare(previous, report, _time);
            await _history.SaveAsync(report.Domain, result.Current, cancellationToken).ConfigureAwait(false);
            results.Add(result);
        }
        return results;
    }
}
