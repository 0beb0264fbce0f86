using System.Collections.Concurrent;
using System.Globalization;
using Rampart.Core.MtaSts;
using Rampart.Core.Policy;
using Rampart.Hosting;
using Rampart.Postfix.Socketmap;

namespace Rampart.Postfix.Daemon;

/// <summary>
/// The daemon's Prometheus metrics (text exposition format 0.0.4): lookups by policy and answer, a lookup latency
/// histogram, decision-cache results, policy fetches by result class, and the number of cached policies.
/// </summary>
internal sealed class DaemonMetrics
{
    private static readonly double[] s_buckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private readonly ConcurrentDictionary<(string Policy, string Answer), long> _lookups = new();
    private readonly ConcurrentDictionary<string, long> _fetches = new();
    private readonly long[] _bucketCounts = new long[s_buckets.Length];
    private long _latencyCount;
    private long _latencySumMicros;
    private long _sweeps, _sweepChecked, _sweepRefetched, _sweepFailed, _reloads, _reloadFailures;

    /// <summary>The TLS-RPT collector's counts (rendered with the rest; all zero when it is not configured).</summary>
    public TlsRpt.TlsRptIntakeMetrics TlsRpt { get; } = new();

    public TlsRpt.TlsRptSendMetrics TlsRptSend { get; } = new();

    public void RecordSweep(MtaStsRefreshSummary summary)
    {
        Interlocked.Increment(ref _sweeps);
        Interlocked.Add(ref _sweepChecked, summary.Due);
        Interlocked.Add(ref _sweepRefetched, summary.Refetched);
        Interlocked.Add(ref _sweepFailed, summary.Failed);
    }

    public void RecordReload(bool succeeded) => Interlocked.Increment(ref succeeded ? ref _reloads : ref _reloadFailures);

    /// <summary>One lookup answered with <paramref name="reply"/>, the reply sent.</summary>
    public void RecordLookup(SenderPolicyKind kind, SocketmapReply reply, TimeSpan elapsed)
    {
        ArgumentNullException.ThrowIfNull(reply);
        RecordLookup(kind, reply.StatusWord, elapsed);
    }

    /// <summary>
    /// One lookup answered with <paramref name="answer"/>: a socketmap status word (<c>OK</c>, <c>NOTFOUND</c>, <c>TEMP</c>)
    /// or the first word of an Exim line reply (<c>dane-only</c>, <c>dane</c>, <c>secure</c>, <c>none</c>, <c>tempfail</c>).
    /// </summary>
    public void RecordLookup(SenderPolicyKind kind, string answer, TimeSpan elapsed)
    {
        _lookups.AddOrUpdate((SenderPolicyDecision.KindName(kind), answer), 1, (_, n) => n + 1);
        var seconds = elapsed.TotalSeconds;
        for (var i = 0; i < s_buckets.Length; i++)
        {
            if (seconds <= s_buckets[i])
            {
                Interlocked.Increment(ref _bucketCounts[i]);
            }
        }
        Interlocked.Increment(ref _latencyCount);
        Interlocked.Add(ref _latencySumMicros, (long)(seconds * 1_000_000));
    }

    public void RecordFetch(MtaStsFetchResult result) =>
        _fetches.AddOrUpdate(result.IsSuccess ? "ok" : MtaStsFetchResult.ErrorName(result.Error), 1, (_, n) => n + 1);

