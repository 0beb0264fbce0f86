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

/// <summary>One change in a monitored domain's findings: one appeared (at its first-seen time) or cleared (when a round no longer saw it).</summary>
/// <param name="Change"><see cref="Appeared"/> or <see cref="Cleared"/>.</param>
public sealed record WatchTimelineEvent(DateTimeOffset At, string Change, string Id, string Subject, CheckSeverity Severity, string Message)
{
    public const string Appeared = "appeared";
    public const string Cleared = "cleared";
}

/// <summary>
/// A monitored domain as the history remembers it: when it was last checked (null for a history written before that
/// was kept), its current findings with first-seen times, and its timeline of changes, newest first.
/// </summary>
public sealed record WatchedDomain(string Domain, DateTimeOffset? LastChecked, IReadOnlyList<RememberedFinding> Findings, IReadOnlyList<WatchTimelineEvent> Timeline)
{
    /// <summary>The verdict of the current findings, as <c>check</c> gives it.</summary>
    public CheckStatus Status => new DomainCheckReport(Domain, Findings.Select(f => f.Finding).ToList()).Status;
}

/// <summary>Reads every monitored domain at once (the dashboard).</summary>
public interface IWatchHistoryView
{
    /// <summary>Every domain the history knows, by name.</summary>
    Task<IReadOnlyList<WatchedDomain>> ReadAllAsync(CancellationToken cancellationToken);
}

/// <summary>
/// What one round of the monitor came to: every domain compared with the history (<see cref="Results"/>), or, when the
/// local resolver was down (<see cref="ResolverDown"/> says how), nothing compared and nothing saved: the reports of
/// such a round blame the machine's own resolver, not the domains, and the next round compares with the last good one.
/// </summary>
public sealed record WatchRoundOutcome(IReadOnlyList<DomainCheckReport> Reports, IReadOnlyList<DomainWatchResult> Results, string? ResolverDown)
{
    /// <summary>True when the round judged the domains (the resolver answered).</summary>
    public bool Judged => ResolverDown is null;
}

/// <summary>
/// One round of the monitor: checks every domain (through <c>check</c>), asks whether the local resolver itself was down
/// (then the round stops there), adds the findings only a history can date (<see cref="TestingTooLongCheck"/>), compares
/// each report with the history and saves the new state, one domain at a time. Rounds are run by the caller one after
/// another, never overlapping.
/// </summary>
public sealed class WatchRound
{
    private readonly Func<IReadOnlyList<string>, CancellationToken, Task<IReadOnlyList<DomainCheckReport>>> _check;
    private readonly Func<IReadOnlyList<DomainCheckReport>, CancellationToken, Task<string?>>? _resolverDown;
    private readonly IWatchHistory _history;
    private readonly TimeProvider _time;
    private readonly TimeSpan _testingLimit;

    /// <param name="check">Checks the domains and returns one report each, in input order (e.g. <see cref="DomainChecker.CheckAsync(IReadOnlyList{string}, CancellationToken)"/>).</param>
    /// <param name="history">Where the findings of the last round are remembered.</param>
    /// <param name="time">The clock of first-seen times.</param>
    /// <param name="testingLimit">How long mode testing may be seen before <c>mta-sts.policy.testing-too-long</c>; default <see cref="CheckSettings.DefaultTestingLimit"/>.</param>
    /// <param name="resolverDown">
    /// Given a round's reports, says why the local resolver itself is down (a probe of a name it must answer failed too), or
    /// null when it answers; null (the default) never asks.
    /// </param>
    public WatchRound(Func<IReadOnlyList<string>, CancellationToken, Task<IReadOnlyList<DomainCheckReport>>> check, IWatchHistory history, TimeProvider time,
        TimeSpan? testingLimit = null, Func<IReadOnlyList<DomainCheckReport>, CancellationToken, Task<string?>>? resolverDown = null)
    {
        ArgumentNullException.ThrowIfNull(check);
        ArgumentNullException.ThrowIfNull(history);
        ArgumentNullException.ThrowIfNull(time);
        if (testingLimit <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(testingLimit), testingLimit, "must be positive");
        }
        _check = check;
        _resolverDown = resolverDown;
        _history = history;
        _time = time;
        _testingLimit = testingLimit ?? CheckSettings.DefaultTestingLimit;
    }

    /// <summary>Runs one round over <paramref name="domains"/>; reports and results come back in input order.</summary>
    public async Task<WatchRoundOutcome> RunAsync(IReadOnlyList<string> domains, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(domains);
        var reports = await _check(domains, cancellationToken).ConfigureAwait(false);
        if (_resolverDown is not null && await _resolverDown(reports, cancellationToken).ConfigureAwait(false) is { } down)
        {
            return new WatchRoundOutcome(reports, [], down);
        }
        var results = new List<DomainWatchResult>(reports.Count);
        foreach (var report in reports)
        {
            var previous = await _history.LoadAsync(report.Domain, cancellationToken).ConfigureAwait(false);
            var dated = TestingTooLongCheck.Apply(previous, report, _time.GetUtcNow(), _testingLimit);
            var result = WatchDiff.Compare(previous, dated, _time);
            await _history.SaveAsync(report.Domain, result.Current, cancellationToken).ConfigureAwait(false);
            results.Add(result);
        }
        return new WatchRoundOutcome(reports, results, null);
    }
}
