using System.Globalization;
using Microsoft.Data.Sqlite;
using Rampart.Core;
using Rampart.Core.Check;

namespace Rampart.Storage.Check;

/// <summary>
/// The monitor's memory (<c>&lt;stateDir&gt;/check-history.sqlite</c>): per domain, the findings of its last round with
/// their first-seen times, so <c>rampart check --watch</c> restarted keeps reporting a finding as persisting since it
/// first appeared.
/// </summary>
/// <remarks>
/// One domain's round is one transaction (its old rows deleted, its current rows written), so a crash mid-round leaves
/// each domain either as before or as after. WAL, synchronous=NORMAL; times are Unix milliseconds, UTC. One connection
/// used by one caller at a time.
/// </remarks>
public sealed class SqliteFindingHistory : IWatchHistory, IWatchHistoryView, IAsyncDisposable
{
    /// <summary>The file name inside the state directory.</summary>
    public const string FileName = "check-history.sqlite";

    internal const int SchemaVersion = 1;

    private readonly SerializedConnection _db;

    private SqliteFindingHistory(string path, SqliteConnection connection)
    {
        Location = path;
        _db = new SerializedConnection(connection, typeof(SqliteFindingHistory).FullName!);
    }

    /// <summary>The database file (full path).</summary>
    public string Location { get; }

    /// <summary>The clock of the timeline: when a domain was checked and when a finding cleared.</summary>
    public TimeProvider Clock { get; set; } = TimeProvider.System;

    /// <summary>How long the appeared/cleared timeline is kept (400 days: more than a year of a monitored domain's changes).</summary>
    public static readonly TimeSpan TimelineKept = TimeSpan.FromDays(400);

    /// <summary>Test hook: called after each finding of a domain is written, inside the domain's transaction.</summary>
    internal Action<int>? AfterFindingWritten { get; set; }

    /// <summary>Opens (creating when missing) the history in <paramref name="stateDirectory"/>.</summary>
    public static Task<SqliteFindingHistory> OpenInDirectoryAsync(string stateDirectory, CancellationToken cancellationToken = default) =>
        OpenAsync(Path.Combine(stateDirectory, FileName), cancellationToken);