    public string Render(SenderPolicyCacheCounters cache, int cachedPolicies, long storeFaults = 0)
    {
        var text = new PrometheusText();
        text.Family("rampart_lookups_total", "counter", "Lookups answered, by policy and answer (Postfix socketmap: OK, NOTFOUND, TEMP; Exim line: dane-only, dane, secure, none, tempfail).");
        foreach (var ((policy, answer), lookups) in _lookups.OrderBy(e => e.Key))
        {
            text.Sample("rampart_lookups_total", [("policy", policy), ("answer", answer)], lookups);
        }
        text.Family("rampart_lookup_duration_seconds", "histogram", "Time to decide one lookup.");
        for (var i = 0; i < s_buckets.Length; i++)
        {
            text.Sample("rampart_lookup_duration_seconds_bucket", [("le", s_buckets[i].ToString(CultureInfo.InvariantCulture))], Interlocked.Read(ref _bucketCounts[i]));
        }
        var count = Interlocked.Read(ref _latencyCount);
        text.Sample("rampart_lookup_duration_seconds_bucket", [("le", "+Inf")], count);
        text.Sample("rampart_lookup_duration_seconds_sum", [], Interlocked.Read(ref _latencySumMicros) / 1_000_000.0);
        text.Sample("rampart_lookup_duration_seconds_count", count);
        text.Family("rampart_decision_cache_total", "counter", "How lookups were answered: fresh hit, stale (refreshing), from the policy cache, or a wait for a lookup.");
        text.Sample("rampart_decision_cache_total", [("result", "hit")], cache.Hits);
        text.Sample("rampart_decision_cache_total", [("result", "stale")], cache.Stale);
        text.Sample("rampart_decision_cache_total", [("result", "policy_cache")], cache.FromPolicyCache);
        text.Sample("rampart_decision_cache_total", [("result", "miss")], cache.Misses);
        text.Family("rampart_decision_refreshes_skipped_total", "counter", "Background refreshes not started because the most allowed were already waiting (the next lookup or the sweep refreshes the domain).");
        text.Sample("rampart_decision_refreshes_skipped_total", cache.RefreshesSkipped);
        text.Family("rampart_policy_fetches_total", "counter", "MTA-STS policy fetches by result (ok or the error class).");
        foreach (var (result, fetches) in _fetches.OrderBy(e => e.Key))
        {
            text.Sample("rampart_policy_fetches_total", [("result", result)], fetches);
        }
        text.Family("rampart_proactive_refresh_total", "counter", "Proactive refresh: sweeps run, policies checked, refetched, failed (cached policy kept).");
        text.Sample("rampart_proactive_refresh_total", [("result", "sweep")], Interlocked.Read(ref _sweeps));
        text.Sample("rampart_proactive_refresh_total", [("result", "checked")], Interlocked.Read(ref _sweepChecked));
        text.Sample("rampart_proactive_refresh_total", [("result", "refetched")], Interlocked.Read(ref _sweepRefetched));
        text.Sample("rampart_proactive_refresh_total", [("result", "failed")], Interlocked.Read(ref _sweepFailed));
        text.Family("rampart_reloads_total", "counter", "Configuration reloads (SIGHUP) by result.");
        text.Sample("rampart_reloads_total", [("result", "ok")], Interlocked.Read(ref _reloads));
        text.Sample("rampart_reloads_total", [("result", "failed")], Interlocked.Read(ref _reloadFailures));
        text.Family("rampart_cached_policies", "gauge", "MTA-STS policies in the persistent cache.");
        text.Sample("rampart_cached_policies", cachedPolicies);
        text.Family("rampart_policy_store_faults_total", "counter", "Policy cache operations that failed (a full disk, Redis down); the answers were kept in memory.");
        text.Sample("rampart_policy_store_faults_total", storeFaults);
        TlsRpt.Render(text);
        TlsRptSend.Render(text);
        return text.ToString();
    }
}

/// <summary>Counts every policy fetch's result for <see cref="DaemonMetrics"/>.</summary>
internal sealed class CountingPolicyFetcher(IMtaStsPolicyFetcher inner, DaemonMetrics metrics) : IMtaStsPolicyFetcher
{
    public async Task<MtaStsFetchResult> FetchAsync(string domain, CancellationToken cancellationToken)
    {
        var result = await inner.FetchAsync(domain, cancellationToken).ConfigureAwait(false);
        metrics.RecordFetch(result);
        return result;
    }
}
