using System.Data.Common;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net.Sockets;
using System.Security.Authentication;
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
/// One report is one transaction, sent as one statement: its row, its policies and every failure detail are committed
/// together or not at all, so a dropped connection, a killed importer or a crashed server leaves no half report. The
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
public sealed class PostgresTlsReportStore : ITlsReportStore, ITlsReportHistory
{
    internal const int SchemaVersion = 1;

    /// <summary>The advisory lock held while the schema is checked and created ("RAMPTLSR").</summary>
    private const long SchemaLock = 0x52414D50_544C5352;

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
        PolicyDomains: "string_agg(DISTINCT p.policy_domain, ',')");

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
    /// Test hook: when set, a report's statement runs in an explicit transaction and the hook is called with its
    /// connection after all the report's rows are written, before the commit (to cut the transaction off there).
    /// </summary>
    internal Func<NpgsqlConnection, CancellationToken, Task>? BeforeCommit { get; set; }

    /// <summary>Connects to the database named by <paramref name="url"/> and creates the tables when missing.</summary>
    /// <exception cref="RampartException">
    /// The URL is unusable, the server cannot be reached in time, refuses the user, or the schema is newer than this
    /// Rampart; the message is one line naming the server (never the password) and what to do.
    /// </exception>
    public static Task<PostgresTlsReportStore> OpenAsync(string url, TimeProvider time, CancellationToken cancellationToken = default) =>
        OpenAsync(PostgresStoreAddress.Parse(url), time, cancellationToken);

    /// <inheritdoc cref="OpenAsync(string, TimeProvider, CancellationToken)"/>
    public static async Task<PostgresTlsReportStore> OpenAsync(PostgresStoreAddress address, TimeProvider time, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(address);
        ArgumentNullException.ThrowIfNull(time);
        NpgsqlDataSource dataSource;
        try
        {
            // The slim builder brings only what is named here: basic types, arrays, TLS (sslmode=) and GSS, as the
            // full one did for this store, without the reflection-based JSON, ranges and records it never uses.
            dataSource = new NpgsqlSlimDataSourceBuilder(address.ConnectionString)
                .EnableArrays().EnableTransportSecurity().EnableIntegratedSecurity().Build();
        }
        catch (ArgumentException ex)
        {
            throw new PostgresStoreException($"TLS-RPT store {address.Location} cannot be used: {StateFiles.OneLine(ex.Message)}; fix the URL", ex);
        }
        var store = new PostgresTlsReportStore(dataSource, address, time);
        try
        {
            await store.InitializeAsync(cancellationToken).ConfigureAwait(false);
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
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        var r = report.Report;
        try
        {
            var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                if (BeforeCommit is not { } hook)
                {
                    // One statement outside an explicit transaction is its own transaction: all of it or none, one round trip.
                    using var insert = InsertCommand(connection, null, report);
                    return await insert.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long
                        ? TlsRptStoreOutcome.Imported
                        : TlsRptStoreOutcome.Duplicate;
                }
                var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
                await using (transaction.ConfigureAwait(false))
                {
                    using var insert = InsertCommand(connection, transaction, report);
                    if (await insert.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not long)
                    {
                        await transaction.RollbackAsync(cancellationToken).ConfigureAwait(false);
                        return TlsRptStoreOutcome.Duplicate;
                    }
                    await hook(connection, cancellationToken).ConfigureAwait(false);
                    await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                    return TlsRptStoreOutcome.Imported;
                }
            }
        }
        catch (Exception ex) when (IsFault(ex, cancellationToken))
        {
            throw Fault($"cannot store report {r.ReportId}", ex);
        }
    }

    /// <inheritdoc/>
    public Task<TlsRptAggregates> AggregateAsync(TlsRptSummaryQuery query, CancellationToken cancellationToken) =>
        ReadAsync("cannot summarise", query, (filtered, ct) => TlsRptAggregateQueries.ReadAsync(Dialect, filtered, ct), cancellationToken);

    /// <inheritdoc/>
    public Task<TlsRptDaily> DailyAsync(TlsRptSummaryQuery query, CancellationToken cancellationToken) =>
        ReadAsync("cannot read the days", query, (filtered, ct) => TlsRptHistoryQueries.DailyAsync(Dialect, filtered, ct), cancellationToken);

    /// <inheritdoc/>
    public Task<IReadOnlyList<TlsRptReportListing>> ListAsync(TlsRptSummaryQuery query, int limit, CancellationToken cancellationToken) =>
        ReadAsync("cannot list reports", query, (filtered, ct) => TlsRptHistoryQueries.ListAsync(Dialect, filtered, limit, ct), cancellationToken);

    /// <inheritdoc/>
    public Task<TlsRptStoredReport?> ReadAsync(long key, CancellationToken cancellationToken) =>
        ReadAsync($"cannot read report {key}", new TlsRptSummaryQuery(),
            (filtered, ct) => TlsRptHistoryQueries.ReadAsync(Dialect, filtered, key, ct), cancellationToken);

    /// <summary>Runs <paramref name="read"/> on a connection of its own, with commands filtered by <paramref name="query"/>.</summary>
    private async Task<T> ReadAsync<T>(string what, TlsRptSummaryQuery query, Func<Func<string, DbCommand>, CancellationToken, Task<T>> read,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        try
        {
            var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                return await read(sql => Filtered(connection, sql, query), cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (IsFault(ex, cancellationToken))
        {
            throw Fault(what, ex);
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
    private NpgsqlCommand InsertCommand(NpgsqlConnection connection, NpgsqlTransaction? transaction, TlsRptStoredReport stored)
    {
        var r = stored.Report;
        var command = new NpgsqlCommand("""
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
            """, connection, transaction);

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
        p.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.TimestampTz, Value = Millis(_time.GetUtcNow()) });
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

    private static NpgsqlCommand Filtered(NpgsqlConnection connection, string sql, TlsRptSummaryQuery query)
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
        return command;
    }

    private async Task InitializeAsync(CancellationToken cancellationToken)
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
                    using (var version = new NpgsqlCommand("SELECT max(version) FROM tlsrpt_schema_version", connection, transaction))
                    {
                        if (await version.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is int v && v > SchemaVersion)
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
                        INSERT INTO tlsrpt_schema_version (version) SELECT {SchemaVersion} WHERE NOT EXISTS (SELECT 1 FROM tlsrpt_schema_version)
                        """, connection, transaction))
                    {
                        await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
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

    private static bool IsFault(Exception ex, CancellationToken cancellationToken) =>
        ex is NpgsqlException or TimeoutException
        || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested);

    /// <summary>One line: the server, what failed, why (password removed) and what to do.</summary>
    private PostgresStoreException Fault(string what, Exception ex)
    {
        var (detail, advice, transient) = Explain(ex);
        var message = $"TLS-RPT store {Location} {what}: {detail}; {advice}";
        if (_address.Password is { } password)
        {
            message = message.Replace(password, "***", StringComparison.Ordinal);
        }
        return new PostgresStoreException(StateFiles.OneLine(message), ex, transient);
    }

    private (string Detail, string Advice, bool Transient) Explain(Exception ex)
    {
        if (ex is PostgresException pg)
        {
            var detail = $"{pg.MessageText} (SQLSTATE {pg.SqlState})";
            return pg.SqlState switch
            {
                "28P01" or "28000" => (detail, "check the user name and password (in the URL, PGPASSWORD or ~/.pgpass) and the server's pg_hba.conf", false),
                "3D000" => (detail, "create the database (createdb -O USER DATABASE) or name an existing one", false),
                "42501" => (detail, "let the user create tables in the database (GRANT CREATE ON SCHEMA public TO USER) or have its owner run the first import", false),
                "53300" or "53400" => (detail, "the server has no free connection; try again later or raise max_connections", true),
                "57P01" or "57P02" or "57P03" or "08006" or "08003" or "08001" => (detail, "the server is shutting down or starting up; try again", true),
                "53100" => (detail, "the server's disk is full; free space on it", true),
                "40001" or "40P01" => (detail, "a conflicting transaction; try again", true),
                _ => (detail, "see the server's log", pg.IsTransient),
            };
        }
        var chain = new List<string>();
        for (var e = ex; e is not null; e = e.InnerException)
        {
            var line = StateFiles.OneLine(e.Message);
            if (line.Length > 0 && !chain.Any(c => c.Contains(line, StringComparison.Ordinal)))
            {
                chain.Add(line);
            }
        }
        var text = string.Join(": ", chain);
        var root = ex.GetBaseException();
        if (root is TimeoutException || ex is OperationCanceledException)
        {
            return (text, "no answer in time; check that the server runs and the network lets its port through", true);
        }
        if (root is SocketException or IOException || ex is NpgsqlException { InnerException: SocketException or IOException })
        {
            return (text, "check that PostgreSQL runs there and accepts connections (listen_addresses, port, firewall)", true);
        }
        if (root is AuthenticationException)
        {
            return (text, "the TLS handshake failed; check sslmode and sslrootcert", false);
        }
        return (text, "check the URL and the server", ex is NpgsqlException { IsTransient: true });
    }

    /// <summary>PostgreSQL text cannot hold U+0000; reports never mean it, so it is stored as U+FFFD.</summary>
    [return: NotNullIfNotNull(nameof(value))]
    private static string? Text(string? value) =>
        value is null || !value.Contains('\0', StringComparison.Ordinal) ? value : value.Replace('\0', '\uFFFD');

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
