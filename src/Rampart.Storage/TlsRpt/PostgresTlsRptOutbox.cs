using Npgsql;
using NpgsqlTypes;
using Rampart.Core;
using Rampart.Core.TlsRpt;

namespace Rampart.Storage.TlsRpt;

/// <summary>
/// The outbox of a fleet's TLS-RPT reports in PostgreSQL, beside <see cref="PostgresTlsSessionStore"/>: the same tables
/// and answers as <see cref="SqliteTlsRptOutbox"/>, shared by every daemon of the fleet, so each day's reports are built
/// once and each report is sent by one sender, once.
/// </summary>
/// <remarks>
/// <para>
/// <b>One build per day.</b> <see cref="QueueDayAsync"/> marks the day with <c>INSERT … ON CONFLICT DO NOTHING</c> in the
/// transaction that queues its reports: a second daemon building the same day waits for the first's commit, then finds
/// the mark and queues nothing.
/// </para>
/// <para>
/// <b>One sender per try.</b> <see cref="ClaimAsync"/> is one <c>UPDATE … WHERE id = $ AND state = 'pending' AND
/// next_ms = $expected</c>: PostgreSQL locks the row, and a second sender's update waits for the first's commit, then
/// evaluates its condition again on the moved next try and updates nothing (the compare-and-set equivalent of
/// <c>SELECT … FOR UPDATE SKIP LOCKED</c>, without holding a transaction open across the delivery). A sender killed
/// during its try leaves the report due again when its lease ends.
/// </para>
/// </remarks>
public sealed class PostgresTlsRptOutbox : ITlsRptOutbox
{
    internal const int SchemaVersion = 1;

    /// <summary>The advisory lock held while the schema is checked and created ("RAMPOUTB").</summary>
    private const long SchemaLock = 0x52414D50_4F555442;

    private const string Subject = "TLS-RPT outbox";

    private readonly NpgsqlDataSource _dataSource;
    private readonly PostgresStoreAddress _address;
    private int _disposed;

    private PostgresTlsRptOutbox(NpgsqlDataSource dataSource, PostgresStoreAddress address)
    {
        _dataSource = dataSource;
        _address = address;
    }

    /// <summary>The server, user and database (never the password).</summary>
    public string Location => _address.Location;

