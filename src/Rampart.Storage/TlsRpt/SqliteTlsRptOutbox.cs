using System.Globalization;
using Microsoft.Data.Sqlite;
using Rampart.Core;
using Rampart.Core.TlsRpt;

namespace Rampart.Storage.TlsRpt;

/// <summary>
/// The outbox of our own TLS-RPT reports: one SQLite file (<c>&lt;stateDir&gt;/tlsrpt-outbox.sqlite</c>) with the reports
/// built per day (their JSON, exactly as sent), each one's delivery state, the days already built, and the suppressed
/// ruas. Every change is one transaction (WAL, synchronous=NORMAL), so a kill never loses a queued report and a report
/// recorded as sent is never sent again.
/// </summary>
public sealed class SqliteTlsRptOutbox : ITlsRptOutbox
{
    /// <summary>The file name inside the state directory.</summary>
    public const string FileName = "tlsrpt-outbox.sqlite";

    internal const int SchemaVersion = 1;
    private const string What = "TLS-RPT outbox";

    private readonly SerializedConnection _db;

    private SqliteTlsRptOutbox(string path, SqliteConnection connection)
    {
        Location = path;
        _db = new SerializedConnection(connection, typeof(SqliteTlsRptOutbox).FullName!);
    }

    public string Location { get; }

    /// <summary>The path of the outbox in <paramref name="stateDirectory"/>.</summary>
    public static string PathIn(string stateDirectory) => Path.Combine(stateDirectory, FileName);

