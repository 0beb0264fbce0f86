using System.Data.Common;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using Npgsql;
using NpgsqlTypes;
using Rampart.Core;
using Rampart.Core.TlsRpt;

namespace Rampart.Storage.TlsRpt;

/// <summary>
/// The shared TLS-RPT report store for large or multi-host deployments: three tables in a PostgreSQL database
/// (reports, their policies, the policies' failure details), the same shape and the same answers as
/// <see cref="SqliteTlsReportStore"/>.
/// </summary>
/// <remarks>
/// <para>
/// The tables are created on first use, under an advisory lock so that importers starting together do not race, and
/// carry a schema version: a database written by a newer Rampart is refused rather than misread. The database itself
/// must exist and the user must be allowed to create tables in it (or an administrator runs the first import).
/// </para>
/// <para>
/// A batch of reports is one transaction (<see cref="AddBatchAsync"/>; <see cref="AddAsync"/> is a batch of one), each
/// report one statement: their rows, their policies and every failure detail, and their sums in the per-day tables,
/// are committed together or not at all, so a dropped connection, a killed importer or a crashed server leaves no half
/// report and no sum without its report. The
/// de-duplication key (organization-name, report-id, date range; RFC 8460 §4.4) is a unique constraint and the insert
/// says <c>ON CONFLICT DO NOTHING</c>, so importers running at the same time on several hosts store each report once:
/// the second waits for the first to commit and then finds it (<see cref="TlsRptStoreOutcome.Duplicate"/>).
/// </para>
/// <para>
/// Times are <c>timestamptz</c> cut to whole milliseconds, as the SQLite store keeps them, so both stores de-duplicate
/// and summarise alike. PostgreSQL text cannot hold U+0000: such characters (never meaningful in a report) are stored
/// as U+FFFD. The store is safe for concurrent use (a connection pool).
/// </para>
/// </remarks>
public sealed class PostgresTlsReportStore : ITlsReportStore, ITlsReportHistory, ITlsReportFileIndex
{
    /// <summary>
    /// 2: the per-day tables (tlsrpt_day, tlsrpt_day_failure), filled from the reports when a version 1 store is opened,
    /// and the known-file index (tlsrpt_file), empty until the next import. 3: the per-domain item tables (tlsrpt_item,
    /// tlsrpt_item_domain), filled from the per-day failure table when a version 2 store is opened.
    /// </summary>
    internal const int SchemaVersion = 3;

    /// <summary>The advisory lock held while the schema is checked and created ("RAMPTLSR").</summary>
    private const long SchemaLock = 0x52414D50_544C5352;

    /// <summary>
    /// The advisory lock a transaction holds from its per-day sums to its commit ("RAMPSUMS"): the per-domain item
    /// count counts the items a batch adds that are not stored yet, which two importers adding the same new item at
    /// the same time would both count. Their reports are still written side by side; only the sums wait.
    /// </summary>
    private const long SumsLock = 0x52414D50_53554D53;

    /// <summary>
    /// The same filters as the SQLite store (the range's end at or after Since, both cut to whole milliseconds) over
    /// timestamptz columns; failure details refer to their policy by report and position.
    /// </summary>
    private static readonly TlsRptSqlDialect Dialect = new(
        Where: "($1::text IS NULL OR p.policy_domain = $1) AND ($2::timestamptz IS NULL OR r.end_time >= $2)",
        StartColumn: "start_time",
        EndColumn: "end_time",
        FailureJoin: "p.report = f.report AND p.ordinal = f.policy",
        ReadTime: (reader, column) => reader.GetFieldValue<DateTimeOffset>(column),
        StartDay: "to_char(r.start_time AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
        PolicyDomains: "string_agg(DISTINCT p.policy_domain, ',')",
        EndDay: "to_char(r.end_time AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
        DayWhere: "($1::text IS NULL OR a.policy_domain = $1) AND ($3::text IS NULL OR a.end_day > $3)",
        SinceDayWhere: "$2::timestamptz IS NOT NULL AND ($1::text IS NULL OR p.policy_domain = $1) AND r.end_time >= $2 AND r.end_time < $4",
        Least: "LEAST",
        Greatest: "GREATEST",
        DomainWhere: "($1::text IS NULL OR a.policy_domain = $1)",
        DomainParameter: "$1",
        Bytewise: " COLLATE \"C\"");

