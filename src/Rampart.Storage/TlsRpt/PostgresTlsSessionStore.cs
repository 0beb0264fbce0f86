using System.Globalization;
using Npgsql;
using NpgsqlTypes;
using Rampart.Core;
using Rampart.Core.TlsRpt;

namespace Rampart.Storage.TlsRpt;

/// <summary>
/// The session store of a fleet: every MTA's daemon (and <c>rampart tlsrpt ingest-log</c>) adds into the same PostgreSQL
/// tables, so the counts per UTC day, report domain, TLSRPT record and policy are the fleet's, and one report per
/// policy domain and day comes out of it, not one per host. The same shape and answers as <see cref="SqliteTlsSessionStore"/>.
/// </summary>
/// <remarks>
/// <para>
/// <b>Hosts.</b> The store is opened as one host of the fleet (<c>tlsrpt_reporting.host</c>, by default the machine's
/// name). Record keys (<see cref="TlsSessionEntry.RecordKey"/>) and source cursors are kept per host: two hosts'
/// identical log lines are two sessions and both count, while a replay of one host's line (a restart, an
/// <c>ingest-log</c> of the same file) does not count again.
/// </para>
/// <para>
/// <b>A batch is one transaction</b> of three statements (the new record keys, the policy rows' sums, the failure
/// rows' sums, each one statement over arrays) and the cursor: it counts whole or not at all and survives a crash of
/// the daemon or of the server once committed. Sums are added with <c>INSERT … ON CONFLICT DO UPDATE</c>, so hosts
/// adding at once wait for one another's row locks, never lose an update; rows are written in key order, so two
/// batches lock them alike (no deadlock between them).
/// </para>
/// </remarks>
public sealed class PostgresTlsSessionStore : ITlsSessionStore
{
    internal const int SchemaVersion = 1;

    /// <summary>The advisory lock held while the schema is checked and created ("RAMPSESS").</summary>
    private const long SchemaLock = 0x52414D50_53455353;

    private const string Subject = "TLS-RPT session store";

    /// <summary>The longest host name a store is opened as.</summary>
    public const int MaxHostLength = 253;

    private readonly NpgsqlDataSource _dataSource;
    private readonly PostgresStoreAddress _address;
    private readonly string _host;
    private readonly TimeProvider _time;
    private int _disposed;

    private PostgresTlsSessionStore(NpgsqlDataSource dataSource, PostgresStoreAddress address, string host, TimeProvider time)
    {
        _dataSource = dataSource;
        _address = address;
        _host = host;
        _time = time;
    }

    /// <summary>The server, user and database (never the password), and the host the store is opened as.</summary>
    public string Location => $"{_address.Location} (host {_host})";

    /// <summary>The fleet member this store adds as.</summary>
    public string Host => _host;

