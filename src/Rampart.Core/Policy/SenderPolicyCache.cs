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

    /// <summary>
    /// Most refreshes at once for lookups that were already answered (stale, or from the policy cache). During a DNS
    /// outage every stale domain wants one and each waits for the resolver's timeout: unbounded, they would crowd
    /// the CPU the answers need. A lookup that has to wait for its decision is never queued behind them.
    /// </summary>
    public int MaxBackgroundRefreshes { get; init; } = 8;

    /// <summary>
    /// Most background refreshes waiting for one of <see cref="MaxBackgroundRefreshes"/>. A burst of lookups of many
    /// domains answered from the policy cache (a restart with 100,000 stored policies) would otherwise queue one waiting
    /// refresh per domain, about 850 bytes each until it runs (docs/benchmarks.md section 19). Past the bound an answer
    /// starts no refresh (counted as skipped): the domain's next lookup, or the proactive sweep, refreshes it.
    /// </summary>
    public int MaxWaitingRefreshes { get; init; } = 4096;
}

/// <summary>Counters for /metrics: how lookups were answered.</summary>
public sealed class SenderPolicyCacheCounters
{
    private long _hits, _stale, _misses, _fromPolicyCache, _refreshes, _refreshesSkipped;

    public long Hits => Interlocked.Read(ref _hits);
    public long Stale => Interlocked.Read(ref _stale);
    public long Misses => Interlocked.Read(ref _misses);
    public long FromPolicyCache => Interlocked.Read(ref _fromPolicyCache);
    public long Refreshes => Interlocked.Read(ref _refreshes);

    /// <summary>Background refreshes not started because <see cref="SenderPolicyCacheSettings.MaxWaitingRefreshes"/> were waiting.</summary>
    public long RefreshesSkipped => Interlocked.Read(ref _refreshesSkipped);

    internal void Hit() => Interlocked.Increment(ref _hits);
    internal void StaleHit() => Interlocked.Increment(ref _stale);
    internal void Miss() => Interlocked.Increment(ref _misses);
    internal void PolicyCacheHit() => Interlocked.Increment(ref _fromPolicyCache);
    internal void Refresh() => Interlocked.Increment(ref _refreshes);
    internal void RefreshSkipped() => Interlocked.Increment(ref _refreshesSkipped);
}

/// <summary>
/// The daemon's view of the sender decision: a lookup never waits for a refresh when something valid is known.
/// A fresh decision is answered at once; a stale one is answered at once while one background refresh per domain
/// runs; with no decision yet, a valid cached MTA-STS policy (from the persistent store) is answered at once while
/// the full lookup runs; only a domain never seen waits, and concurrent waiters share one lookup. A refresh that
/// fails (DNS outage) does not replace a good decision younger than <see cref="SenderPolicyCacheSettings.MaxStale"/>.
/// </summary>
/// <param name="counters">Shared counters (e.g. one set for every zone of a daemon); null = this cache's own.</param>
/// <param name="decided">Told of every decision the cache makes (a first lookup, a refresh in the background too, or an
/// answer from the persistent policy cache), once per decision rather than once per answer, before the answer is
/// returned: where the daemon logs what it decided, the reply it sends and why.</param>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001",
    Justification = "The SemaphoreSlim never creates its wait handle (only WaitAsync/Release), so it holds nothing to dispose.")]
