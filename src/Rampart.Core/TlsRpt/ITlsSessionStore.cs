namespace Rampart.Core.TlsRpt;

/// <summary>The names of the sources of session results (metric labels, store cursors).</summary>
public static class TlsSessionSources
{
    /// <summary>Postfix 3.10+ through libtlsrpt's datagram socket.</summary>
    public const string Datagram = "datagram";

    /// <summary>Postfix before 3.10: its mail log, followed.</summary>
    public const string Log = "log";
}

/// <summary>One session result to count, with what identifies it in its source.</summary>
/// <param name="Result">The session result.</param>
/// <param name="RecordKey">
/// What identifies the result's source record (a log line's file, offset and text), so that adding it again (a replay,
/// a restart that reads a line twice) does not count it twice; null when nothing identifies it (a libtlsrpt datagram),
/// which is then counted each time it is added.
/// </param>
public readonly record struct TlsSessionEntry(TlsSessionResult Result, string? RecordKey = null);

/// <summary>
/// One day's counts for one report domain, TLSRPT record and policy: the stuff of one policies[] entry of the report
/// that record's rua receives (RFC 8460 §4.4).
/// </summary>
/// <param name="Day">The UTC day.</param>
/// <param name="ReportDomain">The domain whose <c>_smtp._tls</c> record receives the report.</param>
/// <param name="TlsRptRecord">The TLSRPT record the sessions saw; null when the source did not say.</param>
/// <param name="Policy">The policy.</param>
/// <param name="Successful">total-successful-session-count.</param>
/// <param name="Failed">total-failure-session-count.</param>
/// <param name="Failures">failure-details: each distinct failure with the sessions that had it.</param>
public sealed record TlsSessionDayPolicy(
    DateOnly Day,
    string ReportDomain,
    string? TlsRptRecord,
    TlsSessionPolicy Policy,
    long Successful,
    long Failed,
    IReadOnlyList<TlsSessionFailureCount> Failures);

/// <summary>A distinct failure (result type, sending IP, receiving MX, its IP and EHLO, reason) and how many sessions had it.</summary>
public sealed record TlsSessionFailureCount(TlsSessionFailure Failure, long Sessions);

/// <summary>
/// Where the session results of our own deliveries are counted, per UTC day, report domain, TLSRPT record and policy,
/// until the day's reports are built from them (SQLite in the state directory; a shared database for a fleet).
/// </summary>
/// <remarks>
/// A batch is added in one transaction: it counts whole or not at all, and once committed it survives a crash of the
/// process. Results with a <see cref="TlsSessionEntry.RecordKey"/> already added for their source and day are skipped.
/// </remarks>
public interface ITlsSessionStore : IAsyncDisposable
{
    /// <summary>Where the store lives (a file path, a server), for messages.</summary>
    string Location { get; }

    /// <summary>
    /// Counts <paramref name="entries"/> from <paramref name="source"/> in one transaction and, in the same transaction,
    /// records <paramref name="cursor"/> as the source's position (null = leave it). Returns how many were counted
    /// (entries whose record key was already counted are not).
    /// </summary>
    /// <exception cref="RampartException">The store cannot be written; nothing of the batch was counted.</exception>
    Task<int> AddAsync(string source, IReadOnlyList<TlsSessionEntry> entries, string? cursor, CancellationToken cancellationToken);

    /// <summary>The position <see cref="AddAsync"/> last recorded for <paramref name="source"/>, or null.</summary>
    Task<string?> ReadCursorAsync(string source, CancellationToken cancellationToken);

    /// <summary>The UTC days that have counts, oldest first.</summary>
    Task<IReadOnlyList<DateOnly>> DaysAsync(CancellationToken cancellationToken);

    /// <summary>The counts of <paramref name="day"/>, for every report domain or only <paramref name="reportDomain"/>, ordered by report domain.</summary>
    Task<IReadOnlyList<TlsSessionDayPolicy>> ReadDayAsync(DateOnly day, string? reportDomain, CancellationToken cancellationToken);

    /// <summary>Deletes every day before <paramref name="day"/> (their reports are done); returns how many policy rows went.</summary>
    Task<int> PurgeBeforeAsync(DateOnly day, CancellationToken cancellationToken);
}
