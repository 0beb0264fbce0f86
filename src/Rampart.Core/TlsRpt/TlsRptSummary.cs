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

/// <summary>MX hosts or sending IPs a summary does not list (beyond its top N): how many, and their failed sessions.</summary>
public readonly record struct TlsRptNotListed(long Items, long Sessions);

/// <summary>
/// Everything reported about one policy domain: <see cref="Successful"/> and <see cref="Failed"/> add up the reports'
/// summary counts, <see cref="FailureTypes"/>, <see cref="FailuresByMx"/> and <see cref="FailuresBySendingIp"/> add up
/// failure-details (the two need not agree: reporters' counts do not always add up). <see cref="FailuresByMx"/> and
/// <see cref="FailuresBySendingIp"/> list the query's top N (<see cref="TlsRptSummaryQuery.TopItems"/>); the others are
/// counted in <see cref="MxHostsNotListed"/> and <see cref="SendingIpsNotListed"/>.
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

    /// <summary>The receiving MX hosts not in <see cref="FailuresByMx"/>.</summary>
    public TlsRptNotListed MxHostsNotListed { get; init; }

    /// <summary>The sending IPs not in <see cref="FailuresBySendingIp"/>.</summary>
    public TlsRptNotListed SendingIpsNotListed { get; init; }
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
        var mxRest = NotListed(aggregates.MxHostsNotListed);
        var ipRest = NotListed(aggregates.SendingIpsNotListed);
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
                    domain.Max(r => r.LastSeen))
                {
                    MxHostsNotListed = mxRest.GetValueOrDefault(domain.Key),
                    SendingIpsNotListed = ipRest.GetValueOrDefault(domain.Key),
                };
            })
            .ToList();

        static Dictionary<string, TlsRptNotListed> NotListed(IReadOnlyList<TlsRptNotListedRow> rows) =>
            rows.GroupBy(r => r.PolicyDomain, StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => new TlsRptNotListed(g.Sum(r => r.Items), g.Sum(r => r.Sessions)), StringComparer.Ordinal);
    }

    /// <summary>
    /// The definition of a summary's top items, for rows per (policy domain, reporter, item) as computed from every
    /// failure detail: per domain, the items' sessions summed over reporters, the <paramref name="top"/> with the most
    /// sessions (then by the item's UTF-8 bytes, the order both stores sort text in) as rows with an empty organization,
    /// and a row of the rest for each domain that has more.
    /// </summary>
    public static (IReadOnlyList<TlsRptFailureRow> Listed, IReadOnlyList<TlsRptNotListedRow> NotListed) Top(IEnumerable<TlsRptFailureRow> rows, int top)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(top);
        var listed = new List<TlsRptFailureRow>();
        var notListed = new List<TlsRptNotListedRow>();
        foreach (var domain in rows.GroupBy(r => r.PolicyDomain, StringComparer.Ordinal))
        {
            var items = domain.GroupBy(r => r.Key, StringComparer.Ordinal)
                .Select(g => (Key: g.Key, Sessions: g.Sum(r => r.Sessions)))
                .OrderByDescending(i => i.Sessions).ThenBy(i => i.Key, Utf8Order.Instance)
                .ToList();
            listed.AddRange(items.Take(top).Select(i => new TlsRptFailureRow(domain.Key, "", i.Key, i.Sessions)));
            if (items.Count > top)
            {
                notListed.Add(new TlsRptNotListedRow(domain.Key, items.Count - top, items.Skip(top).Sum(i => i.Sessions)));
            }
        }
        return (listed, notListed);
    }

    /// <summary>Text in the order of its UTF-8 bytes (SQLite's BINARY, PostgreSQL's "C"): code point order.</summary>
    private sealed class Utf8Order : IComparer<string>
    {
        public static readonly Utf8Order Instance = new();

        public int Compare(string? x, string? y)
        {
            if (x is null || y is null)
            {
                return string.CompareOrdinal(x, y);
            }
            var (a, b) = (x.EnumerateRunes(), y.EnumerateRunes());
            while (true)
            {
                var (moreA, moreB) = (a.MoveNext(), b.MoveNext());
                if (!moreA || !moreB)
                {
                    return moreA.CompareTo(moreB);
                }
                if (a.Current.Value.CompareTo(b.Current.Value) is var order and not 0)
                {
                    return order;
                }
            }
        }
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
