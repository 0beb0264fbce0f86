using System.Collections.Concurrent;

namespace Rampart.Core.Policy;

/// <summary>How long the daemon reuses decisions.</summary>
public sealed record SenderPolicyCacheSettings
{
    /// <summary>A decision is reused without any lookup for this long.</summary>
    public TimeSpan FreshFor { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>A temporary failure is remembered this long, so an outage is not hammered.</summary>
    public TimeSpan TempFailFor { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Past <see cref="FreshFor"/>, a decision is still answered (while a refresh runs) up to this age when refreshes fail.</summary>
    public TimeSpan MaxStale { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Most domains remembered; beyond it the oldest decisions are dropped.</summary>
    public int MaxEntries { get; init; } = 100_000;
}

/// <summary>Counters for /metrics: how lookups were answered.</summary>
public sealed class SenderPolicyCacheCounters
{
    private long _hits, _stale, _misses, _fromPolicyCache, _refreshes;

    public long Hits => Interlocked.Read(ref _hits);
    public long Stale => Interlocked.Read(ref _stale);
    public long Misses => Interlocked.Read(ref _misses);
    public long FromPolicyCache => Interlocked.Read(ref _fromPolicyCache);
    public long Refreshes => Interlocked.Read(ref _refreshes);

    internal void Hit() => Interlocked.Increment(ref _hits);
    internal void StaleHit() => Interlocked.Increment(ref _stale);
    internal void Miss() => Interlocked.Increment(ref _misses);
    internal void PolicyCacheHit() => Interlocked.Increment(ref _fromPolicyCache);
    internal void Refresh() => Interlocked.Increment(ref _refreshes);
}

/// <summary>
/// The daemon's view of the sender decision: a lookup never waits for a refresh when something valid is known.
/// A fresh decision is answered at once; a stale one is answered at once while one background refresh per domain
/// runs; with no decision yet, a valid cached MTA-STS policy (from the persistent store) is answered at once while
/// the full lookup runs; only a domain never seen waits, and concurrent waiters share one lookup. A refresh that
/// fails (DNS outage) does not replace a good decision younger than <see cref="SenderPolicyCacheSettings.MaxStale"/>.
/// </summary>
/// <param name="counters">Shared counters (e.g. one set for every zone of a daemon); null = this cache's own.</param>
public sealed class SenderPolicyCache(
    SenderPolicyResolver resolver, SenderPolicyCacheSettings settings, TimeProvider time, SenderPolicyCacheCounters? counters = null)
{
    /// <summary>
    /// A remembered decision, kept compact (the reply, the decision's own evidence line; not the policy, nor every
    /// record, fetch and DANE result that led to it), and when a refresh may next be tried after one failed.
    /// </summary>
    private sealed record Entry(SenderPolicyDecision Decision, DateTimeOffset DecidedAt, DateTimeOffset RetryAt);

    /// <summary>What the cache keeps of a decision: enough to answer and to log why.</summary>
    internal static SenderPolicyDecision Compact(SenderPolicyDecision decision) => decision with
    {
        Evidence = decision.Evidence.Where(e => e.Step == "decision").TakeLast(1).ToList() is { Count: > 0 } why ? why : decision.Evidence.TakeLast(1).ToList(),
        Mx = [],
        Dane = null,
        MtaStsPolicy = null,
    };

    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, Lazy<Task<SenderPolicyDecision>>> _refreshing = new(StringComparer.OrdinalIgnoreCase);

    public SenderPolicyCacheCounters Counters { get; } = counters ?? new();

    public int Count => _entries.Count;

    public async ValueTask<SenderPolicyDecision> GetAsync(string destination, CancellationToken cancellationToken)
    {
        if (!DomainName.TryNormalize(destination, out var domain, out _))
        {
            return await resolver.DecideAsync(destination, cancellationToken).ConfigureAwait(false);
        }
        var now = time.GetUtcNow();
        if (_entries.TryGetValue(domain, out var entry))
        {
            var age = now - entry.DecidedAt;
            if (age < (entry.Decision.Kind == SenderPolicyKind.TempFail ? settings.TempFailFor : settings.FreshFor))
            {
                Counters.Hit();
                return entry.Decision;
            }
            if (entry.Decision.Kind != SenderPolicyKind.TempFail && age < settings.MaxStale)
            {
                Counters.StaleHit();
                if (now >= entry.RetryAt)
                {
                    _ = Refresh(domain); // not while a failed refresh backs off: an outage is not hammered
                }
                return entry.Decision;
            }
        }
        if (await resolver.DecideFromCacheAsync(domain, cancellationToken).ConfigureAwait(false) is { } fromPolicyCache)
        {
            Counters.PolicyCacheHit();
            _ = Refresh(domain);
            return fromPolicyCache;
        }
        Counters.Miss();
        return await Refresh(domain).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>One lookup per domain at a time, not tied to any caller's token (a caller giving up does not cancel it).</summary>
    private Task<SenderPolicyDecision> Refresh(string domain)
    {
        var mine = new Lazy<Task<SenderPolicyDecision>>(() => RefreshAsync(domain));
        var running = _refreshing.GetOrAdd(domain, mine);
        if (ReferenceEquals(running, mine))
        {
            _ = mine.Value.ContinueWith(_ => _refreshing.TryRemove(new(domain, mine)), CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
        return running.Value;
    }

    private async Task<SenderPolicyDecision> RefreshAsync(string domain)
    {
        await Task.Yield();
        Counters.Refresh();
        var decision = await resolver.DecideAsync(domain, CancellationToken.None).ConfigureAwait(false);
        var now = time.GetUtcNow();
        if (decision.Kind == SenderPolicyKind.TempFail && _entries.TryGetValue(domain, out var previous)
            && previous.Decision.Kind != SenderPolicyKind.TempFail && now - previous.DecidedAt < settings.MaxStale)
        {
            _entries[domain] = previous with { RetryAt = now + settings.TempFailFor };
            return previous.Decision;
        }
        if (_entries.Count >= settings.MaxEntries && !_entries.ContainsKey(domain))
        {
            Trim(now);
        }
        _entries[domain] = new Entry(Compact(decision), now, now);
        return decision;
    }

    private void Trim(DateTimeOffset now)
    {
        foreach (var (key, value) in _entries)
        {
            if (now - value.DecidedAt >= settings.MaxStale)
            {
                _entries.TryRemove(key, out _);
            }
        }
        if (_entries.Count >= settings.MaxEntries)
        {
            foreach (var oldest in _entries.OrderBy(e => e.Value.DecidedAt).Take(Math.Max(1, _entries.Count / 10)).ToList())
            {
                _entries.TryRemove(oldest.Key, out _);
            }
        }
    }
}