    private readonly NpgsqlDataSource _dataSource;
    private readonly PostgresStoreAddress _address;
    private readonly TimeProvider _time;
    private int _disposed;

    private PostgresTlsReportStore(NpgsqlDataSource dataSource, PostgresStoreAddress address, TimeProvider time)
    {
        _dataSource = dataSource;
        _address = address;
        _time = time;
    }

    /// <summary>The server, user and database, e.g. <c>postgres://rampart@db1:5432/tlsrpt</c> (never the password).</summary>
    public string Location => _address.Location;

    /// <summary>
    /// Test hook: when set, it is called with the connection of a batch's transaction after all the batch's rows are
    /// written, before the commit (to cut the transaction off there).
    /// </summary>
    internal Func<NpgsqlConnection, CancellationToken, Task>? BeforeCommit { get; set; }

    /// <summary>Connects to the database named by <paramref name="url"/> and creates the tables when missing.</summary>
    /// <exception cref="RampartException">
    /// The URL is unusable, the server cannot be reached in time, refuses the user, or the schema is newer than this
    /// Rampart; the message is one line naming the server (never the password) and what to do.
    /// </exception>
    public static Task<PostgresTlsReportStore> OpenAsync(string url, TimeProvider time, CancellationToken cancellationToken = default) =>
        OpenAsync(PostgresStoreAddress.Parse(url), time, null, cancellationToken);

    /// <inheritdoc cref="OpenAsync(string, TimeProvider, CancellationToken)"/>
    /// <param name="url">The store's URL.</param>
    /// <param name="time">The clock of import times.</param>
    /// <param name="notice">Told (one line) when opening takes long: a version 1 store gets its per-day tables filled.</param>
    /// <param name="cancellationToken">Cancels the connection and the schema check.</param>
    public static Task<PostgresTlsReportStore> OpenAsync(string url, TimeProvider time, Action<string>? notice, CancellationToken cancellationToken) =>
        OpenAsync(PostgresStoreAddress.Parse(url), time, notice, cancellationToken);

    /// <inheritdoc cref="OpenAsync(string, TimeProvider, CancellationToken)"/>
    public static Task<PostgresTlsReportStore> OpenAsync(PostgresStoreAddress address, TimeProvider time, CancellationToken cancellationToken = default) =>
        OpenAsync(address, time, null, cancellationToken);

