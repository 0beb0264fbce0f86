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

/// <summary>What storing one report of a batch did: <see cref="Outcome"/>, or the reason the store refused it alone.</summary>
/// <param name="Outcome">Imported or duplicate; meaningless when <paramref name="Rejection"/> is set.</param>
/// <param name="Rejection">Why the store refused this report (one line; the other reports of the batch are unaffected); null when stored or a duplicate.</param>
public sealed record TlsRptStoreResult(TlsRptStoreOutcome Outcome, string? Rejection = null)
{
    /// <summary>Stored now.</summary>
    public static readonly TlsRptStoreResult Imported = new(TlsRptStoreOutcome.Imported);

    /// <summary>Already stored.</summary>
    public static readonly TlsRptStoreResult Duplicate = new(TlsRptStoreOutcome.Duplicate);
}

/// <summary>
/// Which reports a summary covers: one policy domain or all; reports whose range ends at or after <see cref="Since"/>.
/// Of the receiving MX hosts and the sending IPs of each domain's failure details, the <see cref="TopItems"/> with the
/// most failed sessions are listed; the rest are counted (<see cref="TlsRptAggregates.MxHostsNotListed"/>).
/// </summary>
public sealed record TlsRptSummaryQuery(string? PolicyDomain = null, DateTimeOffset? Since = null, int TopItems = TlsRptSummaryQuery.DefaultTopItems)
{
    /// <summary>MX hosts and sending IPs listed per domain unless a query asks for another number.</summary>
    public const int DefaultTopItems = 50;

    /// <summary>The most a query may list per domain and dimension.</summary>
    public const int MaxTopItems = 100_000;

    /// <summary><see cref="TopItems"/>, checked: 1 to <see cref="MaxTopItems"/>.</summary>
    public int CheckedTopItems => TopItems is >= 1 and <= MaxTopItems
        ? TopItems
        : throw new ArgumentOutOfRangeException(nameof(TopItems), TopItems, $"list 1 to {MaxTopItems} items per domain");
}

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

    /// <summary>
    /// Stores several reports in one transaction (one commit, so many reports cost about one durable write): when it
    /// returns, every report it reports as imported or duplicate is committed; when it throws, none of this batch is.
    /// A report the store refuses (a row its schema rejects) is refused alone: the others are stored as if it were not
    /// there. The results are in the order of <paramref name="reports"/>; a report twice in one batch is stored once.
    /// </summary>
    Task<IReadOnlyList<TlsRptStoreResult>> AddBatchAsync(IReadOnlyList<TlsRptStoredReport> reports, CancellationToken cancellationToken);

    /// <summary>The per-domain aggregate rows the summary is built from (see <see cref="TlsRptSummaryBuilder"/>).</summary>
    Task<TlsRptAggregates> AggregateAsync(TlsRptSummaryQuery query, CancellationToken cancellationToken);
}

/// <summary>Per (policy domain, reporter): reports, summed summary counts, first start and last end.</summary>
public sealed record TlsRptReporterRow(
    string PolicyDomain, string Organization, int Reports, long Successful, long Failed, DateTimeOffset FirstSeen, DateTimeOffset LastSeen);

/// <summary>Failed sessions from failure-details, per (policy domain, reporter, key): the key is a result type, an MX host or a sending IP.</summary>
public sealed record TlsRptFailureRow(string PolicyDomain, string Organization, string Key, long Sessions);

/// <summary>
/// Of one policy domain's receiving MX hosts (or sending IPs), those a summary does not list: how many, and their failed
/// sessions, so the listed ones and these add up to every failure detail naming one.
/// </summary>
public sealed record TlsRptNotListedRow(string PolicyDomain, long Items, long Sessions);

/// <summary>
/// The aggregates a store computes; grouping into a summary is the same for every store. <see cref="ByMxHost"/> and
/// <see cref="BySendingIp"/> hold, per policy domain, the query's top items (most failed sessions first, then by the
/// item's bytes), summed over reporters (their <see cref="TlsRptFailureRow.Organization"/> is empty); the rest of each
/// domain's items is in <see cref="MxHostsNotListed"/> and <see cref="SendingIpsNotListed"/> (no row: nothing left out).
/// </summary>
public sealed record TlsRptAggregates(
    IReadOnlyList<TlsRptReporterRow> Reporters,
    IReadOnlyList<TlsRptFailureRow> ByResultType,
    IReadOnlyList<TlsRptFailureRow> ByMxHost,
    IReadOnlyList<TlsRptFailureRow> BySendingIp)
{
    /// <summary>Per policy domain, the receiving MX hosts not in <see cref="ByMxHost"/>.</summary>
    public IReadOnlyList<TlsRptNotListedRow> MxHostsNotListed { get; init; } = [];

    /// <summary>Per policy domain, the sending IPs not in <see cref="BySendingIp"/>.</summary>
    public IReadOnlyList<TlsRptNotListedRow> SendingIpsNotListed { get; init; } = [];
}

/// <summary>A file all of whose reports are stored: the SHA-256 of its bytes and its reports, each with the part of its source after the file's path.</summary>
/// <param name="Sha256">The SHA-256 of the file's bytes, lower-case hex.</param>
/// <param name="Reports">Its reports in the order read; Suffix is what follows the file's path in their source (<c>!entry</c>, <c>#2/attachment</c>, or empty).</param>
public sealed record TlsRptKnownFile(string Sha256, IReadOnlyList<(string Suffix, TlsRptReport Report)> Reports);

/// <summary>
/// The report store's index of files already imported, by the SHA-256 of their bytes, so importing a folder again
/// finds its files' reports as duplicates without reading them again. Only a file all of whose reports are stored (none
/// rejected) is remembered; a file changed by a byte is a new file, read and de-duplicated report by report as always.
/// </summary>
public interface ITlsReportFileIndex
{
    /// <summary>
    /// Of <paramref name="sha256s"/> (lower-case hex), the files remembered, each with its reports as stored: the
    /// source is the suffix the file was remembered with, the policies carry their counts but no failure details.
    /// </summary>
    Task<IReadOnlyDictionary<string, IReadOnlyList<TlsRptStoredReport>>> KnownFilesAsync(IReadOnlyCollection<string> sha256s, CancellationToken cancellationToken);

    /// <summary>
    /// Of <paramref name="sha256s"/>, the files remembered (the same as <see cref="KnownFilesAsync"/> finds) and how many
    /// reports each holds, without reading the reports: for an import that counts duplicates and lists none.
    /// </summary>
    Task<IReadOnlyDictionary<string, int>> KnownFileCountsAsync(IReadOnlyCollection<string> sha256s, CancellationToken cancellationToken);

    /// <summary>Remembers <paramref name="files"/>, whose reports are all stored (a file already remembered is left as it is).</summary>
    Task RememberFilesAsync(IReadOnlyList<TlsRptKnownFile> files, CancellationToken cancellationToken);
}
