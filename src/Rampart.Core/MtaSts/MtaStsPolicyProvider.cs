using System.Collections.Concurrent;
using System.Diagnostics;
using Rampart.Core.Dns;
using Rampart.Core.Policy;

namespace Rampart.Core.MtaSts;

/// <summary>What MTA-STS says about a domain right now.</summary>
public enum MtaStsLookupStatus
{
    /// <summary>A valid policy applies (fresh or cached).</summary>
    Policy,
    /// <summary>No usable <c>_mta-sts</c> TXT record (none, several, or malformed) and nothing cached.</summary>
    NoPolicy,
    /// <summary>The TXT lookup failed and nothing is cached.</summary>
    LookupError,
    /// <summary>A TXT record announces a policy but the fetch failed, and nothing is cached.</summary>
    FetchError,
    /// <summary>The fetched policy text is invalid, and nothing is cached.</summary>
    PolicyInvalid,
}

/// <summary>The result of an MTA-STS lookup with the evidence that led to it.</summary>
public sealed record MtaStsLookupResult(
    MtaStsLookupStatus Status,
    MtaStsPolicy? Policy,
    string? PolicyId,
    bool FromCache,
    IReadOnlyList<Evidence> Evidence,
    MtaStsFetchError FetchError = MtaStsFetchError.None)
{
    /// <summary>The policy's stored <see cref="CachedMtaStsPolicy.DecidedWithoutDane"/> (false when it is not stored).</summary>
    public bool DecidedWithoutDane { get; init; }
}

/// <summary>Tuning of the RFC 8461 §5 cache behaviour.</summary>
public sealed record MtaStsPolicySettings
{
    /// <summary>How long a cached policy is used before its TXT id is compared again.</summary>
    public TimeSpan RefreshInterval { get; init; } = TimeSpan.FromHours(1);

