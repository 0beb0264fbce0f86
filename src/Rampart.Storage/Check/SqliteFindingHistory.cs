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
public sealed class SqliteFindingHistory : IWatchHistory, IAsyncDisposable
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
                var severity = (CheckSeverity)reader.GetInt32(1);
                if (!Enum.IsDefined(severity))
                {
                    throw new RampartException($"check history '{Location}': domain {domain}: unknown severity {reader.GetInt32(1).ToString(CultureInfo.InvariantCulture)}; move the file aside (first-seen times restart)");
                }
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
            """, cancellationToken);

    private RampartException Fault(string what, SqliteException ex) => StateFiles.Fault("check history", Location, what, ex, Advice(ex, Location));

    private static string Advice(SqliteException ex, string path) =>
        StateFiles.Advice(ex, path, "move it aside (first-seen times restart)", "is another check monitor using this state directory?");

    public ValueTask DisposeAsync() => _db.DisposeAsync();
}