    /// <summary>Opens (creating when missing) the outbox at <paramref name="path"/>.</summary>
    /// <exception cref="RampartException">The file cannot be used; one line naming it and what to do.</exception>
    public static async Task<SqliteTlsRptOutbox> OpenAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var (fullPath, connection) = await StateFiles.OpenDatabaseAsync(path, What, 30,
            "move it aside or choose another state directory", InitializeAsync, Advice, cancellationToken).ConfigureAwait(false);
        return new SqliteTlsRptOutbox(fullPath, connection);
    }

    public Task<bool> IsDayQueuedAsync(DateOnly day, CancellationToken cancellationToken) =>
        UseAsync("cannot read the days built", async () =>
        {
            using var command = _db.Command("SELECT 1 FROM tlsrpt_outbox_day WHERE day = $day");
            command.Parameters.AddWithValue("$day", DayText(day));
            return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not null;
        }, cancellationToken);

    public Task<bool> QueueDayAsync(DateOnly day, IReadOnlyList<(OutgoingTlsRptReport Report, DateTimeOffset DueAt)> reports, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reports);
        return UseAsync("cannot queue the day's reports", async () =>
        {
            using var transaction = _db.Connection.BeginTransaction();
            using (var mark = _db.Command("INSERT INTO tlsrpt_outbox_day (day, reports) VALUES ($day, $n) ON CONFLICT DO NOTHING RETURNING 1", transaction))
            {
                mark.Parameters.AddWithValue("$day", DayText(day));
                mark.Parameters.AddWithValue("$n", reports.Count);
                if (await mark.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is null)
                {
                    return false;
                }
            }
            using var insert = _db.Command("""
                INSERT INTO tlsrpt_outbox (day, report_domain, tlsrpt_record, submitter, report_id, json, due_ms, next_ms, attempts, state)
                VALUES ($day, $domain, $record, $submitter, $id, $json, $due, $due, 0, 'pending')
                ON CONFLICT (report_id) DO NOTHING
                """, transaction);
            var pDay = insert.Parameters.Add("$day", SqliteType.Text);
            var pDomain = insert.Parameters.Add("$domain", SqliteType.Text);
            var pRecord = insert.Parameters.Add("$record", SqliteType.Text);
            var pSubmitter = insert.Parameters.Add("$submitter", SqliteType.Text);
            var pId = insert.Parameters.Add("$id", SqliteType.Text);
            var pJson = insert.Parameters.Add("$json", SqliteType.Blob);
            var pDue = insert.Parameters.Add("$due", SqliteType.Integer);
            foreach (var (report, due) in reports)
            {
                pDay.Value = DayText(report.Day);
                pDomain.Value = report.ReportDomain;
                pRecord.Value = (object?)report.TlsRptRecord ?? DBNull.Value;
                pSubmitter.Value = report.SubmitterDomain;
                pId.Value = report.Report.ReportId;
                pJson.Value = TlsRptReportWriter.ToJson(report.Report);
                pDue.Value = due.ToUnixTimeMilliseconds();
                await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return true;
        }, cancellationToken);
    }

    public Task<IReadOnlyList<TlsRptOutboxEntry>> DueAsync(DateTimeOffset now, CancellationToken cancellationToken) =>
        ReadAsync("WHERE state = 'pending' AND next_ms <= $now ORDER BY next_ms, id", c => c.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds()), cancellationToken);

    public Task<IReadOnlyList<TlsRptOutboxEntry>> ListAsync(DateOnly? day, CancellationToken cancellationToken) =>
        ReadAsync("WHERE $day IS NULL OR day = $day ORDER BY day, report_domain, id",
            c => c.Parameters.AddWithValue("$day", day is { } d ? DayText(d) : DBNull.Value), cancellationToken);

    public Task<bool> ClaimAsync(long id, DateTimeOffset expectedNextTry, DateTimeOffset leaseUntil, CancellationToken cancellationToken) =>
        UseAsync("cannot claim a report", async () =>
        {
            using var command = _db.Command("UPDATE tlsrpt_outbox SET next_ms = $lease WHERE id = $id AND state = 'pending' AND next_ms = $expected");
            command.Parameters.AddWithValue("$lease", leaseUntil.ToUnixTimeMilliseconds());
            command.Parameters.AddWithValue("$id", id);
            command.Parameters.AddWithValue("$expected", expectedNextTry.ToUnixTimeMilliseconds());
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
        }, cancellationToken);

    public Task UpdateAsync(long id, TlsRptOutboxState state, DateTimeOffset nextTry, int attempts, string? detail, string? sentTo, CancellationToken cancellationToken) =>
        UseAsync("cannot record a delivery", async () =>
        {
            using var command = _db.Command("""
                UPDATE tlsrpt_outbox SET state = $state, next_ms = $next, attempts = $attempts, detail = $detail, sent_to = $sentTo WHERE id = $id
                """);
            command.Parameters.AddWithValue("$state", StateName(state));
            command.Parameters.AddWithValue("$next", nextTry.ToUnixTimeMilliseconds());
            command.Parameters.AddWithValue("$attempts", attempts);
            command.Parameters.AddWithValue("$detail", (object?)detail ?? DBNull.Value);
            command.Parameters.AddWithValue("$sentTo", (object?)sentTo ?? DBNull.Value);
            command.Parameters.AddWithValue("$id", id);
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }, cancellationToken);

    public Task<TlsRptSuppression?> SuppressionAsync(string rua, DateTimeOffset now, CancellationToken cancellationToken) =>
        UseAsync("cannot read the suppression list", async () =>
        {
            using var command = _db.Command("SELECT until_ms, reason FROM tlsrpt_outbox_suppressed WHERE rua = $rua AND until_ms > $now");
            command.Parameters.AddWithValue("$rua", rua);
            command.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
            using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            return await reader.ReadAsync(cancellationToken).ConfigureAwait(false)
                ? new TlsRptSuppression(rua, DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(0)), reader.GetString(1))
                : null;
        }, cancellationToken);

    public Task SuppressAsync(TlsRptSuppression suppression, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(suppression);
        return UseAsync("cannot suppress a rua", async () =>
        {
            using var command = _db.Command("""
                INSERT INTO tlsrpt_outbox_suppressed (rua, until_ms, reason) VALUES ($rua, $until, $reason)
                ON CONFLICT (rua) DO UPDATE SET until_ms = excluded.until_ms, reason = excluded.reason
                """);
            command.Parameters.AddWithValue("$rua", suppression.Rua);
            command.Parameters.AddWithValue("$until", suppression.Until.ToUnixTimeMilliseconds());
            command.Parameters.AddWithValue("$reason", suppression.Reason);
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }, cancellationToken);
    }

    public Task<IReadOnlyList<TlsRptSuppression>> SuppressionsAsync(DateTimeOffset now, CancellationToken cancellationToken) =>
        UseAsync<IReadOnlyList<TlsRptSuppression>>("cannot read the suppression list", async () =>
        {
            using var command = _db.Command("SELECT rua, until_ms, reason FROM tlsrpt_outbox_suppressed WHERE until_ms > $now ORDER BY rua");
            command.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
            using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            return await ReadSuppressionsAsync(reader, cancellationToken).ConfigureAwait(false);
        }, cancellationToken);

    public Task<bool> ClearSuppressionAsync(string rua, DateTimeOffset now, CancellationToken cancellationToken) =>
        UseAsync("cannot change the suppression list", async () =>
        {
            // an expired row goes too, but only one in force counts as cleared
            using var command = _db.Command("DELETE FROM tlsrpt_outbox_suppressed WHERE rua = $rua RETURNING until_ms > $now");
            command.Parameters.AddWithValue("$rua", rua);
            command.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
            return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long inForce && inForce == 1;
        }, cancellationToken);

    public ValueTask DisposeAsync() => _db.DisposeAsync();

    private Task<IReadOnlyList<TlsRptOutboxEntry>> ReadAsync(string where, Action<SqliteCommand> parameters, CancellationToken cancellationToken) =>
        UseAsync<IReadOnlyList<TlsRptOutboxEntry>>("cannot read the outbox", async () =>
        {
            using var command = _db.Command("""
                SELECT id, day, report_domain, tlsrpt_record, submitter, json, due_ms, next_ms, attempts, state, detail, sent_to FROM tlsrpt_outbox
                """ + "\n" + where);
            parameters(command);
            var entries = new List<TlsRptOutboxEntry>();
            using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                entries.Add(ReadEntry(reader, $"{What} '{Location}'", "move the file aside"));
            }
            return entries;
        }, cancellationToken);

    /// <summary>
    /// The entry at <paramref name="reader"/>'s row (id, day, report_domain, tlsrpt_record, submitter, json, due_ms,
    /// next_ms, attempts, state, detail, sent_to: the columns both outboxes keep); a report that does not read back is
    /// one line naming <paramref name="place"/> and <paramref name="fix"/>.
    /// </summary>
    internal static TlsRptOutboxEntry ReadEntry(System.Data.Common.DbDataReader reader, string place, string fix)
    {
        var parsed = TlsRptReportParser.Parse((byte[])reader.GetValue(5));
        if (parsed.Report is not { } report)
        {
            throw new RampartException($"{place}: report {reader.GetInt64(0)} does not read back ({parsed.Error}); {fix}");
        }
        var outgoing = new OutgoingTlsRptReport(DateOnly.ParseExact(reader.GetString(1), "yyyy-MM-dd", CultureInfo.InvariantCulture),
            reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3), reader.GetString(4), report);
        return new TlsRptOutboxEntry(reader.GetInt64(0), outgoing,
            DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(6)), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(7)),
            reader.GetInt32(8), ParseState(reader.GetString(9)), reader.IsDBNull(10) ? null : reader.GetString(10),
            reader.IsDBNull(11) ? null : reader.GetString(11));
    }

    /// <summary>The suppression rows (rua, until_ms, reason) both outboxes keep.</summary>
    internal static async Task<IReadOnlyList<TlsRptSuppression>> ReadSuppressionsAsync(System.Data.Common.DbDataReader reader, CancellationToken cancellationToken)
    {
        var list = new List<TlsRptSuppression>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            list.Add(new TlsRptSuppression(reader.GetString(0), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1)), reader.GetString(2)));
        }
        return list;
    }

    /// <summary>The state as stored and printed: pending, sent, dropped, expired.</summary>
    public static string StateName(TlsRptOutboxState state) => state switch
    {
        TlsRptOutboxState.Sent => "sent",
        TlsRptOutboxState.Dropped => "dropped",
        TlsRptOutboxState.Expired => "expired",
        _ => "pending",
    };

    private static TlsRptOutboxState ParseState(string text) => text switch
    {
        "sent" => TlsRptOutboxState.Sent,
        "dropped" => TlsRptOutboxState.Dropped,
        "expired" => TlsRptOutboxState.Expired,
        _ => TlsRptOutboxState.Pending,
    };

    private static string DayText(DateOnly day) => day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    private async Task<T> UseAsync<T>(string what, Func<Task<T>> body, CancellationToken cancellationToken)
    {
        await _db.EnterAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await body().ConfigureAwait(false);
        }
        catch (SqliteException ex)
        {
            throw StateFiles.Fault(What, Location, what, ex, Advice(ex, Location));
        }
        finally
        {
            _db.Exit();
        }
    }

    private static Task InitializeAsync(SqliteConnection connection, string path, CancellationToken cancellationToken) =>
        StateFiles.CreateSchemaAsync(connection, What, path, "tlsrpt_outbox_schema_version", SchemaVersion, [], """
            CREATE TABLE IF NOT EXISTS tlsrpt_outbox (
                id            INTEGER PRIMARY KEY,
                day           TEXT    NOT NULL,
                report_domain TEXT    NOT NULL,
                tlsrpt_record TEXT,
                submitter     TEXT    NOT NULL,
                report_id     TEXT    NOT NULL UNIQUE,
                json          BLOB    NOT NULL,
                due_ms        INTEGER NOT NULL,
                next_ms       INTEGER NOT NULL,
                attempts      INTEGER NOT NULL,
                state         TEXT    NOT NULL,
                detail        TEXT,
                sent_to       TEXT
            );
            CREATE INDEX IF NOT EXISTS tlsrpt_outbox_next ON tlsrpt_outbox (state, next_ms);
            CREATE TABLE IF NOT EXISTS tlsrpt_outbox_day (
                day     TEXT    PRIMARY KEY,
                reports INTEGER NOT NULL
            );
            CREATE TABLE IF NOT EXISTS tlsrpt_outbox_suppressed (
                rua      TEXT    PRIMARY KEY,
                until_ms INTEGER NOT NULL,
                reason   TEXT    NOT NULL
            );
            """, cancellationToken);

    private static string Advice(SqliteException ex, string path) =>
        StateFiles.Advice(ex, path, "move it aside (reports not yet sent are lost)", "try again when it is done");
}