    /// <summary>Connects to the database named by <paramref name="url"/> as fleet member <paramref name="host"/> and creates the tables when missing.</summary>
    /// <exception cref="RampartException">
    /// The URL or host name is unusable, the server cannot be reached in time, refuses the user, or the schema is newer
    /// than this Rampart; one line naming the server (never the password) and what to do.
    /// </exception>
    public static async Task<PostgresTlsSessionStore> OpenAsync(string url, string host, TimeProvider time, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(url);
        ArgumentNullException.ThrowIfNull(time);
        var address = PostgresStoreAddress.Parse(url);
        if (HostProblem(host) is { } problem)
        {
            throw new RampartException($"{Subject} {address.Location}: host name '{DisplayText.Sanitize(host ?? "")}' {problem}");
        }
        var dataSource = PostgresStoreFaults.CreateDataSource(address, Subject);
        try
        {
            await PostgresStoreFaults.CreateSchemaAsync(dataSource, address, Subject, SchemaLock, "tlsrpt_session_schema_version", SchemaVersion, """
                CREATE TABLE IF NOT EXISTS tlsrpt_session_policy (
                    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    day           text   NOT NULL,
                    report_domain text   NOT NULL,
                    policy_key    text   NOT NULL,
                    tlsrpt_record text,
                    policy_type   text   NOT NULL,
                    policy_domain text,
                    policy_string text   NOT NULL,
                    mx_host       text   NOT NULL,
                    successful    bigint NOT NULL,
                    failed        bigint NOT NULL,
                    UNIQUE (day, report_domain, policy_key)
                );
                CREATE TABLE IF NOT EXISTS tlsrpt_session_failure (
                    policy                 bigint NOT NULL REFERENCES tlsrpt_session_policy (id) ON DELETE CASCADE,
                    failure_key            text   NOT NULL,
                    result_type            text   NOT NULL,
                    sending_mta_ip         text,
                    receiving_mx_hostname  text,
                    receiving_mx_helo      text,
                    receiving_ip           text,
                    additional_information text,
                    failure_reason_code    text,
                    sessions               bigint NOT NULL,
                    PRIMARY KEY (policy, failure_key)
                );
                CREATE TABLE IF NOT EXISTS tlsrpt_session_record (
                    host       text NOT NULL,
                    source     text NOT NULL,
                    record_key text NOT NULL,
                    day        text NOT NULL,
                    PRIMARY KEY (host, source, record_key)
                );
                CREATE INDEX IF NOT EXISTS tlsrpt_session_record_day ON tlsrpt_session_record (day);
                CREATE TABLE IF NOT EXISTS tlsrpt_session_cursor (
                    host       text        NOT NULL,
                    source     text        NOT NULL,
                    cursor     text        NOT NULL,
                    updated_at timestamptz NOT NULL,
                    PRIMARY KEY (host, source)
                )
                """, cancellationToken).ConfigureAwait(false);
            return new PostgresTlsSessionStore(dataSource, address, host, time);
        }
        catch
        {
            await dataSource.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Why <paramref name="host"/> cannot name a fleet member (empty, too long, control characters), or null.</summary>
    public static string? HostProblem(string? host) =>
        string.IsNullOrWhiteSpace(host) ? "is empty; give each MTA's daemon a name of its own"
        : host.Length > MaxHostLength ? $"is longer than {MaxHostLength.ToString(CultureInfo.InvariantCulture)} characters"
        : host.Any(char.IsControl) || host.Any(char.IsWhiteSpace) ? "must not contain spaces or control characters"
        : null;

    /// <inheritdoc/>
    public Task<int> AddAsync(string source, IReadOnlyList<TlsSessionEntry> entries, string? cursor, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(source);
        ArgumentNullException.ThrowIfNull(entries);
        return UseAsync("cannot count session results", async connection =>
        {
            var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                var fresh = await NewRecordKeysAsync(connection, transaction, source, entries, cancellationToken).ConfigureAwait(false);
                var sums = new TlsSessionBatchSums();
                foreach (var (result, recordKey) in entries)
                {
                    if (recordKey is null || fresh.Remove(recordKey))
                    {
                        sums.Add(result);
                    }
                }
                await AddSumsAsync(connection, transaction, sums, cancellationToken).ConfigureAwait(false);
                if (cursor is not null)
                {
                    using var position = new NpgsqlCommand("""
                        INSERT INTO tlsrpt_session_cursor (host, source, cursor, updated_at) VALUES ($1, $2, $3, $4)
                        ON CONFLICT (host, source) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at
                        """, connection, transaction);
                    position.Parameters.Add(new NpgsqlParameter { Value = _host });
                    position.Parameters.Add(new NpgsqlParameter { Value = source });
                    position.Parameters.Add(new NpgsqlParameter { Value = PostgresStoreFaults.Text(cursor) });
                    position.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.TimestampTz, Value = _time.GetUtcNow().ToUniversalTime() });
                    await position.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                return sums.Counted;
            }
        }, cancellationToken);
    }

