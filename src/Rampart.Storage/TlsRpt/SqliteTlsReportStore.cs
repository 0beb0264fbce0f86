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
/// One report is one transaction: its row, its policies and every failure detail are committed together or not at all,
/// so a crash or a fault mid-import leaves no half report behind (WAL journal). A report already stored (same
/// organization-name, report-id and date range, RFC 8460 §4.4) is not stored again: <see cref="TlsRptStoreOutcome.Duplicate"/>.
/// </para>
/// <para>
/// WAL with synchronous=NORMAL: a process crash loses nothing committed; an OS crash may lose the last commits, which
/// importing the same files again restores (imports are idempotent). Times are Unix milliseconds, UTC.
/// </para>
/// <para>One connection used by one caller at a time; other processes may read the file while it is written.</para>
/// </remarks>
public sealed class SqliteTlsReportStore : ITlsReportStore, ITlsReportHistory
{
    /// <summary>The file name inside the state directory.</summary>
    public const string FileName = "tlsrpt.sqlite";

    internal const int SchemaVersion = 1;

    /// <summary>Times are Unix milliseconds; policies have a row id the failure details refer to.</summary>
    private static readonly TlsRptSqlDialect Dialect = new(
        Where: "($domain IS NULL OR p.policy_domain = $domain) AND ($since IS NULL OR r.end_ms >= $since)",
        StartColumn: "start_ms",
        EndColumn: "end_ms",
        FailureJoin: "p.id = f.policy",
        ReadTime: (reader, column) => DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(column)),
        StartDay: "date(r.start_ms / 1000, 'unixepoch')",
        PolicyDomains: "group_concat(DISTINCT p.policy_domain)");

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
        OpenAsync(Path.Combine(stateDirectory, FileName), time, cancellationToken);

    /// <summary>Opens the store at <paramref name="path"/>, creating it and its directory (mode 0700 on Unix) when missing.</summary>
    /// <exception cref="RampartException">The file cannot be used; the message is one line naming the file and what to do.</exception>
    public static async Task<SqliteTlsReportStore> OpenAsync(string path, TimeProvider time, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(time);
        var (fullPath, connection) = await StateFiles.OpenDatabaseAsync(path, "TLS-RPT store", 30,
            "move it aside or choose another state directory", InitializeAsync, Advice, cancellationToken).ConfigureAwait(false);
        return new SqliteTlsReportStore(fullPath, connection, time);
    }

    /// <inheritdoc/>
    public async Task<TlsRptStoreOutcome> AddAsync(TlsRptStoredReport report, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(report);
        var r = report.Report;
        await _db.EnterAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var transaction = _db.Connection.BeginTransaction();
            long reportRow;
            using (var insert = Command("""
                INSERT INTO tlsrpt_report (organization, report_id, start_ms, end_ms, contact_info, source, dkim, dkim_domain, dkim_detail, warnings, imported_ms)
                VALUES ($org, $id, $start, $end, $contact, $source, $dkim, $dkimDomain, $dkimDetail, $warnings, $now)
                ON CONFLICT (organization, report_id, start_ms, end_ms) DO NOTHING
                RETURNING id
                """, transaction))
            {
                insert.Parameters.AddWithValue("$org", r.OrganizationName);
                insert.Parameters.AddWithValue("$id", r.ReportId);
                insert.Parameters.AddWithValue("$start", r.StartDatetime.ToUnixTimeMilliseconds());
                insert.Parameters.AddWithValue("$end", r.EndDatetime.ToUnixTimeMilliseconds());
                insert.Parameters.AddWithValue("$contact", (object?)r.ContactInfo ?? DBNull.Value);
                insert.Parameters.AddWithValue("$source", report.Source);
                insert.Parameters.AddWithValue("$dkim", report.Dkim.StatusName);
                insert.Parameters.AddWithValue("$dkimDomain", (object?)report.Dkim.Domain ?? DBNull.Value);
                insert.Parameters.AddWithValue("$dkimDetail", (object?)report.Dkim.Detail ?? DBNull.Value);
                insert.Parameters.AddWithValue("$warnings", string.Join('\n', r.Warnings));
                insert.Parameters.AddWithValue("$now", _time.GetUtcNow().ToUnixTimeMilliseconds());
                if (await insert.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not long id)
                {
                    await transaction.RollbackAsync(cancellationToken).ConfigureAwait(false);
                    return TlsRptStoreOutcome.Duplicate;
                }
                reportRow = id;
            }

            using var policy = Command("""
                INSERT INTO tlsrpt_policy (report, ordinal, policy_type, policy_domain, policy_string, mx_host, successful, failed)
                VALUES ($report, $ordinal, $type, $domain, $strings, $mx, $ok, $failed)
                RETURNING id
                """, transaction);
            var pReport = policy.Parameters.Add("$report", SqliteType.Integer);
            var pOrdinal = policy.Parameters.Add("$ordinal", SqliteType.Integer);
            var pType = policy.Parameters.Add("$type", SqliteType.Text);
            var pDomain = policy.Parameters.Add("$domain", SqliteType.Text);
            var pStrings = policy.Parameters.Add("$strings", SqliteType.Text);
            var pMx = policy.Parameters.Add("$mx", SqliteType.Text);
            var pOk = policy.Parameters.Add("$ok", SqliteType.Integer);
            var pFailed = policy.Parameters.Add("$failed", SqliteType.Integer);

            using var failure = Command("""
                INSERT INTO tlsrpt_failure (policy, result_type, sending_mta_ip, receiving_mx_hostname, receiving_mx_helo, receiving_ip,
                                            failed_session_count, additional_information, failure_reason_code)
                VALUES ($policy, $type, $ip, $mx, $helo, $rip, $count, $info, $code)
                """, transaction);
            var fPolicy = failure.Parameters.Add("$policy", SqliteType.Integer);
            var fType = failure.Parameters.Add("$type", SqliteType.Text);
            var fIp = failure.Parameters.Add("$ip", SqliteType.Text);
            var fMx = failure.Parameters.Add("$mx", SqliteType.Text);
            var fHelo = failure.Parameters.Add("$helo", SqliteType.Text);
            var fRip = failure.Parameters.Add("$rip", SqliteType.Text);
            var fCount = failure.Parameters.Add("$count", SqliteType.Integer);
            var fInfo = failure.Parameters.Add("$info", SqliteType.Text);
            var fCode = failure.Parameters.Add("$code", SqliteType.Text);

            for (var i = 0; i < r.Policies.Count; i++)
            {
                var p = r.Policies[i];
                pReport.Value = reportRow;
                pOrdinal.Value = i;
                pType.Value = p.PolicyType;
                pDomain.Value = p.PolicyDomain;
                pStrings.Value = string.Join('\n', p.PolicyString);
                pMx.Value = string.Join('\n', p.MxHosts);
                pOk.Value = p.TotalSuccessfulSessionCount;
                pFailed.Value = p.TotalFailureSessionCount;
                var policyRow = (long)(await policy.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
                foreach (var d in p.FailureDetails)
                {
                    fPolicy.Value = policyRow;
                    fType.Value = d.ResultType;
                    fIp.Value = (object?)d.SendingMtaIp ?? DBNull.Value;
                    fMx.Value = (object?)d.ReceivingMxHostname ?? DBNull.Value;
                    fHelo.Value = (object?)d.ReceivingMxHelo ?? DBNull.Value;
                    fRip.Value = (object?)d.ReceivingIp ?? DBNull.Value;
                    fCount.Value = d.FailedSessionCount;
                    fInfo.Value = (object?)d.AdditionalInformation ?? DBNull.Value;
                    fCode.Value = (object?)d.FailureReasonCode ?? DBNull.Value;
                    await failure.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }
                AfterPolicyWritten?.Invoke(i);
            }
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return TlsRptStoreOutcome.Imported;
        }
        catch (SqliteException ex)
        {
            throw Fault($"cannot store report {r.ReportId}", ex);
        }
        finally
        {
            _db.Exit();
        }
    }

    /// <inheritdoc/>
    public Task<TlsRptAggregates> AggregateAsync(TlsRptSummaryQuery query, CancellationToken cancellationToken) =>
        ReadAsync("cannot summarise", query, (q, ct) => TlsRptAggregateQueries.ReadAsync(Dialect, sql => Filtered(sql, q), ct), cancellationToken);

    /// <inheritdoc/>
    public Task<TlsRptDaily> DailyAsync(TlsRptSummaryQuery query, CancellationToken cancellationToken) =>
        ReadAsync("cannot read the days", query, (q, ct) => TlsRptHistoryQueries.DailyAsync(Dialect, sql => Filtered(sql, q), ct), cancellationToken);

    /// <inheritdoc/>
    public Task<IReadOnlyList<TlsRptReportListing>> ListAsync(TlsRptSummaryQuery query, int limit, CancellationToken cancellationToken) =>
        ReadAsync("cannot list reports", query, (q, ct) => TlsRptHistoryQueries.ListAsync(Dialect, sql => Filtered(sql, q), limit, ct), cancellationToken);

    /// <inheritdoc/>
    public Task<TlsRptStoredReport?> ReadAsync(long key, CancellationToken cancellationToken) =>
        ReadAsync($"cannot read report {key}", new TlsRptSummaryQuery(),
            (q, ct) => TlsRptHistoryQueries.ReadAsync(Dialect, sql => Filtered(sql, q), key, ct), cancellationToken);

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
        return command;
    }

    private SqliteCommand Command(string sql, SqliteTransaction? transaction = null) => _db.Command(sql, transaction);

    // One row per report (the de-duplication key is UNIQUE), per policy, per failure-details entry. Text lists
    // (policy-string, mx-host) are joined with newlines, which none of their entries can hold.
    private static Task InitializeAsync(SqliteConnection connection, string path, CancellationToken cancellationToken) =>
        StateFiles.CreateSchemaAsync(connection, "TLS-RPT store", path, "tlsrpt_schema_version", SchemaVersion, ["PRAGMA foreign_keys = ON"], """
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
            """, cancellationToken);

    private RampartException Fault(string what, SqliteException ex) => StateFiles.Fault("TLS-RPT store", Location, what, ex, Advice(ex, Location));

    private static string Advice(SqliteException ex, string path) =>
        StateFiles.Advice(ex, path, "move it aside and import the reports again", "try again when it is done");

    public ValueTask DisposeAsync() => _db.DisposeAsync();
}