    /// <summary>Connects to the database named by <paramref name="url"/> and creates the tables when missing.</summary>
    /// <exception cref="RampartException">One line naming the server (never the password), what failed and what to do.</exception>
    public static async Task<PostgresTlsRptOutbox> OpenAsync(string url, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(url);
        var address = PostgresStoreAddress.Parse(url);
        var dataSource = PostgresStoreFaults.CreateDataSource(address, Subject);
        try
        {
            await PostgresStoreFaults.CreateSchemaAsync(dataSource, address, Subject, SchemaLock, "tlsrpt_outbox_schema_version", SchemaVersion, """
                CREATE TABLE IF NOT EXISTS tlsrpt_outbox (
                    id            bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    day           text    NOT NULL,
                    report_domain text    NOT NULL,
                    tlsrpt_record text,
                    submitter     text    NOT NULL,
                    report_id     text    NOT NULL UNIQUE,
                    json          bytea   NOT NULL,
                    due_ms        bigint  NOT NULL,
                    next_ms       bigint  NOT NULL,
                    attempts      integer NOT NULL,
                    state         text    NOT NULL,
                    detail        text,
                    sent_to       text
                );
                CREATE INDEX IF NOT EXISTS tlsrpt_outbox_next ON tlsrpt_outbox (state, next_ms);
                CREATE TABLE IF NOT EXISTS tlsrpt_outbox_day (
                    day     text   PRIMARY KEY,
                    reports bigint NOT NULL
                );
                CREATE TABLE IF NOT EXISTS tlsrpt_outbox_suppressed (
                    rua      text   PRIMARY KEY,
                    until_ms bigint NOT NULL,
                    reason   text   NOT NULL
                )
                """, cancellationToken).ConfigureAwait(false);
            return new PostgresTlsRptOutbox(dataSource, address);
        }
        catch
        {
            await dataSource.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public Task<bool> IsDayQueuedAsync(DateOnly day, CancellationToken cancellationToken) =>
        UseAsync("cannot read the days built", async connection =>
        {
            using var command = new NpgsqlCommand("SELECT 1 FROM tlsrpt_outbox_day WHERE day = $1", connection);
            command.Parameters.Add(new NpgsqlParameter { Value = TlsSessionKeys.DayText(day) });
            return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not null;
        }, cancellationToken);

    public Task<bool> QueueDayAsync(DateOnly day, IReadOnlyList<(OutgoingTlsRptReport Report, DateTimeOffset DueAt)> reports, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reports);
        return UseAsync("cannot queue the day's reports", async connection =>
        {
            var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                using (var mark = new NpgsqlCommand("INSERT INTO tlsrpt_outbox_day (day, reports) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING 1", connection, transaction))
                {
                    mark.Parameters.Add(new NpgsqlParameter { Value = TlsSessionKeys.DayText(day) });
                    mark.Parameters.Add(new NpgsqlParameter { Value = (long)reports.Count });
                    if (await mark.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is null)
                    {
                        return false; // another daemon of the fleet built it
                    }
                }
                if (reports.Count > 0)
                {
                    using var insert = new NpgsqlCommand("""
                        INSERT INTO tlsrpt_outbox (day, report_domain, tlsrpt_record, submitter, report_id, json, due_ms, next_ms, attempts, state)
                        SELECT day, report_domain, tlsrpt_record, submitter, report_id, json, due_ms, due_ms, 0, 'pending'
                        FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bytea[], $7::bigint[])
                            WITH ORDINALITY AS r(day, report_domain, tlsrpt_record, submitter, report_id, json, due_ms, n)
                        ORDER BY n
                        ON CONFLICT (report_id) DO NOTHING
                        """, connection, transaction);
                    Texts(insert, reports.Select(r => TlsSessionKeys.DayText(r.Report.Day)));
                    Texts(insert, reports.Select(r => r.Report.ReportDomain));
                    Texts(insert, reports.Select(r => r.Report.TlsRptRecord));
                    Texts(insert, reports.Select(r => r.Report.SubmitterDomain));
                    Texts(insert, reports.Select(r => r.Report.Report.ReportId));
                    insert.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bytea, Value = reports.Select(r => TlsRptReportWriter.ToJson(r.Report.Report)).ToArray() });
                    insert.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint, Value = reports.Select(r => r.DueAt.ToUnixTimeMilliseconds()).ToArray() });
                    await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                return true;
            }
        }, cancellationToken);
    }

    public Task<IReadOnlyList<TlsRptOutboxEntry>> DueAsync(DateTimeOffset now, CancellationToken cancellationToken) =>
        ReadAsync("WHERE state = 'pending' AND next_ms <= $1 ORDER BY next_ms, id", now.ToUnixTimeMilliseconds(), cancellationToken);

    public Task<IReadOnlyList<TlsRptOutboxEntry>> ListAsync(DateOnly? day, CancellationToken cancellationToken) =>
        ReadAsync("WHERE $1::text IS NULL OR day = $1 ORDER BY day, report_domain COLLATE \"C\", id", day is { } d ? TlsSessionKeys.DayText(d) : null, cancellationToken);

    public Task<bool> ClaimAsync(long id, DateTimeOffset expectedNextTry, DateTimeOffset leaseUntil, CancellationToken cancellationToken) =>
        UseAsync("cannot claim a report", async connection =>
        {
            using var command = new NpgsqlCommand("UPDATE tlsrpt_outbox SET next_ms = $1 WHERE id = $2 AND state = 'pending' AND next_ms = $3", connection);
            command.Parameters.Add(new NpgsqlParameter { Value = leaseUntil.ToUnixTimeMilliseconds() });
            command.Parameters.Add(new NpgsqlParameter { Value = id });
            command.Parameters.Add(new NpgsqlParameter { Value = expectedNextTry.ToUnixTimeMilliseconds() });
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
        }, cancellationToken);

    public Task UpdateAsync(long id, TlsRptOutboxState state, DateTimeOffset nextTry, int attempts, string? detail, string? sentTo, CancellationToken cancellationToken) =>
        UseAsync("cannot record a delivery", async connection =>
        {
            using var command = new NpgsqlCommand("UPDATE tlsrpt_outbox SET state = $1, next_ms = $2, attempts = $3, detail = $4, sent_to = $5 WHERE id = $6", connection);
            command.Parameters.Add(new NpgsqlParameter { Value = SqliteTlsRptOutbox.StateName(state) });
            command.Parameters.Add(new NpgsqlParameter { Value = nextTry.ToUnixTimeMilliseconds() });
            command.Parameters.Add(new NpgsqlParameter { Value = attempts });
            command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = (object?)PostgresStoreFaults.Text(detail) ?? DBNull.Value });
            command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = (object?)PostgresStoreFaults.Text(sentTo) ?? DBNull.Value });
            command.Parameters.Add(new NpgsqlParameter { Value = id });
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }, cancellationToken);

    public Task<TlsRptSuppression?> SuppressionAsync(string rua, DateTimeOffset now, CancellationToken cancellationToken) =>
        UseAsync("cannot read the suppression list", async connection =>
        {
            using var command = new NpgsqlCommand("SELECT until_ms, reason FROM tlsrpt_outbox_suppressed WHERE rua = $1 AND until_ms > $2", connection);
            command.Parameters.Add(new NpgsqlParameter { Value = PostgresStoreFaults.Text(rua) });
            command.Parameters.Add(new NpgsqlParameter { Value = now.ToUnixTimeMilliseconds() });
            using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            return await reader.ReadAsync(cancellationToken).ConfigureAwait(false)
                ? new TlsRptSuppression(rua, DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(0)), reader.GetString(1))
                : null;
        }, cancellationToken);

    public Task SuppressAsync(TlsRptSuppression suppression, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(suppression);
        return UseAsync("cannot suppress a rua", async connection =>
        {
            using var command = new NpgsqlCommand("""
                INSERT INTO tlsrpt_outbox_suppressed (rua, until_ms, reason) VALUES ($1, $2, $3)
                ON CONFLICT (rua) DO UPDATE SET until_ms = excluded.until_ms, reason = excluded.reason
                """, connection);
            command.Parameters.Add(new NpgsqlParameter { Value = PostgresStoreFaults.Text(suppression.Rua) });
            command.Parameters.Add(new NpgsqlParameter { Value = suppression.Until.ToUnixTimeMilliseconds() });
            command.Parameters.Add(new NpgsqlParameter { Value = PostgresStoreFaults.Text(suppression.Reason) });
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }, cancellationToken);
    }

    public Task<IReadOnlyList<TlsRptSuppression>> SuppressionsAsync(DateTimeOffset now, CancellationToken cancellationToken) =>
        UseAsync<IReadOnlyList<TlsRptSuppression>>("cannot read the suppression list", async connection =>
        {
            using var command = new NpgsqlCommand("SELECT rua, until_ms, reason FROM tlsrpt_outbox_suppressed WHERE until_ms > $1 ORDER BY rua COLLATE \"C\"", connection);
            command.Parameters.Add(new NpgsqlParameter { Value = now.ToUnixTimeMilliseconds() });
            using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            return await SqliteTlsRptOutbox.ReadSuppressionsAsync(reader, cancellationToken).ConfigureAwait(false);
        }, cancellationToken);

    public Task<bool> ClearSuppressionAsync(string rua, DateTimeOffset now, CancellationToken cancellationToken) =>
        UseAsync("cannot change the suppression list", async connection =>
        {
            // an expired row goes too, but only one in force counts as cleared
            using var command = new NpgsqlCommand("DELETE FROM tlsrpt_outbox_suppressed WHERE rua = $1 RETURNING until_ms > $2", connection);
            command.Parameters.Add(new NpgsqlParameter { Value = PostgresStoreFaults.Text(rua) });
            command.Parameters.Add(new NpgsqlParameter { Value = now.ToUnixTimeMilliseconds() });
            return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is true;
        }, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            await _dataSource.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static void Texts(NpgsqlCommand command, IEnumerable<string?> values) =>
        command.Parameters.Add(new NpgsqlParameter
        {
            NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text,
            Value = values.Select(v => PostgresStoreFaults.Text(v)).ToArray(),
        });

    private Task<IReadOnlyList<TlsRptOutboxEntry>> ReadAsync(string where, object? parameter, CancellationToken cancellationToken) =>
        UseAsync<IReadOnlyList<TlsRptOutboxEntry>>("cannot read the outbox", async connection =>
        {
            using var command = new NpgsqlCommand("""
                SELECT id, day, report_domain, tlsrpt_record, submitter, json, due_ms, next_ms, attempts, state, detail, sent_to FROM tlsrpt_outbox
                """ + "\n" + where, connection);
            command.Parameters.Add(parameter is long n
                ? new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Bigint, Value = n }
                : new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = parameter ?? DBNull.Value });
            var entries = new List<TlsRptOutboxEntry>();
            using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                entries.Add(SqliteTlsRptOutbox.ReadEntry(reader, $"{Subject} {Location}", "it was changed outside Rampart: delete that row"));
            }
            return entries;
        }, cancellationToken);

    private Task<T> UseAsync<T>(string what, Func<NpgsqlConnection, Task<T>> body, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        return PostgresStoreFaults.UseAsync(_dataSource, _address, Subject, what, body, cancellationToken);
    }
}