    /// <summary>Opens the history at <paramref name="path"/>, creating it and its directory (mode 0700 on Unix) when missing.</summary>
    /// <exception cref="RampartException">The file cannot be used; the message is one line naming the file and what to do.</exception>
    public static async Task<SqliteFindingHistory> OpenAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var (fullPath, connection) = await StateFiles.OpenDatabaseAsync(path, "check history", 30,
            "move it aside or choose another state directory", InitializeAsync, Advice, cancellationToken).ConfigureAwait(false);
        return new SqliteFindingHistory(fullPath, connection);
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<RememberedFinding>> LoadAsync(string domain, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(domain);
        await _db.EnterAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var select = _db.Connection.CreateCommand();
            select.CommandText = """
                SELECT id, severity, subject, message, fix, reference, first_seen_ms FROM check_finding
                WHERE domain = $domain ORDER BY first_seen_ms, ordinal
                """;
            select.Parameters.AddWithValue("$domain", domain);
            var found = new List<RememberedFinding>();
            using var reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var severity = Severity(domain, reader.GetInt32(1));
                found.Add(new RememberedFinding(
                    new CheckFinding(reader.GetString(0), severity, reader.GetString(2), reader.GetString(3), reader.GetString(4), reader.GetString(5)),
                    DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(6))));
            }
            return found;
        }
        catch (SqliteException ex)
        {
            throw Fault($"cannot read domain {domain}", ex);
        }
        finally
        {
            _db.Exit();
        }
    }

    /// <inheritdoc/>
    public async Task SaveAsync(string domain, IReadOnlyList<RememberedFinding> current, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(domain);
        ArgumentNullException.ThrowIfNull(current);
        await _db.EnterAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var transaction = _db.Connection.BeginTransaction();
            var now = Clock.GetUtcNow().ToUnixTimeMilliseconds();
            var previous = new Dictionary<(string Id, string Subject), (int Severity, string Message)>();
            using (var before = _db.Connection.CreateCommand())
            {
                before.Transaction = transaction;
                before.CommandText = "SELECT id, subject, severity, message FROM check_finding WHERE domain = $domain";
                before.Parameters.AddWithValue("$domain", domain);
                using var reader = await before.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    previous[(reader.GetString(0), reader.GetString(1))] = (reader.GetInt32(2), reader.GetString(3));
                }
            }
            using (var delete = _db.Connection.CreateCommand())
            {
                delete.Transaction = transaction;
                delete.CommandText = "DELETE FROM check_finding WHERE domain = $domain";
                delete.Parameters.AddWithValue("$domain", domain);
                await delete.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
            using var insert = _db.Connection.CreateCommand();
            insert.Transaction = transaction;
            insert.CommandText = """
                INSERT INTO check_finding (domain, id, subject, ordinal, severity, message, fix, reference, first_seen_ms)
                VALUES ($domain, $id, $subject, $ordinal, $severity, $message, $fix, $reference, $first)
                ON CONFLICT (domain, id, subject) DO NOTHING
                """;
            insert.Parameters.AddWithValue("$domain", domain);
            var pId = insert.Parameters.Add("$id", SqliteType.Text);
            var pSubject = insert.Parameters.Add("$subject", SqliteType.Text);
            var pOrdinal = insert.Parameters.Add("$ordinal", SqliteType.Integer);
            var pSeverity = insert.Parameters.Add("$severity", SqliteType.Integer);
            var pMessage = insert.Parameters.Add("$message", SqliteType.Text);
            var pFix = insert.Parameters.Add("$fix", SqliteType.Text);
            var pReference = insert.Parameters.Add("$reference", SqliteType.Text);
            var pFirst = insert.Parameters.Add("$first", SqliteType.Integer);
            for (var i = 0; i < current.Count; i++)
            {
                var f = current[i].Finding;
                pId.Value = f.Id;
                pSubject.Value = f.Subject;
                pOrdinal.Value = i;
                pSeverity.Value = (int)f.Severity;
                pMessage.Value = f.Message;
                pFix.Value = f.Fix;
                pReference.Value = f.Reference;
                pFirst.Value = current[i].FirstSeen.ToUnixTimeMilliseconds();
                await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                AfterFindingWritten?.Invoke(i);
            }
            await WriteTimelineAsync(transaction, domain, previous, current, now, cancellationToken).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (SqliteException ex)
        {
            throw Fault($"cannot store domain {domain}", ex);
        }
        finally
        {
            _db.Exit();
        }
    }

    /// <summary>
    /// Records what changed for <paramref name="domain"/>: an appeared event (at its first-seen time) for each current
    /// finding that was not remembered, a cleared event (now) for each remembered one that is gone; marks the domain
    /// checked now and drops events older than <see cref="TimelineKept"/>.
    /// </summary>
    private async Task WriteTimelineAsync(SqliteTransaction transaction, string domain, Dictionary<(string Id, string Subject), (int Severity, string Message)> previous,
        IReadOnlyList<RememberedFinding> current, long now, CancellationToken cancellationToken)
    {
        using var insert = _db.Connection.CreateCommand();
        insert.Transaction = transaction;
        insert.CommandText = """
            INSERT INTO check_event (domain, at_ms, change, id, subject, severity, message)
            VALUES ($domain, $at, $change, $id, $subject, $severity, $message)
            """;
        insert.Parameters.AddWithValue("$domain", domain);
        var pAt = insert.Parameters.Add("$at", SqliteType.Integer);
        var pChange = insert.Parameters.Add("$change", SqliteType.Text);
        var pId = insert.Parameters.Add("$id", SqliteType.Text);
        var pSubject = insert.Parameters.Add("$subject", SqliteType.Text);
        var pSeverity = insert.Parameters.Add("$severity", SqliteType.Integer);
        var pMessage = insert.Parameters.Add("$message", SqliteType.Text);
        var changes = current.Where(c => !previous.ContainsKey((c.Finding.Id, c.Finding.Subject)))
            .Select(c => (At: c.FirstSeen.ToUnixTimeMilliseconds(), Change: WatchTimelineEvent.Appeared, c.Finding.Id, c.Finding.Subject, Severity: (int)c.Finding.Severity, c.Finding.Message))
            .Concat(previous.Where(p => !current.Any(c => c.Finding.Id == p.Key.Id && c.Finding.Subject == p.Key.Subject))
                .Select(p => (At: now, Change: WatchTimelineEvent.Cleared, p.Key.Id, p.Key.Subject, p.Value.Severity, p.Value.Message)));
        foreach (var change in changes)
        {
            (pAt.Value, pChange.Value, pId.Value, pSubject.Value, pSeverity.Value, pMessage.Value) =
                (change.At, change.Change, change.Id, change.Subject, change.Severity, change.Message);
            await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        using var mark = _db.Connection.CreateCommand();
        mark.Transaction = transaction;
        mark.CommandText = """
            INSERT INTO check_domain (domain, checked_ms) VALUES ($domain, $now) ON CONFLICT (domain) DO UPDATE SET checked_ms = excluded.checked_ms;
            DELETE FROM check_event WHERE domain = $domain AND at_ms < $oldest;
            """;
        mark.Parameters.AddWithValue("$domain", domain);
        mark.Parameters.AddWithValue("$now", now);
        mark.Parameters.AddWithValue("$oldest", now - (long)TimelineKept.TotalMilliseconds);
        await mark.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<WatchedDomain>> ReadAllAsync(CancellationToken cancellationToken)
    {
        await _db.EnterAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var checkedAt = new SortedDictionary<string, DateTimeOffset?>(StringComparer.Ordinal);
            var findings = new Dictionary<string, List<RememberedFinding>>(StringComparer.Ordinal);
            var timeline = new Dictionary<string, List<WatchTimelineEvent>>(StringComparer.Ordinal);
            await ReadRowsAsync("SELECT domain, checked_ms FROM check_domain",
                row => checkedAt[row.GetString(0)] = DateTimeOffset.FromUnixTimeMilliseconds(row.GetInt64(1)), cancellationToken).ConfigureAwait(false);
            await ReadRowsAsync("SELECT domain, id, severity, subject, message, fix, reference, first_seen_ms FROM check_finding ORDER BY domain, severity DESC, first_seen_ms, ordinal",
                row => Add(findings, row.GetString(0), new RememberedFinding(
                    new CheckFinding(row.GetString(1), Severity(row.GetString(0), row.GetInt32(2)), row.GetString(3), row.GetString(4), row.GetString(5), row.GetString(6)),
                    DateTimeOffset.FromUnixTimeMilliseconds(row.GetInt64(7)))), cancellationToken).ConfigureAwait(false);
            await ReadRowsAsync("SELECT domain, at_ms, change, id, subject, severity, message FROM check_event ORDER BY domain, at_ms DESC, rowid DESC",
                row => Add(timeline, row.GetString(0), new WatchTimelineEvent(
                    DateTimeOffset.FromUnixTimeMilliseconds(row.GetInt64(1)), row.GetString(2), row.GetString(3), row.GetString(4),
                    Severity(row.GetString(0), row.GetInt32(5)), row.GetString(6))), cancellationToken).ConfigureAwait(false);

            void Add<T>(Dictionary<string, List<T>> into, string domain, T item)
            {
                checkedAt.TryAdd(domain, null);
                (into.TryGetValue(domain, out var list) ? list : into[domain] = []).Add(item);
            }

            return checkedAt.Select(d => new WatchedDomain(d.Key, d.Value, findings.GetValueOrDefault(d.Key) ?? [], timeline.GetValueOrDefault(d.Key) ?? [])).ToList();
        }
        catch (SqliteException ex)
        {
            throw Fault("cannot read the monitored domains", ex);
        }
        finally
        {
            _db.Exit();
        }
    }

    private async Task ReadRowsAsync(string sql, Action<SqliteDataReader> row, CancellationToken cancellationToken)
    {
        using var select = _db.Connection.CreateCommand();
        select.CommandText = sql;
        using var reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            row(reader);
        }
    }

    private CheckSeverity Severity(string domain, int stored)
    {
        var severity = (CheckSeverity)stored;
        return Enum.IsDefined(severity)
            ? severity
            : throw new RampartException($"check history '{Location}': domain {domain}: unknown severity {stored.ToString(CultureInfo.InvariantCulture)}; move the file aside (first-seen times restart)");
    }

    // One row per remembered finding; severity is the CheckSeverity number (1 info, 2 warning, 3 failure).
    private static Task InitializeAsync(SqliteConnection connection, string path, CancellationToken cancellationToken) =>
        StateFiles.CreateSchemaAsync(connection, "check history", path, "check_schema_version", SchemaVersion, [], """
            CREATE TABLE IF NOT EXISTS check_finding (
                domain        TEXT    NOT NULL,
                id            TEXT    NOT NULL,
                subject       TEXT    NOT NULL,
                ordinal       INTEGER NOT NULL,
                severity      INTEGER NOT NULL,
                message       TEXT    NOT NULL,
                fix           TEXT    NOT NULL,
                reference     TEXT    NOT NULL,
                first_seen_ms INTEGER NOT NULL,
                PRIMARY KEY (domain, id, subject)
            );
            CREATE TABLE IF NOT EXISTS check_domain (
                domain     TEXT    NOT NULL PRIMARY KEY,
                checked_ms INTEGER NOT NULL
            );
            CREATE TABLE IF NOT EXISTS check_event (
                domain   TEXT    NOT NULL,
                at_ms    INTEGER NOT NULL,
                change   TEXT    NOT NULL,
                id       TEXT    NOT NULL,
                subject  TEXT    NOT NULL,
                severity INTEGER NOT NULL,
                message  TEXT    NOT NULL
            );
            CREATE INDEX IF NOT EXISTS check_event_domain ON check_event (domain, at_ms);
            """, cancellationToken);

    private RampartException Fault(string what, SqliteException ex) => StateFiles.Fault("check history", Location, what, ex, Advice(ex, Location));

    private static string Advice(SqliteException ex, string path) =>
        StateFiles.Advice(ex, path, "move it aside (first-seen times restart)", "is another check monitor using this state directory?");

    public ValueTask DisposeAsync() => _db.DisposeAsync();
}
