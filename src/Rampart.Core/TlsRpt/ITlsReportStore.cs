namespace Rampart.Core.TlsRpt;

/// <summary>A report as it is kept: the report, where it came from and the DKIM verdict on its email.</summary>
public sealed record TlsRptStoredReport(TlsRptReport Report, string Source, TlsRptDkimResult Dkim);

/// <summary>What storing a report did.</summary>
public enum TlsRptStoreOutcome
{
    /// <summary>New: stored.</summary>
    Imported,
    /// <summary>Already stored (same organization, report-id and date range): nothing changed.</summary>
    Duplicate,
}

/// <summary>Which reports a summary covers: one policy domain or all; reports whose range ends at or after <see cref="Since"/>.</summary>
public sealed record TlsRptSummaryQuery(string? PolicyDomain = null, DateTimeOffset? Since = null);

/// <summary>
/// Where TLS-RPT reports are kept (SQLite by default, PostgreSQL for shared deployments). A report is stored whole or
/// not at all, and once: the de-duplication key is (organization-name, report-id, date range) (RFC 8460 §4.4,
/// RULES.md).
/// </summary>
public interface ITlsReportStore : IAsyncDisposable
{
    /// <summary>Where the store lives (a file path, a server), for messages.</summary>
    string Location { get; }

    /// <summary>Stores <paramref name="report"/> atomically, or does nothing when it is already stored.</summary>
    Task<TlsRptStoreOutcome> AddAsync(TlsRptStoredReport report, CancellationToken cancellationToken);

    /// <summary>The per-domain aggregate rows the summary is built from (see <see cref="TlsRptSummaryBuilder"/>).</summary>
    Task<TlsRptAggregates> AggregateAsync(TlsRptSummaryQuery query, CancellationToken cancellationToken);
}

/// <summary>Per (policy domain, reporter): reports, summed summary counts, first start and last end.</summary>
public sealed record TlsRptReporterRow(
    string PolicyDomain, string Organization, int Reports, long Successful, long Failed, DateTimeOffset FirstSeen, DateTimeOffset LastSeen);

/// <summary>Failed sessions from failure-details, per (policy domain, reporter, key): the key is a result type, an MX host or a sending IP.</summary>
public sealed record TlsRptFailureRow(string PolicyDomain, string Organization, string Key, long Sessions);

/// <summary>The aggregates a store computes; grouping into a summary is the same for every store.</summary>
public sealed record TlsRptAggregates(
    IReadOnlyList<TlsRptReporterRow> Reporters,
    IReadOnlyList<TlsRptFailureRow> ByResultType,
    IReadOnlyList<TlsRptFailureRow> ByMxHost,
    IReadOnlyList<TlsRptFailureRow> BySendingIp);