public sealed class SenderPolicyCache(
    SenderPolicyResolver resolver, SenderPolicyCacheSettings settings, TimeProvider time, SenderPolicyCacheCounters? counters = null,
    Action<SenderPolicyDecided>? decided = null)
{
    /// <summary>
    /// A remembered decision, kept compact (the reply, the decision's own evidence line; not the policy, nor every
    /// record, fetch and DANE result that led to it), and when a refresh may next be tried after one failed. A struct
    /// held in the dictionary's node, with its times as UTC <see cref="DateTime"/>s (8 bytes each, not 16): no object of
    /// its own per domain, about 40 bytes less per entry.
    /// </summary>
    private readonly record struct Entry(SenderPolicyDecision Decision, DateTime DecidedAt, DateTime RetryAt);

    /// <summary>
    /// What the cache keeps of a decision: enough to answer and to log why. The requirement and the evidence line are
    /// taken from <paramref name="shared"/> when an equal one is already kept (domains hosted at one provider share
    /// their MX hosts, hence their requirement and its wording), so each distinct one is held once, not once per domain.
    /// </summary>
    internal static SenderPolicyDecision Compact(SenderPolicyDecision decision, SharedParts shared)
    {
        var evidence = decision.Evidence;
        var why = evidence.LastOrDefault(e => e.Step == "decision") ?? (evidence.Count > 0 ? evidence[^1] : null);
        return decision with
        {
            Requirement = shared.Requirement(decision.Requirement),
            Evidence = why is null ? [] : shared.Why(why),
            Mx = [],
            Dane = null,
            MtaStsPolicy = null,
        };
    }

    /// <summary>
    /// Equal parts of remembered decisions, kept once. Bounded: past <paramref name="capacity"/> distinct values it
    /// starts again (entries already kept still hold theirs; only sharing with them is lost).
    /// </summary>
    internal sealed class SharedParts(int capacity)
    {
        private readonly ConcurrentDictionary<TlsRequirement, TlsRequirement> _requirements = new();
        private readonly ConcurrentDictionary<Evidence, IReadOnlyList<Evidence>> _whys = new();

        public int Count => _requirements.Count + _whys.Count;

        public TlsRequirement Requirement(TlsRequirement requirement) => Kept(_requirements, requirement, static r => r);

        public IReadOnlyList<Evidence> Why(Evidence why) => Kept(_whys, why, static w => [w]);

        private TValue Kept<TKey, TValue>(ConcurrentDictionary<TKey, TValue> kept, TKey key, Func<TKey, TValue> create)
            where TKey : notnull
        {
            if (kept.TryGetValue(key, out var value))
            {
                return value;
            }
            if (kept.Count >= capacity)
            {
                kept.Clear();
            }
            return kept.GetOrAdd(key, create);
        }
    }

    private readonly ConcurrentDictionary<DomainName, Entry> _entries = new();
    private readonly SharedParts _shared = new(Math.Max(1, settings.MaxEntries));
    private readonly SingleFlight<DomainName, SenderPolicyDecision> _refreshing = new();
    private readonly SemaphoreSlim _backgroundRefreshes = new(Math.Max(1, settings.MaxBackgroundRefreshes));
    private int _waitingRefreshes;

    public SenderPolicyCacheCounters Counters { get; } = counters ?? new();

    public int Count => _entries.Count;

    /// <param name="domain">The destination domain, parsed once where it entered (the socketmap key).</param>
    public async ValueTask<SenderPolicyDecision> GetAsync(DomainName domain, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().UtcDateTime;
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
                    RefreshInBackground(domain); // not while a failed refresh backs off: an outage is not hammered
                }
                return entry.Decision;
            }
        }
        if (await resolver.DecideFromCacheAsync(domain, cancellationToken).ConfigureAwait(false) is { } fromPolicyCache)
        {
            Counters.PolicyCacheHit();
            decided?.Invoke(new SenderPolicyDecided(domain.Value, fromPolicyCache, null, FromPolicyCache: true));
            RefreshInBackground(domain);
            return fromPolicyCache;
        }
        Counters.Miss();
        return await Refresh(domain, background: false).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>One lookup per domain at a time, not tied to any caller's token (a caller giving up does not cancel it).</summary>
    /// <param name="background">Nobody waits for it: it takes one of <see cref="SenderPolicyCacheSettings.MaxBackgroundRefreshes"/>.</param>
    private Task<SenderPolicyDecision> Refresh(DomainName domain, bool background) =>
        _refreshing.Run(domain, background ? RefreshInBackgroundAsync : RefreshAsync, out _);

    /// <summary>
    /// Completes when the lookup of <paramref name="domain"/> running now (a first lookup or a background refresh) has
    /// decided and its decision is remembered; at once when none runs. A refresh is started before the answer that
    /// wanted it returns, so awaiting this after <see cref="GetAsync"/> awaits that refresh: tests observe background
    /// work this way instead of polling.
    /// </summary>
    internal Task WhenRefreshedAsync(DomainName domain) => _refreshing.InFlight(domain) ?? Task.CompletedTask;

    /// <summary>Starts (or joins) a background refresh of a domain just answered, unless too many already wait.</summary>
    private void RefreshInBackground(DomainName domain)
    {
        if (_refreshing.InFlight(domain) is null && Volatile.Read(ref _waitingRefreshes) >= settings.MaxWaitingRefreshes)
        {
            Counters.RefreshSkipped();
            return;
        }
        _ = Refresh(domain, background: true);
    }

    private async Task<SenderPolicyDecision> RefreshInBackgroundAsync(DomainName domain)
    {
        Interlocked.Increment(ref _waitingRefreshes);
        try
        {
            await _backgroundRefreshes.WaitAsync().ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _waitingRefreshes);
        }
        try
        {
            return await RefreshAsync(domain).ConfigureAwait(false);
        }
        finally
        {
            _backgroundRefreshes.Release();
        }
    }

    private async Task<SenderPolicyDecision> RefreshAsync(DomainName domain)
    {
        await Task.Yield();
        Counters.Refresh();
        var decision = await resolver.DecideAsync(domain, CancellationToken.None).ConfigureAwait(false);
        var now = time.GetUtcNow().UtcDateTime;
        if (decision.Kind == SenderPolicyKind.TempFail && _entries.TryGetValue(domain, out var previous)
            && previous.Decision.Kind != SenderPolicyKind.TempFail && now - previous.DecidedAt < settings.MaxStale)
        {
            _entries[domain] = previous with { RetryAt = now + settings.TempFailFor };
            decided?.Invoke(new SenderPolicyDecided(domain.Value, decision, previous.Decision));
            return previous.Decision;
        }
        if (_entries.Count >= settings.MaxEntries && !_entries.ContainsKey(domain))
        {
            Trim(now);
        }
        _entries[domain] = new Entry(Compact(decision, _shared), now, now);
        decided?.Invoke(new SenderPolicyDecided(domain.Value, decision, null));
        return decision;
    }

    private void Trim(DateTime now)
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

/// <summary>A decision <see cref="SenderPolicyCache"/> has just made for <paramref name="Domain"/>.</summary>
/// <param name="KeptInstead">When the new decision failed (TEMP) and a good earlier answer is kept: that answer.</param>
/// <param name="FromPolicyCache">The decision was taken from the persistent policy cache before the domain's full lookup
/// (<see cref="SenderPolicyResolver.DecideFromCacheAsync"/>) and answered at once; the full lookup follows and is told
/// of separately.</param>
public sealed record SenderPolicyDecided(string Domain, SenderPolicyDecision Decision, SenderPolicyDecision? KeptInstead, bool FromPolicyCache = false)
{
    /// <summary>The one line that says why: the decision step's evidence, else the last evidence line.</summary>
    public static string Why(SenderPolicyDecision decision)
    {
        ArgumentNullException.ThrowIfNull(decision);
        var evidence = decision.Evidence;
        return evidence.LastOrDefault(e => e.Step == "decision")?.Message ?? (evidence.Count > 0 ? evidence[^1].Message : "");
    }
}
