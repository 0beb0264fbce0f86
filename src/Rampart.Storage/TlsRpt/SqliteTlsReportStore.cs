using System.Data.Common;
using System.Globalization;
using Microsoft.Data.Sqlite;
using Rampart.Core;
using Rampart.Core.TlsRpt;

namespace Rampart.Storage.TlsRpt;

/// <summary>
/// The embedded TLS-RPT report store: one SQLite file (<c>&lt;stateDir&gt;/tlsrpt.sqlite</c>) with a table each for
/// reports, their policies and the policies' failure details.
/// </summary>
/// <remarks>
/// <para>
/// A batch of reports is one transaction (<see cref="AddBatchAsync"/>; <see cref="AddAsync"/> is a batch of one): their
/// rows, policies and failure details, and their sums in the per-day tables, are committed together or not at all, so a
/// crash or a fault mid-import leaves no half report and no sum without its report (WAL journal). A report already
/// stored (same organization-name, report-id and date range, RFC 8460 §4.4) is not stored again:
/// <see cref="TlsRptStoreOutcome.Duplicate"/>.
/// </para>
/// <para>
/// WAL with synchronous=NORMAL: a process crash loses nothing committed; an OS crash may lose the last commits, which
/// importing the same files again restores (imports are idempotent). Times are Unix milliseconds, UTC.
/// </para>
/// <para>One connection used by one caller at a time; other processes may read the file while it is written.</para>
/// </remarks>
public sealed class SqliteTlsReportStore : ITlsReportStore, ITlsReportHistory, ITlsReportFileIndex
{
    /// <summary>The file name inside the state directory.</summary>
    public const string FileName = "tlsrpt.sqlite";

    /// <summary>
    /// 2: the per-day tables (tlsrpt_day, tlsrpt_day_failure), filled from the reports when a version 1 store is opened,
    /// and the known-file index (tlsrpt_file), empty until the next import. 3: the per-domain item tables (tlsrpt_item,
    /// tlsrpt_item_domain), filled from the per-day failure table when a version 2 store is opened.
    /// </summary>
    internal const int SchemaVersion = 3;