    /// <summary>After a failed fetch (or an invalid policy) the same TXT id is not fetched again for this long; doubled per failure.</summary>
    public TimeSpan FailureBackoff { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The longest failure backoff.</summary>
    public TimeSpan MaxFailureBackoff { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>How many domains' failure states are remembered at most (expired ones are purged first).</summary>
    public int MaxFailureEntries { get; init; } = 100_000;
}

/// <summary>
/// Discovers, fetches, parses and caches MTA-STS policies (RFC 8461 §3 and §5):
/// a cached policy holds until max_age expires whatever DNS says meanwhile; past the refresh interval the TXT id is
/// compared and only a changed id triggers a refetch; a failed refresh keeps the cached policy. Concurrent lookups of
/// one domain share one DNS check and fetch, and a failed fetch of a TXT id is not repeated before its backoff ends.
/// </summary>
public sealed class MtaStsPolicyProvider(
    IDnsResolver dns,
    IMtaStsPolicyFetcher fetcher,
    IMtaStsPolicyStore store,
    MtaStsPolicySettings settings,
    TimeProvider time)
{
    private readonly SingleFlight<string, MtaStsLookupResult> _inFlight = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, FetchFailure> _failures = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>A failed fetch of one TXT id, and when the next attempt is allowed.</summary>
    private sealed record FetchFailure(string Id, int Count, DateTimeOffset RetryAt, MtaStsLookupResult Result);

    public static string TxtName(string domain) => "_mta-sts." + domain;

    /// <summary>The cached policy for a domain while it is valid, from the store only: no DNS, no network.</summary>
    public async Task<MtaStsLookupResult?> CachedAsync(string domain, CancellationToken cancellationToken)
    {
        var cached = await store.GetAsync(domain, cancellationToken).ConfigureAwait(false);
        return cached is not null && cached.IsValidAt(time.GetUtcNow())
            ? FromCached(cached, [CachedEvidence(cached, "used from the cache, with no TXT check or fetch")])
            : null;
    }

    /// <summary>
    /// Records on the domain's cached policy, if any, whether DANE applied to the domain's full sender decision just
    /// made (<see cref="CachedMtaStsPolicy.DecidedWithoutDane"/>). The store keeps it against refreshes under way.
    /// </summary>
    public Task RecordDaneVerdictAsync(string domain, bool daneApplies, CancellationToken cancellationToken) =>
        store.SetDaneVerdictAsync(domain, !daneApplies, cancellationToken).AsTask();

    public async Task<MtaStsLookupResult> LookupAsync(string domain, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var cached = await store.GetAsync(domain, cancellationToken).ConfigureAwait(false);
        if (cached is not null && cached.IsValidAt(now) && now - cached.CheckedAt < settings.RefreshInterval)
        {
            return FromCached(cached, [CachedEvidence(cached, "used without a DNS check (checked " + Ago(now - cached.CheckedAt) + ")")]);
        }

        return await SharedRefreshAsync(domain, TimeSpan.Zero, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Checks the TXT id now, whatever the refresh interval says, and refetches a policy that expires within
    /// <paramref name="refetchWithin"/> even when its id is unchanged, so a cached policy is kept alive before it expires
    /// (proactive refresh, RFC 8461 §10.2). A failure keeps the cached policy. Shares work with concurrent lookups.
    /// </summary>
    public Task<MtaStsLookupResult> RevalidateAsync(string domain, TimeSpan refetchWithin, CancellationToken cancellationToken) =>
        SharedRefreshAsync(domain, refetchWithin, cancellationToken);

    private async Task<MtaStsLookupResult> SharedRefreshAsync(string domain, TimeSpan refetchWithin, CancellationToken cancellationToken)
    {
        // One DNS check and fetch per domain however many lookups ask; the shared work is bounded by the DNS and fetch
        // timeouts, not by any one caller's token, so a caller that gives up does not cancel it for the others.
        var shared = _inFlight.Run(domain, d => RefreshAsync(d, refetchWithin), out var joined);
        var result = await shared.WaitAsync(cancellationToken).ConfigureAwait(false);
        return joined
            ? result with { Evidence = [new("mta-sts.cache", EvidenceOutcome.Info, "joined a lookup of the same domain already in flight"), .. result.Evidence] }
            : result;
    }

    private async Task<MtaStsLookupResult> RefreshAsync(string domain, TimeSpan refetchWithin)
    {
        await Task.Yield();
        var cancellationToken = CancellationToken.None;
        var evidence = new List<Evidence>();
        var now = time.GetUtcNow();
        var cached = await store.GetAsync(domain, cancellationToken).ConfigureAwait(false);
        if (cached is not null && !cached.IsValidAt(now))
        {
            evidence.Add(new("mta-sts.cache", EvidenceOutcome.Info, $"cached policy id {cached.Id} expired at {cached.ExpiresAt:u}", "RFC 8461 §5"));
            cached = null;
        }

        var txtName = TxtName(domain);
        var txtStarted = Stopwatch.GetTimestamp();
        var txt = await dns.QueryTxtAsync(txtName, cancellationToken).ConfigureAwait(false);
        if (txt.IsLookupError)
        {
            evidence.Add(new Evidence("mta-sts.txt", EvidenceOutcome.Fail, $"{txtName} TXT lookup failed: {txt.ErrorMessage}", "RFC 8461 §3.1").Timed(txtStarted));
            if (cached is not null)
            {
                evidence.Add(CachedEvidence(cached, "kept: a failed TXT lookup never removes a cached policy"));
                return FromCached(cached, evidence);
            }
            return new(MtaStsLookupStatus.LookupError, null, null, false, evidence);
        }

        var selection = MtaStsTxtRecord.Select(txt.Records);
        if (selection.Status != MtaStsTxtStatus.Found)
        {
            var message = selection.Status switch
            {
                MtaStsTxtStatus.NoRecord => $"{txtName}: no v=STSv1 TXT record ({txt.Describe()})",
                MtaStsTxtStatus.Multiple => $"{txtName}: {txt.Records.Count(r => r.StartsWith("v=STSv1", StringComparison.Ordinal))} v=STSv1 TXT records; exactly one is required, so no policy",
                _ => $"{txtName}: invalid TXT record: {selection.Error}",
            };
            evidence.Add(new Evidence("mta-sts.txt", selection.Status == MtaStsTxtStatus.NoRecord ? EvidenceOutcome.Info : EvidenceOutcome.Warning, message, "RFC 8461 §3.1").Timed(txtStarted));
            if (cached is not null)
            {
                evidence.Add(CachedEvidence(cached, "kept: removing the TXT record does not remove a policy (use mode none)"));
                return FromCached(cached, evidence);
            }
            return new(MtaStsLookupStatus.NoPolicy, null, null, false, evidence);
        }

        var id = selection.Record!.Id;
        evidence.Add(new Evidence("mta-sts.txt", EvidenceOutcome.Pass, $"{txtName}: v=STSv1 id={id} ({(txt.IsSecure ? "DNSSEC-signed" : "unsigned")})", "RFC 8461 §3.1").Timed(txtStarted));
        if (cached is not null && cached.Id == id && cached.ExpiresAt - now <= refetchWithin)
        {
            evidence.Add(CachedEvidence(cached, "expires soon: refetching to extend its lifetime (proactive refresh)"));
        }
        else if (cached is not null && cached.Id == id)
        {
            cached = await store.SetAsync(cached with { CheckedAt = now }, cancellationToken).ConfigureAwait(false);
            evidence.Add(CachedEvidence(cached, "id unchanged, no refetch"));
            return FromCached(cached, evidence);
        }
        if (cached is not null && cached.Id != id)
        {
            evidence.Add(new("mta-sts.cache", EvidenceOutcome.Info, $"TXT id changed from {cached.Id} to {id}: refetching", "RFC 8461 §5.1"));
        }
        if (_failures.TryGetValue(domain, out var failure) && failure.Id == id && now < failure.RetryAt)
        {
            evidence.Add(new("mta-sts.fetch", EvidenceOutcome.Fail,
                $"not fetched: id {id} failed {failure.Count} time{(failure.Count == 1 ? "" : "s")}, next attempt after {failure.RetryAt:u}", "RFC 8461 §5"));
            if (cached is not null)
            {
                evidence.Add(CachedEvidence(cached, "kept: a failed refresh keeps the cached policy"));
                return FromCached(cached, evidence);
            }
            return failure.Result with { Evidence = [.. evidence, .. failure.Result.Evidence.Where(e => e.Step is "mta-sts.fetch" or "mta-sts.policy").Select(e => e with { Timing = null })] };
        }

        var fetchStarted = Stopwatch.GetTimestamp(); // the policy host's address lookup, the connection and the GET
        var fetch = await fetcher.FetchAsync(domain, cancellationToken).ConfigureAwait(false);
        if (!fetch.IsSuccess)
        {
            evidence.Add(new Evidence("mta-sts.fetch", EvidenceOutcome.Fail, $"{MtaStsFetchResult.ErrorName(fetch.Error)}: {fetch.Message}", "RFC 8461 §3.3").Timed(fetchStarted));
            var failed = RememberFailure(domain, id, now, new(MtaStsLookupStatus.FetchError, null, id, false, evidence, fetch.Error));
            if (cached is not null)
            {
                evidence.Add(CachedEvidence(cached, "kept: a failed refresh keeps the cached policy"));
                return FromCached(cached, evidence);
            }
            return failed;
        }
        evidence.Add(new Evidence("mta-sts.fetch", EvidenceOutcome.Pass, $"{fetch.Message} in {fetch.Elapsed.TotalMilliseconds:0} ms", "RFC 8461 §3.3").Timed(fetchStarted));

        var parsed = MtaStsPolicyParser.Parse(fetch.Body!);
        foreach (var warning in parsed.Warnings)
        {
            evidence.Add(new("mta-sts.policy", EvidenceOutcome.Warning, LineMessage(warning), "RFC 8461 §3.2"));
        }
        if (!parsed.IsValid)
        {
            foreach (var error in parsed.Errors)
            {
                evidence.Add(new("mta-sts.policy", EvidenceOutcome.Fail, LineMessage(error), "RFC 8461 §3.2"));
            }
            var invalid = RememberFailure(domain, id, now, new(MtaStsLookupStatus.PolicyInvalid, null, id, false, evidence));
            if (cached is not null)
            {
                evidence.Add(CachedEvidence(cached, "kept: the new policy is invalid"));
                return FromCached(cached, evidence);
            }
            return invalid;
        }
        _failures.TryRemove(domain, out _);

        var policy = parsed.Policy!;
        evidence.Add(new("mta-sts.policy", EvidenceOutcome.Pass,
            $"mode {MtaStsPolicy.ModeName(policy.Mode)}, max_age {policy.MaxAge} s, mx [{string.Join(", ", policy.Mx)}]", "RFC 8461 §3.2"));
        // The domain's DANE verdict outlives its policy's id: the store keeps the one stored (unknown, false, for a new domain).
        var entry = new CachedMtaStsPolicy(domain, id, policy, now, now.AddSeconds(policy.MaxAge), now);
        if (policy.MaxAge > 0)
        {
            entry = await store.SetAsync(entry, cancellationToken).ConfigureAwait(false);
        }
        return new(MtaStsLookupStatus.Policy, policy, id, false, evidence) { DecidedWithoutDane = policy.MaxAge > 0 && entry.DecidedWithoutDane };
    }

    private MtaStsLookupResult RememberFailure(string domain, string id, DateTimeOffset now, MtaStsLookupResult result)
    {
        var count = _failures.TryGetValue(domain, out var previous) && previous.Id == id ? previous.Count + 1 : 1;
        var backoff = TimeSpan.FromTicks(Math.Min(settings.MaxFailureBackoff.Ticks, settings.FailureBackoff.Ticks << Math.Min(count - 1, 20)));
        if (_failures.Count >= settings.MaxFailureEntries)
        {
            foreach (var (key, value) in _failures)
            {
                if (value.RetryAt <= now)
                {
                    _failures.TryRemove(key, out _);
                }
            }
            if (_failures.Count >= settings.MaxFailureEntries)
            {
                _failures.Clear();
            }
        }
        _failures[domain] = new FetchFailure(id, count, now + backoff, result with { Evidence = [.. result.Evidence] });
        return result;
    }

    private static MtaStsLookupResult FromCached(CachedMtaStsPolicy cached, List<Evidence> evidence) =>
        new(MtaStsLookupStatus.Policy, cached.Policy, cached.Id, true, evidence) { DecidedWithoutDane = cached.DecidedWithoutDane };

    private static Evidence CachedEvidence(CachedMtaStsPolicy cached, string what) =>
        new("mta-sts.cache", EvidenceOutcome.Pass,
            $"cached policy id {cached.Id} (fetched {cached.FetchedAt:u}, valid until {cached.ExpiresAt:u}) {what}", "RFC 8461 §5");

    private static string LineMessage(PolicyDiagnostic d) => d.Line > 0 ? $"line {d.Line}: {d.Message}" : d.Message;

    private static string Ago(TimeSpan span) => span.TotalSeconds < 90 ? $"{span.TotalSeconds:0} s ago" : $"{span.TotalMinutes:0} min ago";
}
