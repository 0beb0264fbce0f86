namespace Rampart.Core.Check;

/// <summary>What identifies a finding from one round to the next: its id and its subject (domain, MX host or address).</summary>
public readonly record struct WatchFindingKey(string Id, string Subject)
{
    public static WatchFindingKey Of(CheckFinding finding)
    {
        ArgumentNullException.ThrowIfNull(finding);
        return new WatchFindingKey(finding.Id, finding.Subject);
    }

    public override string ToString() => $"{Id} [{Subject}]";
}

/// <summary>A finding the monitor remembers for a domain: its latest text and severity, and when it was first seen.</summary>
public sealed record RememberedFinding(CheckFinding Finding, DateTimeOffset FirstSeen)
{
    public WatchFindingKey Key => WatchFindingKey.Of(Finding);
}

/// <summary>
/// One domain's round of <c>rampart check --watch</c> compared with the one before: the findings that appeared, those
/// that persist (with their first-seen time, severity and text from this round) and those that cleared (as last seen).
/// <see cref="Current"/> is what to remember for the next round: the appeared and persisting findings.
/// </summary>
public sealed record DomainWatchResult(
    DomainCheckReport Report,
    IReadOnlyList<RememberedFinding> Appeared,
    IReadOnlyList<RememberedFinding> Persists,
    IReadOnlyList<RememberedFinding> Cleared)
{
    public string Domain => Report.Domain;

    /// <summary>True when something appeared or cleared.</summary>
    public bool Changed => Appeared.Count > 0 || Cleared.Count > 0;

    /// <summary>What the next round compares against, in report order.</summary>
    public IReadOnlyList<RememberedFinding> Current { get; } = [.. Appeared.Concat(Persists).OrderBy(r => r.FirstSeen)];
}

/// <summary>
/// The pure comparison behind the monitor. Only findings of severity info, warning or failure are tracked (an ok
/// finding is a passed check, not something that appears or clears). The key is id + subject; when a report holds the
/// same key twice, the first one counts. A persisting finding keeps its first-seen time and takes this round's
/// severity and message.
/// </summary>
public static class WatchDiff
{
    /// <summary>True for the severities the monitor tracks.</summary>
    public static bool IsTracked(CheckFinding finding)
    {
        ArgumentNullException.ThrowIfNull(finding);
        return finding.Severity > CheckSeverity.Ok;
    }

    /// <summary>Compares <paramref name="report"/> with the findings remembered for its domain; new findings are first seen at <paramref name="time"/>'s now.</summary>
    public static DomainWatchResult Compare(IReadOnlyList<RememberedFinding> previous, DomainCheckReport report, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(previous);
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(time);
        var now = time.GetUtcNow();
        var before = new Dictionary<WatchFindingKey, RememberedFinding>();
        foreach (var remembered in previous)
        {
            before.TryAdd(remembered.Key, remembered);
        }
        var seen = new HashSet<WatchFindingKey>();
        var appeared = new List<RememberedFinding>();
        var persists = new List<RememberedFinding>();
        foreach (var finding in report.Findings)
        {
            var key = WatchFindingKey.Of(finding);
            if (!IsTracked(finding) || !seen.Add(key))
            {
                continue;
            }
            if (before.TryGetValue(key, out var old))
            {
                persists.Add(new RememberedFinding(finding, old.FirstSeen));
            }
            else
            {
                appeared.Add(new RememberedFinding(finding, now));
            }
        }
        var cleared = before.Values.Where(r => !seen.Contains(r.Key)).ToList();
        return new DomainWatchResult(report, appeared, persists, cleared);
    }
}