    /// <summary>Records the batch's keys for this host and source; the set of those not recorded before (counted now).</summary>
    private async Task<HashSet<string>> NewRecordKeysAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string source,
        IReadOnlyList<TlsSessionEntry> entries, CancellationToken cancellationToken)
    {
        var keys = new SortedDictionary<string, string>(StringComparer.Ordinal); // in order: batches lock alike
        foreach (var (result, recordKey) in entries)
        {
            if (recordKey is not null)
            {
                keys.TryAdd(recordKey, TlsSessionKeys.DayText(result.Day));
            }
        }
        var fresh = new HashSet<string>(StringComparer.Ordinal);
        if (keys.Count == 0)
        {
            return fresh;
        }
        using var record = new NpgsqlCommand("""
            INSERT INTO tlsrpt_session_record (host, source, record_key, day)
            SELECT $1, $2, k.key, k.day FROM unnest($3::text[], $4::text[]) WITH ORDINALITY AS k(key, day, n) ORDER BY k.n
            ON CONFLICT DO NOTHING RETURNING record_key
            """, connection, transaction);
        record.Parameters.Add(new NpgsqlParameter { Value = _host });
        record.Parameters.Add(new NpgsqlParameter { Value = source });
        record.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text, Value = keys.Keys.Select(k => PostgresStoreFaults.Text(k)).ToArray() });
        record.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text, Value = keys.Values.ToArray() });
        using var reader = await record.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            fresh.Add(reader.GetString(0));
        }
        // A key holding U+0000 was stored as U+FFFD: the entry still finds itself by its own text.
        foreach (var key in keys.Keys.Where(k => k.Contains('\0', StringComparison.Ordinal)))
        {
            if (fresh.Remove(PostgresStoreFaults.Text(key)))
            {
                fresh.Add(key);
            }
        }
        return fresh;
    }

    /// <summary>Adds the policy rows' and then the failure rows' sums, one statement each.</summary>
    private static async Task AddSumsAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, TlsSessionBatchSums sums, CancellationToken cancellationToken)
    {
        var rows = sums.Rows.ToList();
        if (rows.Count == 0)
        {
            return;
        }
        var ids = new Dictionary<(string Day, string Domain, string Key), long>();
        using (var policy = new NpgsqlCommand("""
            INSERT INTO tlsrpt_session_policy (day, report_domain, policy_key, tlsrpt_record, policy_type, policy_domain, policy_string, mx_host, successful, failed)
            SELECT day, report_domain, policy_key, tlsrpt_record, policy_type, policy_domain, policy_string, mx_host, successful, failed
            FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::bigint[], $10::bigint[])
                WITH ORDINALITY AS r(day, report_domain, policy_key, tlsrpt_record, policy_type, policy_domain, policy_string, mx_host, successful, failed, n)
            ORDER BY n
            ON CONFLICT (day, report_domain, policy_key)
                DO UPDATE SET successful = tlsrpt_session_policy.successful + excluded.successful, failed = tlsrpt_session_policy.failed + excluded.failed
            RETURNING day, report_domain, policy_key, id
            """, connection, transaction))
        {
            TextArray(policy, rows.Select(r => r.Key.Day));
            TextArray(policy, rows.Select(r => r.Key.Domain));
            TextArray(policy, rows.Select(r => r.Key.Key));
            TextArray(policy, rows.Select(r => r.Value.Sample.TlsRptRecord));
            TextArray(policy, rows.Select(r => r.Value.Sample.Policy.PolicyType));
            TextArray(policy, rows.Select(r => r.Value.Sample.Policy.PolicyDomain));
            TextArray(policy, rows.Select(r => TlsSessionKeys.JsonList(r.Value.Sample.Policy.PolicyStrings)));
            TextArray(policy, rows.Select(r => TlsSessionKeys.JsonList(r.Value.Sample.Policy.MxHostPatterns)));
            policy.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint, Value = rows.Select(r => r.Value.Successful).ToArray() });
            policy.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint, Value = rows.Select(r => r.Value.Failed).ToArray() });
            using var reader = await policy.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                ids[(reader.GetString(0), reader.GetString(1), reader.GetString(2))] = reader.GetInt64(3);
            }
        }
        // The stored domain holds U+FFFD where the result held U+0000: look rows up by what was stored.
        var failures = rows
            .SelectMany(r => r.Value.Failures.Select(f => (Policy: ids[(r.Key.Day, PostgresStoreFaults.Text(r.Key.Domain), r.Key.Key)], Key: f.Key, f.Value.Failure, f.Value.Sessions)))
            .OrderBy(f => f.Policy).ThenBy(f => f.Key, StringComparer.Ordinal)
            .ToList();
        if (failures.Count == 0)
        {
            return;
        }
        using var failure = new NpgsqlCommand("""
            INSERT INTO tlsrpt_session_failure (policy, failure_key, result_type, sending_mta_ip, receiving_mx_hostname, receiving_mx_helo,
                                                receiving_ip, additional_information, failure_reason_code, sessions)
            SELECT policy, failure_key, result_type, sending_mta_ip, receiving_mx_hostname, receiving_mx_helo, receiving_ip, additional_information, failure_reason_code, sessions
            FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::bigint[])
                WITH ORDINALITY AS f(policy, failure_key, result_type, sending_mta_ip, receiving_mx_hostname, receiving_mx_helo, receiving_ip, additional_information, failure_reason_code, sessions, n)
            ORDER BY n
            ON CONFLICT (policy, failure_key) DO UPDATE SET sessions = tlsrpt_session_failure.sessions + excluded.sessions
            """, connection, transaction);
        failure.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint, Value = failures.Select(f => f.Policy).ToArray() });
        TextArray(failure, failures.Select(f => f.Key));
        TextArray(failure, failures.Select(f => f.Failure.ResultType));
        TextArray(failure, failures.Select(f => f.Failure.SendingMtaIp));
        TextArray(failure, failures.Select(f => f.Failure.ReceivingMxHostname));
        TextArray(failure, failures.Select(f => f.Failure.ReceivingMxHelo));
        TextArray(failure, failures.Select(f => f.Failure.ReceivingIp));
        TextArray(failure, failures.Select(f => f.Failure.AdditionalInformation));
        TextArray(failure, failures.Select(f => f.Failure.FailureReasonCode));
        failure.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint, Value = failures.Select(f => f.Sessions).ToArray() });
        await failure.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static void TextArray(NpgsqlCommand command, IEnumerable<string?> values) =>
        command.Parameters.Add(new NpgsqlParameter
        {
            NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text,
            Value = values.Select(v => PostgresStoreFaults.Text(v)).ToArray(),
        });

    /// <inheritdoc/>
    public Task<string?> ReadCursorAsync(string source, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(source);
        return UseAsync("cannot read a source's position", async connection =>
        {
            using var command = new NpgsqlCommand("SELECT cursor FROM tlsrpt_session_cursor WHERE host = $1 AND source = $2", connection);
            command.Parameters.Add(new NpgsqlParameter { Value = _host });
            command.Parameters.Add(new NpgsqlParameter { Value = source });
            return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as string;
        }, cancellationToken);
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<DateOnly>> DaysAsync(CancellationToken cancellationToken) =>
        UseAsync<IReadOnlyList<DateOnly>>("cannot list the days", async connection =>
        {
            using var command = new NpgsqlCommand("SELECT DISTINCT day FROM tlsrpt_session_policy ORDER BY day", connection);
            using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            var days = new List<DateOnly>();
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                days.Add(TlsSessionKeys.ParseDay(reader.GetString(0)));
            }
            return days;
        }, cancellationToken);

    /// <inheritdoc/>
    public Task<IReadOnlyList<TlsSessionDayPolicy>> ReadDayAsync(DateOnly day, string? reportDomain, CancellationToken cancellationToken) =>
        UseAsync<IReadOnlyList<TlsSessionDayPolicy>>("cannot read a day", async connection =>
        {
            var where = reportDomain is null ? "p.day = $1" : "p.day = $1 AND p.report_domain = $2";
            Dictionary<long, List<TlsSessionFailureCount>> failures;
            using (var command = Filtered($"""
                SELECT f.policy, f.result_type, f.sending_mta_ip, f.receiving_mx_hostname, f.receiving_mx_helo, f.receiving_ip,
                       f.additional_information, f.failure_reason_code, f.sessions
                FROM tlsrpt_session_failure f JOIN tlsrpt_session_policy p ON p.id = f.policy
                WHERE {where}
                ORDER BY f.policy, f.sessions DESC, f.result_type COLLATE "C", f.failure_key
                """, connection, day, reportDomain))
            {
                using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                failures = await TlsSessionKeys.ReadFailuresAsync(reader, cancellationToken).ConfigureAwait(false);
            }
            List<TlsSessionDayPolicy> policies;
            using (var command = Filtered($"""
                SELECT p.id, p.report_domain, p.tlsrpt_record, p.policy_type, p.policy_domain, p.policy_string, p.mx_host, p.successful, p.failed
                FROM tlsrpt_session_policy p
                WHERE {where}
                ORDER BY p.report_domain COLLATE "C", p.id
                """, connection, day, reportDomain))
            {
                using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                policies = await TlsSessionKeys.ReadPoliciesAsync(reader, day, failures, cancellationToken).ConfigureAwait(false);
            }
            return policies;
        }, cancellationToken);

    /// <inheritdoc/>
    public Task<int> PurgeBeforeAsync(DateOnly day, CancellationToken cancellationToken) =>
        UseAsync("cannot purge old days", async connection =>
        {
            var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                using (var records = new NpgsqlCommand("DELETE FROM tlsrpt_session_record WHERE day < $1", connection, transaction))
                {
                    records.Parameters.Add(new NpgsqlParameter { Value = TlsSessionKeys.DayText(day) });
                    await records.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }
                int removed;
                using (var policies = new NpgsqlCommand("DELETE FROM tlsrpt_session_policy WHERE day < $1", connection, transaction)) // failures cascade
                {
                    policies.Parameters.Add(new NpgsqlParameter { Value = TlsSessionKeys.DayText(day) });
                    removed = await policies.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                return removed;
            }
        }, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            await _dataSource.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static NpgsqlCommand Filtered(string sql, NpgsqlConnection connection, DateOnly day, string? reportDomain)
    {
        var command = new NpgsqlCommand(sql, connection);
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = TlsSessionKeys.DayText(day) });
        if (reportDomain is not null)
        {
            command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = PostgresStoreFaults.Text(reportDomain) });
        }
        return command;
    }

    private Task<T> UseAsync<T>(string what, Func<NpgsqlConnection, Task<T>> body, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        return PostgresStoreFaults.UseAsync(_dataSource, _address, Subject, what, body, cancellationToken);
    }
}
