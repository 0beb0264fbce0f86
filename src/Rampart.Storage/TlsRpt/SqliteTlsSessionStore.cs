using Microsoft.Data.Sqlite;
using Rampart.Core;
using Rampart.Core.TlsRpt;

namespace Rampart.Storage.TlsRpt;

/// <summary>
/// The embedded store of our own sessions' TLS outcomes: one SQLite file (<c>&lt;stateDir&gt;/tlsrpt-sessions.sqlite</c>)
/// with counts per UTC day, report domain, TLSRPT record and policy, and per distinct failure under each.
/// </summary>
/// <remarks>
/// <para>
/// A batch is one transaction (WAL, synchronous=NORMAL): once <see cref="AddAsync"/> returns, its counts survive a kill
/// of the process; a batch cut short by one counts nothing. Results are summed inside the batch before they are written,
/// so a burst of alike sessions is a few row updates.
/// </para>
/// <para>
/// A policy row is keyed by the day, the report domain and a SHA-256 over the record and the policy (type, domain,
/// strings, mx patterns); a failure row by its policy row and a SHA-256 over its fields. Lists are stored as JSON
/// arrays, so any string survives. Record keys (<see cref="TlsSessionEntry.RecordKey"/>) are kept per source with their
/// day and purged with it.
/// </para>
/// </remarks>
public sealed class SqliteTlsSessionStore : ITlsSessionStore
{
    /// <summary>The file name inside the state directory.</summary>
    public const string FileName = "tlsrpt-sessions.sqlite";

    internal const int SchemaVersion = 1;

    private readonly SerializedConnection _db;
    private readonly TimeProvider _time;

    private SqliteTlsSessionStore(string path, SqliteConnection connection, TimeProvider time)
    {
        Location = path;
        _db = new SerializedConnection(connection, typeof(SqliteTlsSessionStore).FullName!);
        _time = time;
    }

    /// <summary>The database file (full path).</summary>
    public string Location { get; }

    /// <summary>The path of the store in <paramref name="stateDirectory"/>.</summary>
    public static string PathIn(string stateDirectory) => Path.Combine(stateDirectory, FileName);

    /// <summary>Opens (creating when missing) the store at <paramref name="path"/>, and its directory (mode 0700 on Unix).</summary>
    /// <exception cref="RampartException">The file cannot be used; the message is one line naming the file and what to do.</exception>
    public static async Task<SqliteTlsSessionStore> OpenAsync(string path, TimeProvider time, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(time);
        var (fullPath, connection) = await StateFiles.OpenDatabaseAsync(path, "TLS-RPT session store", 30,
            "move it aside or choose another state directory", InitializeAsync, Advice, cancellationToken).ConfigureAwait(false);
        return new SqliteTlsSessionStore(fullPath, connection, time);
    }

