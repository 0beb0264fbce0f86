namespace Rampart.Core.TlsRpt;

/// <summary>Sessions reported for one policy domain on one UTC day (the day a report's range starts).</summary>
public sealed record TlsRptDayRow(string PolicyDomain, DateOnly Day, int Reports, long Successful, long Failed)
{
    /// <summary>Failed / (successful + failed); 0 when no session was reported.</summary>
    public double FailureRate => TlsRptSummaryBuilder.Rate(Successful, Failed);
}

/// <summary>Failed sessions of one result type for one policy domain on one UTC day, from failure-details.</summary>
public sealed record TlsRptDayFailureRow(string PolicyDomain, DateOnly Day, string ResultType, long Sessions);

/// <summary>The per-day series of a summary: sessions per day, and failures per day and result type.</summary>
public sealed record TlsRptDaily(IReadOnlyList<TlsRptDayRow> Days, IReadOnlyList<TlsRptDayFailureRow> FailureTypes);

/// <summary>One stored report as a list shows it: its store key, who sent it, its range and its counts.</summary>
/// <param name="Key">The store's key of the report (for <see cref="ITlsReportHistory.ReadAsync"/>).</param>
/// <param name="PolicyDomains">The policy domains it reports on (those the query selected).</param>
public sealed record TlsRptReportListing(
    long Key, string OrganizationName, string ReportId, DateTimeOffset Start, DateTimeOffset End,
    IReadOnlyList<string> PolicyDomains, long Successful, long Failed, string Dkim);

/// <summary>
/// The reads behind the dashboard, beside <see cref="ITlsReportStore"/>'s summary: the per-day series, the list of
/// reports and one report whole. Every report store implements both.
/// </summary>
public interface ITlsReportHistory
{
    /// <summary>Where the store lives, for messages.</summary>
    string Location { get; }

    /// <summary>The per-day series of the reports <paramref name="query"/> selects, by day then domain.</summary>
    Task<TlsRptDaily> DailyAsync(TlsRptSummaryQuery query, CancellationToken cancellationToken);

    /// <summary>The newest <paramref name="limit"/> reports <paramref name="query"/> selects, newest first.</summary>
    Task<IReadOnlyList<TlsRptReportListing>> ListAsync(TlsRptSummaryQuery query, int limit, CancellationToken cancellationToken);

    /// <summary>The report stored under <paramref name="key"/>, as it was stored; null when there is none.</summary>
    Task<TlsRptStoredReport?> ReadAsync(long key, CancellationToken cancellationToken);

    /// <summary>
    /// The report stored under <paramref name="key"/> with its policies and their counts, but no failure-details rows
    /// (what the findings read: a large report's details are most of it); null when there is none.
    /// </summary>
    Task<TlsRptStoredReport?> ReadWithoutFailureDetailsAsync(long key, CancellationToken cancellationToken);
}
