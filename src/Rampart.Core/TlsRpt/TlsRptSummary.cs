namespace Rampart.Core.TlsRpt;

/// <summary>Sessions reported for one policy domain by one reporter.</summary>
public sealed record TlsRptReporterSummary(
    string Organization,
    int Reports,
    long Successful,
    long Failed,
    IReadOnlyDictionary<string, long> FailureTypes,
    DateTimeOffset FirstSeen,
    DateTimeOffset LastSeen)
{
    /// <summary>Failed / (successful + failed); 0 when no session was reported.</summary>
    public double FailureRate => TlsRptSummaryBuilder.Rate(Successful, Failed);
}

/// <summary>
/// Everything reported about one policy domain: <see cref="Successful"/> and <see cref="Failed"/> add up the reports'
/// summary counts, <see cref="FailureTypes"/>, <see cref="FailuresByMx"/> and <see cref="FailuresBySendingIp"/> add up
/// failure-details (the two need not agree: reporters' counts do not always add up).
/// </summary>
public sealed record TlsRptDomainSummary(
    string PolicyDomain,
    int Reports,
    long Successful,
    long Failed,
    IReadOnlyDictionary<string, long> FailureTypes,
    IReadOnlyDictionary<string, long> FailuresByMx,
    IReadOnlyDictionary<string, long> FailuresBySendingIp,
    IReadOnlyList<TlsRptReporterSummary> Reporters,
    DateTimeOffset FirstSeen,
    DateTimeOffset LastSeen)
{
    /// <summary>Failed / (successful + failed); 0 when no session was reported.</summary>
    public double FailureRate => TlsRptSummaryBuilder.Rate(Successful, Failed);
}

/// <summary>Groups a store's aggregate rows into per-domain summaries: domains and reporters by name, counts by size.</summary>
public static class TlsRptSummaryBuilder
{
    public static double Rate(long successful, long failed) => successful + failed == 0 ? 0 : (double)failed / (successful + failed);

    public static IReadOnlyList<TlsRptDomainSummary> Build(TlsRptAggregates aggregates)
    {
        ArgumentNullException.ThrowIfNull(aggregates);
        var types = aggregates.ByResultType.ToLookup(r => r.PolicyDomain, StringComparer.Ordinal);
        var mx = aggregates.ByMxHost.ToLookup(r => r.PolicyDomain, StringComparer.Ordinal);
        var ips = aggregates.BySendingIp.ToLookup(r => r.PolicyDomain, StringComparer.Ordinal);
        return aggregates.Reporters
            .GroupBy(r => r.PolicyDomain, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(domain =>
            {
                var reporters = domain
                    .OrderBy(r => r.Organization, StringComparer.Ordinal)
                    .Select(r => new TlsRptReporterSummary(
                        r.Organization, r.Reports, r.Successful, r.Failed,
                        Sum(types[domain.Key].Where(t => t.Organization == r.Organization)),
                        r.FirstSeen, r.LastSeen))
                    .ToList();
                return new TlsRptDomainSummary(
                    domain.Key,
                    domain.Sum(r => r.Reports),
                    domain.Sum(r => r.Successful),
                    domain.Sum(r => r.Failed),
                    Sum(types[domain.Key]),
                    Sum(mx[domain.Key]),
                    Sum(ips[domain.Key]),
                    reporters,
                    domain.Min(r => r.FirstSeen),
                    domain.Max(r => r.LastSeen));
            })
            .ToList();
    }

    /// <summary>Sessions per key, largest first, then by key.</summary>
    private static IReadOnlyDictionary<string, long> Sum(IEnumerable<TlsRptFailureRow> rows)
    {
        var sums = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var row in rows)
        {
            sums[row.Key] = sums.GetValueOrDefault(row.Key) + row.Sessions;
        }
        var ordered = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var (key, value) in sums.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal))
        {
            ordered[key] = value;
        }
        return ordered;
    }
}