    /// <inheritdoc cref="OpenAsync(string, TimeProvider, Action{string}, CancellationToken)"/>
    public static async Task<PostgresTlsReportStore> OpenAsync(PostgresStoreAddress address, TimeProvider time, Action<string>? notice, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(address);
        ArgumentNullException.ThrowIfNull(time);
        var dataSource = PostgresStoreFaults.CreateDataSource(address, "TLS-RPT store");
        var store = new PostgresTlsReportStore(dataSource, address, time);
        try
        {
            await store.InitializeAsync(notice, cancellationToken).ConfigureAwait(false);
            return store;
        }
        catch
        {
            await dataSource.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <inheritdoc/>
    public async Task<TlsRptStoreOutcome> AddAsync(TlsRptStoredReport report, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(report);
        return (await StoreAsync([report], refuseAlone: false, cancellationToken).ConfigureAwait(false))[0].Outcome;
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<TlsRptStoreResult>> AddBatchAsync(IReadOnlyList<TlsRptStoredReport> reports, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reports);
        return StoreAsync(reports, refuseAlone: true, cancellationToken);
    }

    /// <summary>
    /// Stores <paramref name="reports"/> in one transaction (their statements sent together, then the per-day tables,
    /// then the commit: three round trips however many reports). When the server refuses a row of one report (a data
    /// or constraint error) and <paramref name="refuseAlone"/> is set, the transaction is rolled back and the reports
    /// are stored one per transaction, so only the refused one is left out, with the reason.
    /// </summary>
    private async Task<IReadOnlyList<TlsRptStoreResult>> StoreAsync(IReadOnlyList<TlsRptStoredReport> reports, bool refuseAlone, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        if (reports.Count == 0)
        {
            return [];
        }
        var current = reports[0].Report.ReportId;
        try
        {
            var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                try
                {
                    return await StoreInTransactionAsync(connection, reports, cancellationToken).ConfigureAwait(false);
                }
                catch (PostgresException ex) when (refuseAlone && IsRefusal(ex))
                {
                    var results = new TlsRptStoreResult[reports.Count];
                    for (var i = 0; i < reports.Count; i++)
                    {
                        current = reports[i].Report.ReportId;
                        try
                        {
                            results[i] = (await StoreInTransactionAsync(connection, [reports[i]], cancellationToken).ConfigureAwait(false))[0];
                        }
                        catch (PostgresException refused) when (IsRefusal(refused))
                        {
                            results[i] = new TlsRptStoreResult(TlsRptStoreOutcome.Imported, "the store refused it: " + StateFiles.OneLine(refused.MessageText));
                        }
                    }
                    return results;
                }
            }
        }
        catch (Exception ex) when (IsFault(ex, cancellationToken))
        {
            throw Fault($"cannot store report {current}", ex);
        }
    }

    /// <summary>A data exception (22xxx) or an integrity violation (23xxx): the server refuses this report's rows, not the connection.</summary>
    private static bool IsRefusal(PostgresException ex) => ex.SqlState.StartsWith("22", StringComparison.Ordinal) || ex.SqlState.StartsWith("23", StringComparison.Ordinal);

    private async Task<TlsRptStoreResult[]> StoreInTransactionAsync(NpgsqlConnection connection, IReadOnlyList<TlsRptStoredReport> reports, CancellationToken cancellationToken)
    {
        // Inserted in key order, so importers storing overlapping batches wait for each other in one order, never in a circle.
        var order = Enumerable.Range(0, reports.Count)
            .OrderBy(i => reports[i].Report.OrganizationName, StringComparer.Ordinal)
            .ThenBy(i => reports[i].Report.ReportId, StringComparer.Ordinal)
            .ThenBy(i => reports[i].Report.StartDatetime)
            .ThenBy(i => reports[i].Report.EndDatetime)
            .ToArray();
        var results = new TlsRptStoreResult[reports.Count];
        var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (transaction.ConfigureAwait(false))
        {
            var now = Millis(_time.GetUtcNow());
            var stored = new List<long>();
            using (var batch = new NpgsqlBatch(connection, transaction))
            {
                foreach (var i in order)
                {
                    ArgumentNullException.ThrowIfNull(reports[i]);
                    batch.BatchCommands.Add(InsertCommand(reports[i], now));
                }
                using var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                foreach (var i in order)
                {
                    if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                    {
                        stored.Add(reader.GetInt64(0));
                        results[i] = TlsRptStoreResult.Imported;
                    }
                    else
                    {
                        results[i] = TlsRptStoreResult.Duplicate;
                    }
                    await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
                }
            }
            if (stored.Count > 0)
            {
                using var days = new NpgsqlBatch(connection, transaction);
                days.BatchCommands.Add(new NpgsqlBatchCommand(string.Create(CultureInfo.InvariantCulture, $"SELECT pg_advisory_xact_lock({SumsLock})")));
                foreach (var statement in TlsRptAggregateQueries.AddToDays(Dialect, "r.id = ANY($1)"))
                {
                    var add = new NpgsqlBatchCommand(statement);
                    add.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint, Value = stored.ToArray() });
                    days.BatchCommands.Add(add);
                }
                await days.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
            if (BeforeCommit is { } hook)
            {
                await hook(connection, cancellationToken).ConfigureAwait(false);
            }
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
        return results;
    }

    /// <inheritdoc/>
    public Task<TlsRptAggregates> AggregateAsync(TlsRptSummaryQuery query, CancellationToken cancellationToken) =>
        ReadAsync("cannot summarise", query, (filtered, ct) => TlsRptAggregateQueries.ReadAsync(Dialect.For(query), filtered, query.Since is not null, query.CheckedTopItems, ct), cancellationToken, summary: true);

    /// <inheritdoc/>
    public Task<TlsRptDaily> DailyAsync(TlsRptSummaryQuery query, CancellationToken cancellationToken) =>
        ReadAsync("cannot read the days", query, (filtered, ct) => TlsRptHistoryQueries.DailyAsync(Dialect.For(query), filtered, query.Since is not null, ct), cancellationToken, summary: true);

    /// <summary><see cref="AggregateAsync"/> computed from every stored failure detail instead of the per-day tables (tests).</summary>
    internal Task<TlsRptAggregates> ScanAggregateAsync(TlsRptSummaryQuery query, CancellationToken cancellationToken) =>
        ReadAsync("cannot summarise", query, (filtered, ct) => TlsRptAggregateQueries.ScanAsync(Dialect.For(query), filtered, query.CheckedTopItems, ct), cancellationToken);

    /// <summary><see cref="DailyAsync"/> computed from every stored report instead of the per-day tables (tests).</summary>
    internal Task<TlsRptDaily> ScanDailyAsync(TlsRptSummaryQuery query, CancellationToken cancellationToken) =>
        ReadAsync("cannot read the days", query, (filtered, ct) => TlsRptHistoryQueries.ScanDailyAsync(Dialect.For(query), filtered, ct), cancellationToken);

    /// <inheritdoc/>
    public Task<IReadOnlyList<TlsRptReportListing>> ListAsync(TlsRptSummaryQuery query, int limit, CancellationToken cancellationToken) =>
        ReadAsync("cannot list reports", query, (filtered, ct) => TlsRptHistoryQueries.ListAsync(Dialect.For(query), filtered, limit, ct), cancellationToken);

    /// <inheritdoc/>
    public Task<TlsRptStoredReport?> ReadAsync(long key, CancellationToken cancellationToken) => ReadAsync(key, true, cancellationToken);

    /// <inheritdoc/>
    public Task<TlsRptStoredReport?> ReadWithoutFailureDetailsAsync(long key, CancellationToken cancellationToken) => ReadAsync(key, false, cancellationToken);

    private Task<TlsRptStoredReport?> ReadAsync(long key, bool failureDetails, CancellationToken cancellationToken) =>
        ReadAsync($"cannot read report {key}", new TlsRptSummaryQuery(),
            (filtered, ct) => TlsRptHistoryQueries.ReadAsync(Dialect, filtered, key, failureDetails, ct), cancellationToken);

    /// <summary>
    /// Runs <paramref name="read"/> on a connection of its own, with commands filtered by <paramref name="query"/>: the
    /// domain and since ($1, $2), and for a <paramref name="summary"/> over the per-day tables also the day of since and
    /// the start of the next day ($3, $4).
    /// </summary>
    private async Task<T> ReadAsync<T>(string what, TlsRptSummaryQuery query, Func<Func<string, DbCommand>, CancellationToken, Task<T>> read,
        CancellationToken cancellationToken, bool summary = false)
    {
        ArgumentNullException.ThrowIfNull(query);
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        try
        {
            var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                return await read(sql => Filtered(connection, sql, query, summary), cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (IsFault(ex, cancellationToken))
        {
            throw Fault(what, ex);
        }
    }

    /// <inheritdoc/>
    public Task<IReadOnlyDictionary<string, IReadOnlyList<TlsRptStoredReport>>> KnownFilesAsync(IReadOnlyCollection<string> sha256s, CancellationToken cancellationToken) =>
        ReadKnownAsync(sha256s, (command, hashes, ct) => TlsRptFileIndexQueries.ReadAsync(Dialect, command, hashes, ct), cancellationToken);

    /// <inheritdoc/>
    public Task<IReadOnlyDictionary<string, int>> KnownFileCountsAsync(IReadOnlyCollection<string> sha256s, CancellationToken cancellationToken) =>
        ReadKnownAsync(sha256s, (command, hashes, ct) => TlsRptFileIndexQueries.CountAsync(Dialect, command, hashes, ct), cancellationToken);

    /// <summary>Runs a read of the known-file index for <paramref name="sha256s"/>: a command with them bound, and the condition on <c>f.sha256</c> that selects them.</summary>
    private async Task<T> ReadKnownAsync<T>(IReadOnlyCollection<string> sha256s, Func<Func<string, DbCommand>, string, CancellationToken, Task<T>> read, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(sha256s);
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        var list = sha256s.Select(TlsRptFileIndexQueries.Checked).ToArray();
        try
        {
            var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                return await read(sql =>
                {
                    var command = new NpgsqlCommand(sql, connection);
                    command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text, Value = list });
                    return command;
                }, "f.sha256 = ANY($1)", cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (IsFault(ex, cancellationToken))
        {
            throw Fault("cannot read the known files", ex);
        }
    }

    /// <inheritdoc/>
    public async Task RememberFilesAsync(IReadOnlyList<TlsRptKnownFile> files, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(files);
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        var rows = files.SelectMany(f => f.Reports.Select((r, i) => (Sha: TlsRptFileIndexQueries.Checked(f.Sha256), Ordinal: i, r.Suffix, r.Report)))
            .OrderBy(r => r.Sha, StringComparer.Ordinal).ThenBy(r => r.Ordinal).ToList();
        if (rows.Count == 0)
        {
            return;
        }
        try
        {
            var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                using var insert = new NpgsqlCommand("""
                    INSERT INTO tlsrpt_file (sha256, ordinal, suffix, organization, report_id, start_time, end_time)
                    SELECT * FROM unnest($1::text[], $2::integer[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::timestamptz[])
                    ON CONFLICT (sha256, ordinal) DO NOTHING
                    """, connection);
                insert.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text, Value = rows.Select(r => r.Sha).ToArray() });
                insert.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Integer, Value = rows.Select(r => r.Ordinal).ToArray() });
                insert.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text, Value = rows.Select(r => Text(r.Suffix)).ToArray() });
                insert.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text, Value = rows.Select(r => Text(r.Report.OrganizationName)).ToArray() });
                insert.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text, Value = rows.Select(r => Text(r.Report.ReportId)).ToArray() });
                insert.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz, Value = rows.Select(r => Millis(r.Report.StartDatetime)).ToArray() });
                insert.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz, Value = rows.Select(r => Millis(r.Report.EndDatetime)).ToArray() });
                await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (IsFault(ex, cancellationToken))
        {
            throw Fault("cannot remember the imported files", ex);
        }
    }

    /// <summary>How many reports, policies and failure-details rows are stored (tests, diagnostics).</summary>
    internal async Task<(long Reports, long Policies, long Failures)> CountRowsAsync(CancellationToken cancellationToken)
    {
        var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var count = new NpgsqlCommand(
                "SELECT (SELECT COUNT(*) FROM tlsrpt_report), (SELECT COUNT(*) FROM tlsrpt_policy), (SELECT COUNT(*) FROM tlsrpt_failure)", connection);
            using var reader = await count.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            return (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2));
        }
    }

    /// <summary>
    /// The report, its policies and its failure details in one statement: the policies and details are inserted only
    /// when the report row is (a duplicate inserts nothing and returns no row).
    /// </summary>
    private static NpgsqlBatchCommand InsertCommand(TlsRptStoredReport stored, DateTimeOffset now)
    {
        var r = stored.Report;
        var command = new NpgsqlBatchCommand("""
            WITH r AS (
                INSERT INTO tlsrpt_report (organization, report_id, start_time, end_time, contact_info, source, dkim, dkim_domain, dkim_detail, warnings, imported_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                ON CONFLICT ON CONSTRAINT tlsrpt_report_key DO NOTHING
                RETURNING id),
            p AS (
                INSERT INTO tlsrpt_policy (report, ordinal, policy_type, policy_domain, policy_string, mx_host, successful, failed)
                SELECT r.id, (u.n - 1)::integer, u.policy_type, u.policy_domain, u.policy_string, u.mx_host, u.successful, u.failed
                FROM r, unnest($12::text[], $13::text[], $14::text[], $15::text[], $16::bigint[], $17::bigint[])
                        WITH ORDINALITY AS u (policy_type, policy_domain, policy_string, mx_host, successful, failed, n)),
            f AS (
                INSERT INTO tlsrpt_failure (report, policy, result_type, sending_mta_ip, receiving_mx_hostname, receiving_mx_helo, receiving_ip,
                                            failed_session_count, additional_information, failure_reason_code)
                SELECT r.id, u.policy, u.result_type, u.sending_mta_ip, u.receiving_mx_hostname, u.receiving_mx_helo, u.receiving_ip,
                       u.failed_session_count, u.additional_information, u.failure_reason_code
                FROM r, unnest($18::integer[], $19::text[], $20::text[], $21::text[], $22::text[], $23::text[], $24::bigint[], $25::text[], $26::text[])
                        AS u (policy, result_type, sending_mta_ip, receiving_mx_hostname, receiving_mx_helo, receiving_ip,
                              failed_session_count, additional_information, failure_reason_code))
            SELECT id FROM r
            """);

        var policies = r.Policies;
        int details = policies.Sum(p => p.FailureDetails.Count);
        var fPolicy = new int[details];
        var fType = new string[details];
        var fIp = new string?[details];
        var fMx = new string?[details];
        var fHelo = new string?[details];
        var fRip = new string?[details];
        var fCount = new long[details];
        var fInfo = new string?[details];
        var fCode = new string?[details];
        int k = 0;
        for (int i = 0; i < policies.Count; i++)
        {
            foreach (var d in policies[i].FailureDetails)
            {
                fPolicy[k] = i;
                fType[k] = Text(d.ResultType);
                fIp[k] = Text(d.SendingMtaIp);
                fMx[k] = Text(d.ReceivingMxHostname);
                fHelo[k] = Text(d.ReceivingMxHelo);
                fRip[k] = Text(d.ReceivingIp);
                fCount[k] = d.FailedSessionCount;
                fInfo[k] = Text(d.AdditionalInformation);
                fCode[k] = Text(d.FailureReasonCode);
                k++;
            }
        }

        var p = command.Parameters;
        p.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = Text(r.OrganizationName) });
        p.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = Text(r.ReportId) });
        p.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.TimestampTz, Value = Millis(r.StartDatetime) });
        p.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.TimestampTz, Value = Millis(r.EndDatetime) });
        p.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = (object?)Text(r.ContactInfo) ?? DBNull.Value });
        p.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = Text(stored.Source) });
        p.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = stored.Dkim.StatusName });
        p.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = (object?)Text(stored.Dkim.Domain) ?? DBNull.Value });
        p.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = (object?)Text(stored.Dkim.Detail) ?? DBNull.Value });
        p.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = Text(string.Join('\n', r.Warnings)) });
        p.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.TimestampTz, Value = now });
        p.Add(TextArray(policies.Select(x => x.PolicyType)));
        p.Add(TextArray(policies.Select(x => x.PolicyDomain)));
        p.Add(TextArray(policies.Select(x => string.Join('\n', x.PolicyString))));
        p.Add(TextArray(policies.Select(x => string.Join('\n', x.MxHosts))));
        p.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint, Value = policies.Select(x => x.TotalSuccessfulSessionCount).ToArray() });
        p.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint, Value = policies.Select(x => x.TotalFailureSessionCount).ToArray() });
        p.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Integer, Value = fPolicy });
        foreach (var column in new[] { fType, fIp, fMx, fHelo, fRip })
        {
            p.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text, Value = column });
        }
        p.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint, Value = fCount });
        p.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text, Value = fInfo });
        p.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text, Value = fCode });
        return command;

        static NpgsqlParameter TextArray(IEnumerable<string> values) =>
            new() { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text, Value = values.Select(v => Text(v)).ToArray() };
    }

    private static NpgsqlCommand Filtered(NpgsqlConnection connection, string sql, TlsRptSummaryQuery query, bool summary)
    {
        var command = new NpgsqlCommand(sql, connection);
        command.Parameters.Add(new NpgsqlParameter
        {
            NpgsqlDbType = NpgsqlDbType.Text,
            Value = (object?)Text(TlsRptAggregateQueries.Domain(query)) ?? DBNull.Value,
        });
        command.Parameters.Add(new NpgsqlParameter
        {
            NpgsqlDbType = NpgsqlDbType.TimestampTz,
            Value = query.Since is { } since ? Millis(since) : DBNull.Value,
        });
        if (summary)
        {
            // The day of since ($3) is in every summary query; the start of the next day ($4) only in those with since.
            var (day, next) = TlsRptAggregateQueries.SinceDay(query);
            command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = (object?)day ?? DBNull.Value });
            if (sql.Contains("$4", StringComparison.Ordinal))
            {
                command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.TimestampTz, Value = (object?)next ?? DBNull.Value });
            }
        }
        return command;
    }

    private async Task InitializeAsync(Action<string>? notice, CancellationToken cancellationToken)
    {
        try
        {
            var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
                await using (transaction.ConfigureAwait(false))
                {
                    using (var lockSchema = new NpgsqlCommand($"""
                        SELECT pg_advisory_xact_lock({SchemaLock.ToString(CultureInfo.InvariantCulture)});
                        CREATE TABLE IF NOT EXISTS tlsrpt_schema_version (version integer NOT NULL)
                        """, connection, transaction))
                    {
                        await lockSchema.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                    }
                    int? stored;
                    using (var version = new NpgsqlCommand("SELECT max(version) FROM tlsrpt_schema_version", connection, transaction))
                    {
                        stored = await version.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as int?;
                        if (stored is { } v && v > SchemaVersion)
                        {
                            throw new PostgresStoreException(
                                $"TLS-RPT store {Location} has schema version {v.ToString(CultureInfo.InvariantCulture)}, newer than this " +
                                $"Rampart's {SchemaVersion.ToString(CultureInfo.InvariantCulture)}; run the newer Rampart");
                        }
                    }
                    // One row per report (the de-duplication key is a unique constraint), per policy (keyed by report and
                    // position), per failure-details entry. Text lists (policy-string, mx-host) are joined with newlines,
                    // which none of their entries can hold, as in the SQLite store.
                    using (var create = new NpgsqlCommand($"""
                        CREATE TABLE IF NOT EXISTS tlsrpt_report (
                            id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                            organization text        NOT NULL,
                            report_id    text        NOT NULL,
                            start_time   timestamptz NOT NULL,
                            end_time     timestamptz NOT NULL,
                            contact_info text,
                            source       text        NOT NULL,
                            dkim         text        NOT NULL,
                            dkim_domain  text,
                            dkim_detail  text,
                            warnings     text        NOT NULL,
                            imported_at  timestamptz NOT NULL,
                            CONSTRAINT tlsrpt_report_key UNIQUE (organization, report_id, start_time, end_time)
                        );
                        CREATE INDEX IF NOT EXISTS tlsrpt_report_end ON tlsrpt_report (end_time);
                        CREATE TABLE IF NOT EXISTS tlsrpt_policy (
                            report        bigint  NOT NULL REFERENCES tlsrpt_report (id) ON DELETE CASCADE,
                            ordinal       integer NOT NULL,
                            policy_type   text    NOT NULL,
                            policy_domain text    NOT NULL,
                            policy_string text    NOT NULL,
                            mx_host       text    NOT NULL,
                            successful    bigint  NOT NULL,
                            failed        bigint  NOT NULL,
                            PRIMARY KEY (report, ordinal)
                        );
                        CREATE INDEX IF NOT EXISTS tlsrpt_policy_domain ON tlsrpt_policy (policy_domain);
                        CREATE TABLE IF NOT EXISTS tlsrpt_failure (
                            report                 bigint  NOT NULL,
                            policy                 integer NOT NULL,
                            result_type            text    NOT NULL,
                            sending_mta_ip         text,
                            receiving_mx_hostname  text,
                            receiving_mx_helo      text,
                            receiving_ip           text,
                            failed_session_count   bigint  NOT NULL,
                            additional_information text,
                            failure_reason_code    text,
                            FOREIGN KEY (report, policy) REFERENCES tlsrpt_policy (report, ordinal) ON DELETE CASCADE
                        );
                        CREATE INDEX IF NOT EXISTS tlsrpt_failure_policy ON tlsrpt_failure (report, policy);
                        CREATE TABLE IF NOT EXISTS tlsrpt_day (
                            policy_domain text        NOT NULL,
                            organization  text        NOT NULL,
                            start_day     text        NOT NULL,
                            end_day       text        NOT NULL,
                            reports       bigint      NOT NULL,
                            successful    bigint      NOT NULL,
                            failed        bigint      NOT NULL,
                            first_start   timestamptz NOT NULL,
                            last_end      timestamptz NOT NULL,
                            PRIMARY KEY (policy_domain, organization, start_day, end_day)
                        );
                        CREATE TABLE IF NOT EXISTS tlsrpt_day_failure (
                            dimension     integer NOT NULL,
                            policy_domain text    NOT NULL,
                            organization  text    NOT NULL,
                            item          text    NOT NULL,
                            start_day     text    NOT NULL,
                            end_day       text    NOT NULL,
                            sessions      bigint  NOT NULL,
                            PRIMARY KEY (dimension, policy_domain, organization, item, start_day, end_day)
                        );
                        CREATE TABLE IF NOT EXISTS tlsrpt_file (
                            sha256       text        NOT NULL,
                            ordinal      integer     NOT NULL,
                            suffix       text        NOT NULL,
                            organization text        NOT NULL,
                            report_id    text        NOT NULL,
                            start_time   timestamptz NOT NULL,
                            end_time     timestamptz NOT NULL,
                            PRIMARY KEY (sha256, ordinal)
                        );
                        CREATE TABLE IF NOT EXISTS tlsrpt_item (
                            dimension     integer NOT NULL,
                            policy_domain text    NOT NULL,
                            item          text    NOT NULL,
                            sessions      bigint  NOT NULL,
                            PRIMARY KEY (dimension, policy_domain, item)
                        );
                        CREATE INDEX IF NOT EXISTS tlsrpt_item_top ON tlsrpt_item (dimension, policy_domain, sessions DESC, item COLLATE "C");
                        CREATE TABLE IF NOT EXISTS tlsrpt_item_domain (
                            dimension     integer NOT NULL,
                            policy_domain text    NOT NULL,
                            items         bigint  NOT NULL,
                            sessions      bigint  NOT NULL,
                            PRIMARY KEY (dimension, policy_domain)
                        );
                        INSERT INTO tlsrpt_schema_version (version) SELECT {SchemaVersion} WHERE NOT EXISTS (SELECT 1 FROM tlsrpt_schema_version)
                        """, connection, transaction))
                    {
                        await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                    }
                    if (stored is { } old && old < SchemaVersion)
                    {
                        // A version 1 store: the per-day and item tables are filled from its reports, once, under the schema
                        // lock; a version 2 store: the item tables from its per-day failure table.
                        var clock = System.Diagnostics.Stopwatch.StartNew();
                        notice?.Invoke(old < 2
                            ? $"TLS-RPT store {Location}: schema version 1: computing the per-day sums from its reports, once (a few seconds per 100,000 reports)"
                            : $"TLS-RPT store {Location}: schema version {old}: computing the per-domain MX and sending IP sums from the per-day sums, once");
                        foreach (var statement in (old < 2 ? TlsRptAggregateQueries.AddToDays(Dialect, "true") : TlsRptAggregateQueries.FillItemsFromDays()).Append(
                            $"UPDATE tlsrpt_schema_version SET version = {SchemaVersion.ToString(CultureInfo.InvariantCulture)}"))
                        {
                            using var upgrade = new NpgsqlCommand(statement, connection, transaction) { CommandTimeout = 0 };
                            await upgrade.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                        }
                        notice?.Invoke(string.Create(CultureInfo.InvariantCulture, $"TLS-RPT store {Location}: sums computed in {clock.Elapsed.TotalSeconds:0.0} s"));
                    }
                    await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch (Exception ex) when (IsFault(ex, cancellationToken))
        {
            throw Fault("cannot be used", ex);
        }
    }

    private static bool IsFault(Exception ex, CancellationToken cancellationToken) => PostgresStoreFaults.IsFault(ex, cancellationToken);

    private PostgresStoreException Fault(string what, Exception ex) => PostgresStoreFaults.Fault(_address, "TLS-RPT store", what, ex);

    [return: NotNullIfNotNull(nameof(value))]
    private static string? Text(string? value) => PostgresStoreFaults.Text(value);

    /// <summary>A time cut to whole milliseconds, in UTC (what the SQLite store keeps; Npgsql writes only UTC to timestamptz).</summary>
    private static DateTimeOffset Millis(DateTimeOffset time) => DateTimeOffset.FromUnixTimeMilliseconds(time.ToUnixTimeMilliseconds());

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            await _dataSource.DisposeAsync().ConfigureAwait(false);
        }
    }
}