    /// <summary>Times are Unix milliseconds; policies have a row id the failure details refer to.</summary>
    private static readonly TlsRptSqlDialect Dialect = new(
        Where: "($domain IS NULL OR p.policy_domain = $domain) AND ($since IS NULL OR r.end_ms >= $since)",
        StartColumn: "start_ms",
        EndColumn: "end_ms",
        FailureJoin: "p.id = f.policy",
        ReadTime: (reader, column) => DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(column)),
        StartDay: "date(r.start_ms / 1000, 'unixepoch')",
        PolicyDomains: "group_concat(DISTINCT p.policy_domain)",
        EndDay: "date(r.end_ms / 1000, 'unixepoch')",
        DayWhere: "($domain IS NULL OR a.policy_domain = $domain) AND ($sinceDay IS NULL OR a.end_day > $sinceDay)",
        SinceDayWhere: "$since IS NOT NULL AND ($domain IS NULL OR p.policy_domain = $domain) AND r.end_ms >= $since AND r.end_ms < $sinceNext",
        Least: "min",
        Greatest: "max",
        DomainWhere: "($domain IS NULL OR a.policy_domain = $domain)",
        DomainParameter: "$domain",
        Bytewise: "");

    /// <summary>
    /// The page cache of the connection, in KiB (SQLite's default is 2 MiB): an import upserts rows keyed by sending IP
    /// all over the per-domain item table and its index, which a small cache reads again from the file page by page.
    /// </summary>
    private const int CacheKiB = 32 * 1024;

    private readonly SerializedConnection _db;
    private readonly TimeProvider _time;

    private SqliteTlsReportStore(string path, SqliteConnection connection, TimeProvider time)
    {
        Location = path;
        _db = new SerializedConnection(connection, typeof(SqliteTlsReportStore).FullName!);
        _time = time;
    }

    /// <summary>The database file (full path).</summary>
    public string Location { get; }

    /// <summary>Test hook: called after each policy of a report is written, inside the report's transaction.</summary>
    internal Action<int>? AfterPolicyWritten { get; set; }

    /// <summary>Opens (creating when missing) the store in <paramref name="stateDirectory"/>.</summary>
    public static Task<SqliteTlsReportStore> OpenInDirectoryAsync(string stateDirectory, TimeProvider time, CancellationToken cancellationToken = default) =>
        OpenAsync(Path.Combine(stateDirectory, FileName), time, null, cancellationToken);

    /// <summary>Opens (creating when missing) the store in <paramref name="stateDirectory"/>, telling <paramref name="notice"/> when that takes long.</summary>
    public static Task<SqliteTlsReportStore> OpenInDirectoryAsync(string stateDirectory, TimeProvider time, Action<string>? notice, CancellationToken cancellationToken) =>
        OpenAsync(Path.Combine(stateDirectory, FileName), time, notice, cancellationToken);

    /// <summary>Opens the store at <paramref name="path"/>, creating it and its directory (mode 0700 on Unix) when missing.</summary>
    /// <exception cref="RampartException">The file cannot be used; the message is one line naming the file and what to do.</exception>
    public static Task<SqliteTlsReportStore> OpenAsync(string path, TimeProvider time, CancellationToken cancellationToken = default) =>
        OpenAsync(path, time, null, cancellationToken);

    /// <summary>Opens the store at <paramref name="path"/>, creating it and its directory (mode 0700 on Unix) when missing.</summary>
    /// <exception cref="RampartException">The file cannot be used; the message is one line naming the file and what to do.</exception>
    /// <param name="path">The database file.</param>
    /// <param name="time">The clock of import times.</param>
    /// <param name="notice">Told (one line) when opening takes long: a version 1 store gets its per-day tables filled.</param>
    /// <param name="cancellationToken">Cancels the open.</param>
    public static async Task<SqliteTlsReportStore> OpenAsync(string path, TimeProvider time, Action<string>? notice, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(time);
        var (fullPath, connection) = await StateFiles.OpenDatabaseAsync(path, "TLS-RPT store", 30,
            "move it aside or choose another state directory", (c, p, ct) => InitializeAsync(c, p, notice, ct), Advice, cancellationToken).ConfigureAwait(false);
        return new SqliteTlsReportStore(fullPath, connection, time);
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
    /// Stores <paramref name="reports"/> in one transaction and adds them to the per-day tables in it. With
    /// <paramref name="refuseAlone"/>, each report is written under a savepoint and a report whose rows SQLite refuses
    /// (a constraint, a value too big) is rolled back alone and returned with the reason; otherwise that throws.
    /// </summary>
    private async Task<IReadOnlyList<TlsRptStoreResult>> StoreAsync(IReadOnlyList<TlsRptStoredReport> reports, bool refuseAlone, CancellationToken cancellationToken)
    {
        var results = new TlsRptStoreResult[reports.Count];
        if (reports.Count == 0)
        {
            return results;
        }
        await _db.EnterAsync(cancellationToken).ConfigureAwait(false);
        var current = reports[0].Report.ReportId;
        try
        {
            using var transaction = _db.Connection.BeginTransaction();
            using var insert = new ReportInsert(_db, transaction, _time.GetUtcNow().ToUnixTimeMilliseconds(), AfterPolicyWritten);
            long first = 0, last = 0;
            for (var i = 0; i < reports.Count; i++)
            {
                ArgumentNullException.ThrowIfNull(reports[i]);
                current = reports[i].Report.ReportId;
                if (refuseAlone)
                {
                    await Savepoint("SAVEPOINT report").ConfigureAwait(false);
                }
                try
                {
                    if (await insert.RunAsync(reports[i], cancellationToken).ConfigureAwait(false) is { } row)
                    {
                        first = first == 0 ? row : first;
                        last = row;
                        results[i] = TlsRptStoreResult.Imported;
                    }
                    else
                    {
                        results[i] = TlsRptStoreResult.Duplicate;
                    }
                }
                catch (SqliteException ex) when (refuseAlone && IsRefusal(ex))
                {
                    await Savepoint("ROLLBACK TO report").ConfigureAwait(false);
                    results[i] = new TlsRptStoreResult(TlsRptStoreOutcome.Imported, "the store refused it: " + StateFiles.OneLine(ex.Message));
                }
                if (refuseAlone)
                {
                    await Savepoint("RELEASE report").ConfigureAwait(false);
                }
            }
            if (last != 0)
            {
                // Row ids of new reports are above every stored one and nobody else writes inside this transaction:
                // the range holds exactly the reports this batch stored.
                var range = string.Create(CultureInfo.InvariantCulture, $"r.id BETWEEN {first} AND {last}");
                foreach (var statement in TlsRptAggregateQueries.AddToDays(Dialect, range))
                {
                    using var add = Command(statement, transaction);
                    await add.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }
            }
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return results;

            async Task Savepoint(string sql)
            {
                using var command = Command(sql, transaction);
                await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch (SqliteException ex)
        {
            throw Fault($"cannot store report {current}", ex);
        }
        finally
        {
            _db.Exit();
        }
    }

    /// <summary>SQLite refuses this report's rows (a constraint, a value too big or of the wrong type), not the store as a whole.</summary>
    private static bool IsRefusal(SqliteException ex) => ex.SqliteErrorCode is 18 or 19 or 20 or 25;

    /// <summary>The three insert statements of a report, prepared once per batch.</summary>
    private sealed class ReportInsert : IDisposable
    {
        private static readonly string[] ReportNames = ["$org", "$id", "$start", "$end", "$contact", "$source", "$dkim", "$dkimDomain", "$dkimDetail", "$warnings", "$now"];
        private static readonly string[] PolicyNames = ["$report", "$ordinal", "$type", "$domain", "$strings", "$mx", "$ok", "$failed"];
        private static readonly string[] FailureNames = ["$policy", "$type", "$ip", "$mx", "$helo", "$rip", "$count", "$info", "$code"];

        private readonly SqliteCommand _report;
        private readonly SqliteCommand _policy;
        private readonly SqliteCommand _failure;
        private readonly long _now;
        private readonly Action<int>? _afterPolicy;

        public ReportInsert(SerializedConnection db, SqliteTransaction transaction, long now, Action<int>? afterPolicy)
        {
            _now = now;
            _afterPolicy = afterPolicy;
            _report = db.Command("""
                INSERT INTO tlsrpt_report (organization, report_id, start_ms, end_ms, contact_info, source, dkim, dkim_domain, dkim_detail, warnings, imported_ms)
                VALUES ($org, $id, $start, $end, $contact, $source, $dkim, $dkimDomain, $dkimDetail, $warnings, $now)
                ON CONFLICT (organization, report_id, start_ms, end_ms) DO NOTHING
                RETURNING id
                """, transaction);
            _policy = db.Command("""
                INSERT INTO tlsrpt_policy (report, ordinal, policy_type, policy_domain, policy_string, mx_host, successful, failed)
                VALUES ($report, $ordinal, $type, $domain, $strings, $mx, $ok, $failed)
                RETURNING id
                """, transaction);
            _failure = db.Command("""
                INSERT INTO tlsrpt_failure (policy, result_type, sending_mta_ip, receiving_mx_hostname, receiving_mx_helo, receiving_ip,
                                            failed_session_count, additional_information, failure_reason_code)
                VALUES ($policy, $type, $ip, $mx, $helo, $rip, $count, $info, $code)
                """, transaction);
        }

        /// <summary>Inserts the report, its policies and failure details; null when it is already stored (nothing written).</summary>
        public async Task<long?> RunAsync(TlsRptStoredReport report, CancellationToken cancellationToken)
        {
            var r = report.Report;
            var values = new object?[]
            {
                r.OrganizationName, r.ReportId, r.StartDatetime.ToUnixTimeMilliseconds(), r.EndDatetime.ToUnixTimeMilliseconds(), r.ContactInfo,
                report.Source, report.Dkim.StatusName, report.Dkim.Domain, report.Dkim.Detail, string.Join('\n', r.Warnings), _now,
            };
            Bind(_report, ReportNames, values);
            if (await _report.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not long reportRow)
            {
                return null;
            }
            for (var i = 0; i < r.Policies.Count; i++)
            {
                var p = r.Policies[i];
                Bind(_policy, ["$report", "$ordinal", "$type", "$domain", "$strings", "$mx", "$ok", "$failed"],
                    [reportRow, i, p.PolicyType, p.PolicyDomain, string.Join('\n', p.PolicyString), string.Join('\n', p.MxHosts),
                     p.TotalSuccessfulSessionCount, p.TotalFailureSessionCount]);
                var policyRow = (long)(await _policy.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
                foreach (var d in p.FailureDetails)
                {
                    Bind(_failure, ["$policy", "$type", "$ip", "$mx", "$helo", "$rip", "$count", "$info", "$code"],
                        [policyRow, d.ResultType, d.SendingMtaIp, d.ReceivingMxHostname, d.ReceivingMxHelo, d.ReceivingIp,
                         d.FailedSessionCount, d.AdditionalInformation, d.FailureReasonCode]);
                    await _failure.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }
                _afterPolicy?.Invoke(i);
            }
            return reportRow;
        }

        private static void Bind(SqliteCommand command, string[] names, object?[] values)
        {
            if (command.Parameters.Count == 0)
            {
                foreach (var name in names)
                {
                    command.Parameters.Add(new SqliteParameter { ParameterName = name });
                }
            }
            for (var i = 0; i < values.Length; i++)
            {
                command.Parameters[i].Value = values[i] ?? DBNull.Value;
            }
        }

        public void Dispose()
        {
            _report.Dispose();
            _policy.Dispose();
            _failure.Dispose();
        }
    }

    /// <inheritdoc/>
    public Task<TlsRptAggregates> AggregateAsync(TlsRptSummaryQuery query, CancellationToken cancellationToken) =>
        ReadAsync("cannot summarise", query, (q, ct) => TlsRptAggregateQueries.ReadAsync(Dialect.For(q), sql => Filtered(sql, q), q.Since is not null, q.CheckedTopItems, ct), cancellationToken);

    /// <inheritdoc/>
    public Task<TlsRptDaily> DailyAsync(TlsRptSummaryQuery query, CancellationToken cancellationToken) =>
        ReadAsync("cannot read the days", query, (q, ct) => TlsRptHistoryQueries.DailyAsync(Dialect.For(q), sql => Filtered(sql, q), q.Since is not null, ct), cancellationToken);

    /// <summary><see cref="AggregateAsync"/> computed from every stored failure detail instead of the per-day tables (tests).</summary>
    internal Task<TlsRptAggregates> ScanAggregateAsync(TlsRptSummaryQuery query, CancellationToken cancellationToken) =>
        ReadAsync("cannot summarise", query, (q, ct) => TlsRptAggregateQueries.ScanAsync(Dialect.For(q), sql => Filtered(sql, q), q.CheckedTopItems, ct), cancellationToken);

    /// <summary><see cref="DailyAsync"/> computed from every stored report instead of the per-day tables (tests).</summary>
    internal Task<TlsRptDaily> ScanDailyAsync(TlsRptSummaryQuery query, CancellationToken cancellationToken) =>
        ReadAsync("cannot read the days", query, (q, ct) => TlsRptHistoryQueries.ScanDailyAsync(Dialect.For(q), sql => Filtered(sql, q), ct), cancellationToken);

    /// <inheritdoc/>
    public Task<IReadOnlyList<TlsRptReportListing>> ListAsync(TlsRptSummaryQuery query, int limit, CancellationToken cancellationToken) =>
        ReadAsync("cannot list reports", query, (q, ct) => TlsRptHistoryQueries.ListAsync(Dialect.For(q), sql => Filtered(sql, q), limit, ct), cancellationToken);

    /// <inheritdoc/>
    public Task<TlsRptStoredReport?> ReadAsync(long key, CancellationToken cancellationToken) => ReadAsync(key, true, cancellationToken);

    /// <inheritdoc/>
    public Task<TlsRptStoredReport?> ReadWithoutFailureDetailsAsync(long key, CancellationToken cancellationToken) => ReadAsync(key, false, cancellationToken);

    private Task<TlsRptStoredReport?> ReadAsync(long key, bool failureDetails, CancellationToken cancellationToken) =>
        ReadAsync($"cannot read report {key}", new TlsRptSummaryQuery(),
            (q, ct) => TlsRptHistoryQueries.ReadAsync(Dialect, sql => Filtered(sql, q), key, failureDetails, ct), cancellationToken);

    private async Task<T> ReadAsync<T>(string what, TlsRptSummaryQuery query, Func<TlsRptSummaryQuery, CancellationToken, Task<T>> read, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        await _db.EnterAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await read(query, cancellationToken).ConfigureAwait(false);
        }
        catch (SqliteException ex)
        {
            throw Fault(what, ex);
        }
        finally
        {
            _db.Exit();
        }
    }

    /// <inheritdoc/>
    public Task<IReadOnlyDictionary<string, IReadOnlyList<TlsRptStoredReport>>> KnownFilesAsync(IReadOnlyCollection<string> sha256s, CancellationToken cancellationToken) =>
        ReadKnownAsync(sha256s, (command, hashes, ct) => TlsRptFileIndexQueries.ReadAsync(Dialect, command, hashes, ct), cancellationToken);

    /// <inheritdoc/>
    public Task<IReadOnlyDictionary<string, int>> KnownFileCountsAsync(IReadOnlyCollection<string> sha256s, CancellationToken cancellationToken) =>
        ReadKnownAsync(sha256s, (command, hashes, ct) => TlsRptFileIndexQueries.CountAsync(Dialect, command, hashes, ct), cancellationToken);

    /// <summary>Runs a read of the known-file index for <paramref name="sha256s"/>: a command with them bound, and the condition on <c>f.sha256</c> that selects them.</summary>
    private Task<T> ReadKnownAsync<T>(IReadOnlyCollection<string> sha256s, Func<Func<string, DbCommand>, string, CancellationToken, Task<T>> read, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(sha256s);
        var list = "[" + string.Join(",", sha256s.Select(h => "\"" + TlsRptFileIndexQueries.Checked(h) + "\"")) + "]";
        return ReadAsync("cannot read the known files", new TlsRptSummaryQuery(), (_, ct) => read(sql =>
        {
            var command = Command(sql);
            command.Parameters.AddWithValue("$hashes", list);
            return command;
        }, "f.sha256 IN (SELECT value FROM json_each($hashes))", ct), cancellationToken);
    }

    /// <inheritdoc/>
    public async Task RememberFilesAsync(IReadOnlyList<TlsRptKnownFile> files, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(files);
        await _db.EnterAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var transaction = _db.Connection.BeginTransaction();
            using var insert = Command("""
                INSERT INTO tlsrpt_file (sha256, ordinal, suffix, organization, report_id, start_ms, end_ms)
                VALUES ($sha, $ordinal, $suffix, $org, $id, $start, $end)
                ON CONFLICT (sha256, ordinal) DO NOTHING
                """, transaction);
            var names = new[] { "$sha", "$ordinal", "$suffix", "$org", "$id", "$start", "$end" };
            foreach (var name in names)
            {
                insert.Parameters.Add(new SqliteParameter { ParameterName = name });
            }
            foreach (var file in files)
            {
                for (var i = 0; i < file.Reports.Count; i++)
                {
                    var (suffix, r) = file.Reports[i];
                    object[] values = [TlsRptFileIndexQueries.Checked(file.Sha256), i, suffix, r.OrganizationName, r.ReportId,
                        r.StartDatetime.ToUnixTimeMilliseconds(), r.EndDatetime.ToUnixTimeMilliseconds()];
                    for (var k = 0; k < values.Length; k++)
                    {
                        insert.Parameters[k].Value = values[k];
                    }
                    await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }
            }
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (SqliteException ex)
        {
            throw Fault("cannot remember the imported files", ex);
        }
        finally
        {
            _db.Exit();
        }
    }

    /// <summary>How many reports, policies and failure-details rows are stored (tests, diagnostics).</summary>
    internal async Task<(long Reports, long Policies, long Failures)> CountRowsAsync(CancellationToken cancellationToken)
    {
        await _db.EnterAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var count = Command("SELECT (SELECT COUNT(*) FROM tlsrpt_report), (SELECT COUNT(*) FROM tlsrpt_policy), (SELECT COUNT(*) FROM tlsrpt_failure)");
            using var reader = await count.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            return (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2));
        }
        finally
        {
            _db.Exit();
        }
    }

    private SqliteCommand Filtered(string sql, TlsRptSummaryQuery query)
    {
        var command = Command(sql);
        command.Parameters.AddWithValue("$domain", (object?)TlsRptAggregateQueries.Domain(query) ?? DBNull.Value);
        command.Parameters.AddWithValue("$since", (object?)query.Since?.ToUnixTimeMilliseconds() ?? DBNull.Value);
        var (day, next) = TlsRptAggregateQueries.SinceDay(query);
        command.Parameters.AddWithValue("$sinceDay", (object?)day ?? DBNull.Value);
        command.Parameters.AddWithValue("$sinceNext", (object?)next?.ToUnixTimeMilliseconds() ?? DBNull.Value);
        return command;
    }

    private SqliteCommand Command(string sql, SqliteTransaction? transaction = null) => _db.Command(sql, transaction);

    // One row per report (the de-duplication key is UNIQUE), per policy, per failure-details entry. Text lists
    // (policy-string, mx-host) are joined with newlines, which none of their entries can hold. The per-day tables sum
    // them per policy domain, reporter, start day and end day (TlsRptAggregateQueries), in the transaction that stores
    // the reports; a version 1 store gets them filled from its reports, once, when opened. The per-domain item tables sum
    // MX hosts and sending IPs over all time, for a summary's top N (TlsRptAggregateQueries); a version 2 store gets
    // them filled from its per-day failure table.
    private static Task InitializeAsync(SqliteConnection connection, string path, Action<string>? notice, CancellationToken cancellationToken) =>
        StateFiles.CreateSchemaAsync(connection, "TLS-RPT store", path, "tlsrpt_schema_version", SchemaVersion, ["PRAGMA foreign_keys = ON", $"PRAGMA cache_size = -{CacheKiB}"], """
            CREATE TABLE IF NOT EXISTS tlsrpt_report (
                id           INTEGER PRIMARY KEY,
                organization TEXT    NOT NULL,
                report_id    TEXT    NOT NULL,
                start_ms     INTEGER NOT NULL,
                end_ms       INTEGER NOT NULL,
                contact_info TEXT,
                source       TEXT    NOT NULL,
                dkim         TEXT    NOT NULL,
                dkim_domain  TEXT,
                dkim_detail  TEXT,
                warnings     TEXT    NOT NULL,
                imported_ms  INTEGER NOT NULL,
                UNIQUE (organization, report_id, start_ms, end_ms)
            );
            CREATE INDEX IF NOT EXISTS tlsrpt_report_end ON tlsrpt_report (end_ms);
            CREATE TABLE IF NOT EXISTS tlsrpt_policy (
                id            INTEGER PRIMARY KEY,
                report        INTEGER NOT NULL REFERENCES tlsrpt_report (id) ON DELETE CASCADE,
                ordinal       INTEGER NOT NULL,
                policy_type   TEXT    NOT NULL,
                policy_domain TEXT    NOT NULL,
                policy_string TEXT    NOT NULL,
                mx_host       TEXT    NOT NULL,
                successful    INTEGER NOT NULL,
                failed        INTEGER NOT NULL
            );
            CREATE INDEX IF NOT EXISTS tlsrpt_policy_report ON tlsrpt_policy (report);
            CREATE INDEX IF NOT EXISTS tlsrpt_policy_domain ON tlsrpt_policy (policy_domain);
            CREATE TABLE IF NOT EXISTS tlsrpt_failure (
                policy                 INTEGER NOT NULL REFERENCES tlsrpt_policy (id) ON DELETE CASCADE,
                result_type            TEXT    NOT NULL,
                sending_mta_ip         TEXT,
                receiving_mx_hostname  TEXT,
                receiving_mx_helo      TEXT,
                receiving_ip           TEXT,
                failed_session_count   INTEGER NOT NULL,
                additional_information TEXT,
                failure_reason_code    TEXT
            );
            CREATE INDEX IF NOT EXISTS tlsrpt_failure_policy ON tlsrpt_failure (policy);
            CREATE TABLE IF NOT EXISTS tlsrpt_day (
                policy_domain TEXT    NOT NULL,
                organization  TEXT    NOT NULL,
                start_day     TEXT    NOT NULL,
                end_day       TEXT    NOT NULL,
                reports       INTEGER NOT NULL,
                successful    INTEGER NOT NULL,
                failed        INTEGER NOT NULL,
                first_start   INTEGER NOT NULL,
                last_end      INTEGER NOT NULL,
                PRIMARY KEY (policy_domain, organization, start_day, end_day)
            ) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS tlsrpt_day_failure (
                dimension     INTEGER NOT NULL,
                policy_domain TEXT    NOT NULL,
                organization  TEXT    NOT NULL,
                item          TEXT    NOT NULL,
                start_day     TEXT    NOT NULL,
                end_day       TEXT    NOT NULL,
                sessions      INTEGER NOT NULL,
                PRIMARY KEY (dimension, policy_domain, organization, item, start_day, end_day)
            ) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS tlsrpt_file (
                sha256       TEXT    NOT NULL,
                ordinal      INTEGER NOT NULL,
                suffix       TEXT    NOT NULL,
                organization TEXT    NOT NULL,
                report_id    TEXT    NOT NULL,
                start_ms     INTEGER NOT NULL,
                end_ms       INTEGER NOT NULL,
                PRIMARY KEY (sha256, ordinal)
            ) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS tlsrpt_item (
                dimension     INTEGER NOT NULL,
                policy_domain TEXT    NOT NULL,
                item          TEXT    NOT NULL,
                sessions      INTEGER NOT NULL,
                PRIMARY KEY (dimension, policy_domain, item)
            ) WITHOUT ROWID;
            CREATE INDEX IF NOT EXISTS tlsrpt_item_top ON tlsrpt_item (dimension, policy_domain, sessions DESC, item);
            CREATE TABLE IF NOT EXISTS tlsrpt_item_domain (
                dimension     INTEGER NOT NULL,
                policy_domain TEXT    NOT NULL,
                items         INTEGER NOT NULL,
                sessions      INTEGER NOT NULL,
                PRIMARY KEY (dimension, policy_domain)
            ) WITHOUT ROWID;
            """, cancellationToken, async (old, ct) =>
            {
                var clock = System.Diagnostics.Stopwatch.StartNew();
                notice?.Invoke(old < 2
                    ? $"TLS-RPT store {path}: schema version 1: computing the per-day sums from its reports, once (a few seconds per 100,000 reports)"
                    : $"TLS-RPT store {path}: schema version {old}: computing the per-domain MX and sending IP sums from the per-day sums, once");
                foreach (var statement in old < 2 ? TlsRptAggregateQueries.AddToDays(Dialect, "1 = 1") : TlsRptAggregateQueries.FillItemsFromDays())
                {
                    await StateFiles.ExecuteAsync(connection, statement, ct).ConfigureAwait(false);
                }
                notice?.Invoke(string.Create(CultureInfo.InvariantCulture, $"TLS-RPT store {path}: sums computed in {clock.Elapsed.TotalSeconds:0.0} s"));
            });

    private RampartException Fault(string what, SqliteException ex) => StateFiles.Fault("TLS-RPT store", Location, what, ex, Advice(ex, Location));

    private static string Advice(SqliteException ex, string path) =>
        StateFiles.Advice(ex, path, "move it aside and import the reports again", "try again when it is done");

    public ValueTask DisposeAsync() => _db.DisposeAsync();
}