    /// <inheritdoc/>
    public Task<int> AddAsync(string source, IReadOnlyList<TlsSessionEntry> entries, string? cursor, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(source);
        ArgumentNullException.ThrowIfNull(entries);
        return UseAsync("cannot count session results", async () =>
        {
            using var transaction = _db.Connection.BeginTransaction();
            var sums = new TlsSessionBatchSums();
            using (var record = Command("""
                INSERT INTO tlsrpt_session_record (source, record_key, day) VALUES ($source, $key, $day)
                ON CONFLICT DO NOTHING RETURNING 1
                """, transaction))
            {
                var rSource = record.Parameters.AddWithValue("$source", source);
                var rKey = record.Parameters.Add("$key", SqliteType.Text);
                var rDay = record.Parameters.Add("$day", SqliteType.Text);
                foreach (var (result, recordKey) in entries)
                {
                    if (recordKey is not null)
                    {
                        rKey.Value = recordKey;
                        rDay.Value = TlsSessionKeys.DayText(result.Day);
                        if (await record.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is null)
                        {
                            continue; // counted before
                        }
                    }
                    sums.Add(result);
                }
            }

            using var policy = Command("""
                INSERT INTO tlsrpt_session_policy (day, report_domain, policy_key, tlsrpt_record, policy_type, policy_domain, policy_string, mx_host, successful, failed)
                VALUES ($day, $domain, $key, $record, $type, $policyDomain, $strings, $mx, $ok, $failed)
                ON CONFLICT (day, report_domain, policy_key) DO UPDATE SET successful = successful + excluded.successful, failed = failed + excluded.failed
                RETURNING id
                """, transaction);
            var pDay = policy.Parameters.Add("$day", SqliteType.Text);
            var pDomain = policy.Parameters.Add("$domain", SqliteType.Text);
            var pKey = policy.Parameters.Add("$key", SqliteType.Blob);
            var pRecord = policy.Parameters.Add("$record", SqliteType.Text);
            var pType = policy.Parameters.Add("$type", SqliteType.Text);
            var pPolicyDomain = policy.Parameters.Add("$policyDomain", SqliteType.Text);
            var pStrings = policy.Parameters.Add("$strings", SqliteType.Text);
            var pMx = policy.Parameters.Add("$mx", SqliteType.Text);
            var pOk = policy.Parameters.Add("$ok", SqliteType.Integer);
            var pFailed = policy.Parameters.Add("$failed", SqliteType.Integer);

            using var failure = Command("""
                INSERT INTO tlsrpt_session_failure (policy, failure_key, result_type, sending_mta_ip, receiving_mx_hostname, receiving_mx_helo,
                                                    receiving_ip, additional_information, failure_reason_code, sessions)
                VALUES ($policy, $key, $type, $ip, $mx, $helo, $rip, $info, $code, $sessions)
                ON CONFLICT (policy, failure_key) DO UPDATE SET sessions = sessions + excluded.sessions
                """, transaction);
            var fPolicy = failure.Parameters.Add("$policy", SqliteType.Integer);
            var fKey = failure.Parameters.Add("$key", SqliteType.Blob);
            var fType = failure.Parameters.Add("$type", SqliteType.Text);
            var fIp = failure.Parameters.Add("$ip", SqliteType.Text);
            var fMx = failure.Parameters.Add("$mx", SqliteType.Text);
            var fHelo = failure.Parameters.Add("$helo", SqliteType.Text);
            var fRip = failure.Parameters.Add("$rip", SqliteType.Text);
            var fInfo = failure.Parameters.Add("$info", SqliteType.Text);
            var fCode = failure.Parameters.Add("$code", SqliteType.Text);
            var fSessions = failure.Parameters.Add("$sessions", SqliteType.Integer);

            foreach (var ((day, domain, key), row) in sums.Rows)
            {
                var p = row.Sample.Policy;
                pDay.Value = day;
                pDomain.Value = domain;
                pKey.Value = Convert.FromHexString(key);
                pRecord.Value = (object?)row.Sample.TlsRptRecord ?? DBNull.Value;
                pType.Value = p.PolicyType;
                pPolicyDomain.Value = (object?)p.PolicyDomain ?? DBNull.Value;
                pStrings.Value = TlsSessionKeys.JsonList(p.PolicyStrings);
                pMx.Value = TlsSessionKeys.JsonList(p.MxHostPatterns);
                pOk.Value = row.Successful;
                pFailed.Value = row.Failed;
                var policyRow = (long)(await policy.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
                foreach (var (failureKey, (f, sessions)) in row.Failures)
                {
                    fPolicy.Value = policyRow;
                    fKey.Value = Convert.FromHexString(failureKey);
                    fType.Value = f.ResultType;
                    fIp.Value = (object?)f.SendingMtaIp ?? DBNull.Value;
                    fMx.Value = (object?)f.ReceivingMxHostname ?? DBNull.Value;
                    fHelo.Value = (object?)f.ReceivingMxHelo ?? DBNull.Value;
                    fRip.Value = (object?)f.ReceivingIp ?? DBNull.Value;
                    fInfo.Value = (object?)f.AdditionalInformation ?? DBNull.Value;
                    fCode.Value = (object?)f.FailureReasonCode ?? DBNull.Value;
                    fSessions.Value = sessions;
                    await failure.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }
            }

            if (cursor is not null)
            {
                using var position = Command("""
                    INSERT INTO tlsrpt_session_cursor (source, cursor, updated_ms) VALUES ($source, $cursor, $now)
                    ON CONFLICT (source) DO UPDATE SET cursor = excluded.cursor, updated_ms = excluded.updated_ms
                    """, transaction);
                position.Parameters.AddWithValue("$source", source);
                position.Parameters.AddWithValue("$cursor", cursor);
                position.Parameters.AddWithValue("$now", _time.GetUtcNow().ToUnixTimeMilliseconds());
                await position.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return sums.Counted;
        }, cancellationToken);
    }

    /// <inheritdoc/>
    public Task<string?> ReadCursorAsync(string source, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(source);
        return UseAsync("cannot read a source's position", async () =>
        {
            using var command = Command("SELECT cursor FROM tlsrpt_session_cursor WHERE source = $source");
            command.Parameters.AddWithValue("$source", source);
            return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as string;
        }, cancellationToken);
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<DateOnly>> DaysAsync(CancellationToken cancellationToken)
    {
        return UseAsync<IReadOnlyList<DateOnly>>("cannot list the days", async () =>
        {
            using var command = Command("SELECT DISTINCT day FROM tlsrpt_session_policy ORDER BY day");
            using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            var days = new List<DateOnly>();
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                days.Add(TlsSessionKeys.ParseDay(reader.GetString(0)));
            }
            return days;
        }, cancellationToken);
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<TlsSessionDayPolicy>> ReadDayAsync(DateOnly day, string? reportDomain, CancellationToken cancellationToken)
    {
        return UseAsync<IReadOnlyList<TlsSessionDayPolicy>>("cannot read a day", async () =>
        {
            const string Where = "p.day = $day AND ($domain IS NULL OR p.report_domain = $domain)";
            Dictionary<long, List<TlsSessionFailureCount>> failures;
            using (var command = Command($"""
                SELECT f.policy, f.result_type, f.sending_mta_ip, f.receiving_mx_hostname, f.receiving_mx_helo, f.receiving_ip,
                       f.additional_information, f.failure_reason_code, f.sessions
                FROM tlsrpt_session_failure f JOIN tlsrpt_session_policy p ON p.id = f.policy
                WHERE {Where}
                ORDER BY f.policy, f.sessions DESC, f.result_type
                """))
            {
                Filter(command, day, reportDomain);
                using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                failures = await TlsSessionKeys.ReadFailuresAsync(reader, cancellationToken).ConfigureAwait(false);
            }
            List<TlsSessionDayPolicy> policies;
            using (var command = Command($"""
                SELECT p.id, p.report_domain, p.tlsrpt_record, p.policy_type, p.policy_domain, p.policy_string, p.mx_host, p.successful, p.failed
                FROM tlsrpt_session_policy p
                WHERE {Where}
                ORDER BY p.report_domain, p.id
                """))
            {
                Filter(command, day, reportDomain);
                using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                policies = await TlsSessionKeys.ReadPoliciesAsync(reader, day, failures, cancellationToken).ConfigureAwait(false);
            }
            return policies;
        }, cancellationToken);
    }

    /// <inheritdoc/>
    public Task<int> PurgeBeforeAsync(DateOnly day, CancellationToken cancellationToken)
    {
        return UseAsync("cannot purge old days", async () =>
        {
            using var transaction = _db.Connection.BeginTransaction();
            using var purge = Command("""
                DELETE FROM tlsrpt_session_failure WHERE policy IN (SELECT id FROM tlsrpt_session_policy WHERE day < $day);
                DELETE FROM tlsrpt_session_record WHERE day < $day;
                """, transaction);
            purge.Parameters.AddWithValue("$day", TlsSessionKeys.DayText(day));
            await purge.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            using var policies = Command("DELETE FROM tlsrpt_session_policy WHERE day < $day", transaction);
            policies.Parameters.AddWithValue("$day", TlsSessionKeys.DayText(day));
            var removed = await policies.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return removed;
        }, cancellationToken);
    }

    public ValueTask DisposeAsync() => _db.DisposeAsync();

    private static void Filter(SqliteCommand command, DateOnly day, string? reportDomain)
    {
        command.Parameters.AddWithValue("$day", TlsSessionKeys.DayText(day));
        command.Parameters.AddWithValue("$domain", (object?)reportDomain ?? DBNull.Value);
    }

    private SqliteCommand Command(string sql, SqliteTransaction? transaction = null) => _db.Command(sql, transaction);

    /// <summary>Runs <paramref name="body"/> holding the connection; a SQLite fault becomes one line saying <paramref name="what"/> failed.</summary>
    private Task<T> UseAsync<T>(string what, Func<Task<T>> body, CancellationToken cancellationToken) =>
        _db.UseAsync(body, ex => StateFiles.Fault("TLS-RPT session store", Location, what, ex, Advice(ex, Location)), cancellationToken);

    private static Task InitializeAsync(SqliteConnection connection, string path, CancellationToken cancellationToken) =>
        StateFiles.CreateSchemaAsync(connection, "TLS-RPT session store", path, "tlsrpt_session_schema_version", SchemaVersion, [], """
            CREATE TABLE IF NOT EXISTS tlsrpt_session_policy (
                id            INTEGER PRIMARY KEY,
                day           TEXT    NOT NULL,
                report_domain TEXT    NOT NULL,
                policy_key    BLOB    NOT NULL,
                tlsrpt_record TEXT,
                policy_type   TEXT    NOT NULL,
                policy_domain TEXT,
                policy_string TEXT    NOT NULL,
                mx_host       TEXT    NOT NULL,
                successful    INTEGER NOT NULL,
                failed        INTEGER NOT NULL,
                UNIQUE (day, report_domain, policy_key)
            );
            CREATE TABLE IF NOT EXISTS tlsrpt_session_failure (
                policy                 INTEGER NOT NULL,
                failure_key            BLOB    NOT NULL,
                result_type            TEXT    NOT NULL,
                sending_mta_ip         TEXT,
                receiving_mx_hostname  TEXT,
                receiving_mx_helo      TEXT,
                receiving_ip           TEXT,
                additional_information TEXT,
                failure_reason_code    TEXT,
                sessions               INTEGER NOT NULL,
                PRIMARY KEY (policy, failure_key)
            ) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS tlsrpt_session_record (
                source     TEXT NOT NULL,
                record_key TEXT NOT NULL,
                day        TEXT NOT NULL,
                PRIMARY KEY (source, record_key)
            ) WITHOUT ROWID;
            CREATE INDEX IF NOT EXISTS tlsrpt_session_record_day ON tlsrpt_session_record (day);
            CREATE TABLE IF NOT EXISTS tlsrpt_session_cursor (
                source     TEXT    PRIMARY KEY,
                cursor     TEXT    NOT NULL,
                updated_ms INTEGER NOT NULL
            );
            """, cancellationToken);

    private static string Advice(SqliteException ex, string path) =>
        StateFiles.Advice(ex, path, "move it aside (the day's counts so far are lost)", "try again when it is done");
}
