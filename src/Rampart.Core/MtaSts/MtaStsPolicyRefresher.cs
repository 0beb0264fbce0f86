namespace Rampart.Core.MtaSts;

/// <summary>
/// Proactive refresh of cached MTA-STS policies (postfix-mta-sts-resolver's <c>proactive_policy_fetching</c>, with its
/// key names and defaults, except that Rampart enables it by default).
/// </summary>
public sealed record MtaStsRefreshSettings
{
    public bool Enabled { get; init; } = true;

    /// <summary>The refresh cycle: a sweep runs every <see cref="Interval"/> / <see cref="GraceRatio"/>.</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(86_400);

    /// <summary>How many domains are refreshed at once.</summary>
    public int ConcurrencyLimit { get; init; } = 100;

    /// <summary>A policy whose TXT id was checked less than <see cref="Interval"/> / this ratio ago is skipped.</summary>
    public double GraceRatio { get; init; } = 2.0;

    /// <summary>Time between sweeps, and the age after which a cached policy's TXT id is checked again.</summary>
    public TimeSpan SweepPeriod => Interval / GraceRatio;

    /// <summary>
    /// A policy expiring within this window is refetched even when its id is unchanged (two sweep periods, so a
    /// policy whose sweep fails once is still refetched before it expires).
    /// </summary>
    public TimeSpan RefetchWithin => SweepPeriod * 2;
}

/// <summary>What one sweep did.</summary>
/// <param name="Cached">Valid policies in the store.</param>
/// <param name="Due">Policies checked in this sweep.</param>
/// <param name="Refetched">Policies fetched again (changed id, or about to expire).</param>
/// <param name="Failed">Checks or fetches that failed (the cached policy was kept).</param>
public sealed record MtaStsRefreshSummary(int Cached, int Due, int Refetched, int Failed);

/// <summary>
/// Keeps cached MTA-STS policies alive for domains nobody has asked about lately (RFC 8461 §10.2: an attacker who blocks
/// the policy fetch when a cached policy has just expired gets a downgrade). Each sweep checks the TXT id of every policy
/// not checked for a sweep period and refetches those that change or expire within <see cref="MtaStsRefreshSettings.RefetchWithin"/>,
/// at most <see cref="MtaStsRefreshSettings.ConcurrencyLimit"/> at a time, sharing work with concurrent lookups.
/// </summary>
public sealed class MtaStsPolicyRefresher(MtaStsPolicyProvider provider, MtaStsRefreshSettings settings, TimeProvider time)
{
    public MtaStsRefreshSettings Settings => settings;

    /// <summary>Whether a sweep now would check <paramref name="entry"/>.</summary>
    public bool IsDue(CachedMtaStsPolicy entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var now = time.GetUtcNow();
        return entry.IsValidAt(now) && (now - entry.CheckedAt >= settings.SweepPeriod || entry.ExpiresAt - now <= settings.RefetchWithin);
    }

    /// <summary>
    /// Checks every due policy of <paramref name="cached"/> (the store's valid entries, read as the sweep goes: a store
    /// reads them a page at a time, so a sweep over 100,000 policies holds a page and the checks running, not them all).
    /// </summary>
    public async Task<MtaStsRefreshSummary> SweepAsync(IAsyncEnumerable<CachedMtaStsPolicy> cached, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(cached);
        int seen = 0, due = 0, refetched = 0, failed = 0;
        var checks = cached.Where(entry =>
        {
            seen++; // one enumerator, advanced by one worker at a time (Parallel.ForEachAsync)
            if (!IsDue(entry))
            {
                return false;
            }
            due++;
            return true;
        });
        await Parallel.ForEachAsync(checks, new ParallelOptions { MaxDegreeOfParallelism = settings.ConcurrencyLimit, CancellationToken = cancellationToken },
            async (entry, token) =>
            {
                var result = await provider.RevalidateAsync(entry.Domain, settings.RefetchWithin, token).ConfigureAwait(false);
                if (result.Status == MtaStsLookupStatus.Policy && !result.FromCache)
                {
                    Interlocked.Increment(ref refetched);
                }
                if (result.Evidence.Any(e => e.Outcome == Policy.EvidenceOutcome.Fail))
                {
                    Interlocked.Increment(ref failed);
                }
            }).ConfigureAwait(false);
        return new(seen, due, refetched, failed);
    }
}
