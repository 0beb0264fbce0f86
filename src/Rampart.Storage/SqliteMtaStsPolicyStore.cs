using System.Globalization;
using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;
using Rampart.Core;
using Rampart.Core.MtaSts;

namespace Rampart.Storage;

/// <summary>
/// The embedded MTA-STS policy cache: one SQLite file (<c>&lt;stateDir&gt;/policy-cache.sqlite</c>) that outlives
/// restarts and crashes, so cached policies are enforced before any network is reachable (RFC 8461 §5: a policy
/// holds until max_age expires). Bounded in age (<see cref="PurgeExpiredAsync"/>) and in size
/// (<see cref="SqlitePolicyStoreOptions.MaxEntries"/>).
/// </summary>
/// <remarks>
/// <para>
/// One connection, used by one caller at a time (a <see cref="SemaphoreSlim"/>): SQLite serialises writers anyway,
/// every statement here is a point lookup or a small write, and Microsoft.Data.Sqlite connections are not
/// thread-safe. Other processes (the CLI) may open the same file; WAL lets them read while the daemon writes.
/// </para>
/// <para>
/// Bad data is never an exception: a row whose text no longer parses, whose columns have the wrong type or whose
/// times are out of range is deleted and reads as absent (<see cref="DroppedEntries"/> counts them). Faults (I/O
/// errors, a full disk, a file locked too long) are <see cref="RampartException"/>s naming the file.
/// </para>
/// <para>Times are stored as Unix milliseconds: anything finer than a millisecond is not kept.</para>
/// </remarks>
public sealed class SqliteMtaStsPolicyStore : IPersistentMtaStsPolicyStore
{
    /// <summary>The schema this code writes; a file with a higher version was written by a newer Rampart.</summary>
    internal const int SchemaVersion = 1;

    private const string Columns = "rowid, domain, policy_id, policy_text, fetched_ms, expires_ms, checked_ms, " +
        "typeof(domain) || typeof(policy_id) || typeof(policy_text) || typeof(fetched_ms) || typeof(expires_ms) || typeof(checked_ms), " +
        "decided_without_dane";

    private const string WellTyped = "texttexttextintegerintegerinteger";

    private const string ExpiredOrMistyped = "(expires_ms <= $now OR typeof(expires_ms) <> 'integer')";

    private static readonly long s_minUnixMs = DateTimeOffset.MinValue.ToUnixTimeMilliseconds();
    private static readonly long s_maxUnixMs = DateTimeOffset.MaxValue.ToUnixTimeMilliseconds();

    private readonly SerializedConnection _db;
    private readonly TimeProvider _time;
    private readonly int _maxEntries;

    /// <summary>The lookup by domain, prepared once: after a restart every first lookup of a domain reads it, one at a time.</summary>
    private SqliteCommand? _select;
    private long _dropped;

    private SqliteMtaStsPolicyStore(string path, SqliteConnection connection, int maxEntries, TimeProvider time)
    {
        Path = path;
        _db = new SerializedConnection(connection, nameof(SqliteMtaStsPolicyStore));
        _maxEntries = maxEntries;
        _time = time;
    }

    /// <summary>The database file (full path).</summary>
    public string Path { get; }

    string IPersistentMtaStsPolicyStore.Location => Path;

    /// <summary>Rows found unreadable (corrupt, or text that no longer parses) and deleted since opening.</summary>
    public long DroppedEntries => Interlocked.Read(ref _dropped);

    /// <summary>
    /// Opens the cache at <paramref name="path"/>, creating it and its directory (mode 0700 on Unix) when missing.
    /// </summary>
    /// <exception cref="RampartException">
    /// The file cannot be used (not a database, corrupt, a directory, no permission, a newer schema); the message is
    /// one line that names the file and what to do.
    /// </exception>
    public static async Task<SqliteMtaStsPolicyStore> OpenAsync(
        string path, SqlitePolicyStoreOptions options, TimeProvider time, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxEntries, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.BusyTimeout, TimeSpan.Zero);

        var (fullPath, connection) = await StateFiles.OpenDatabaseAsync(path, "policy cache",
            Math.Max(1, (int)Math.Ceiling(options.BusyTimeout.TotalSeconds)), // 0 would mean wait forever
            "move it aside (it is only a cache, rebuilt from the network) and start again",
            (c, p, ct) => InitializeAsync(c, p, options, ct), Advice, cancellationToken).ConfigureAwait(false);
        return new SqliteMtaStsPolicyStore(fullPath, connection, options.MaxEntries, time);
    }

    /// <summary>
    /// The cached entry for <paramref name="domain"/> (any case), expired or not, as the in-memory store returns it;
    /// null when absent or when the stored row was unreadable (it is then deleted).
    /// </summary>
    public async ValueTask<CachedMtaStsPolicy?> GetAsync(string domain, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(domain);
        string key = Key(domain);
        await _db.EnterAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            long rowId;
            CachedMtaStsPolicy? entry;
            if (_select is null)
            {
                _select = Command($"SELECT {Columns} FROM mta_sts_policy WHERE domain = $domain");
                _select.Parameters.Add("$domain", SqliteType.Text);
                _select.Prepare();
            }
            _select.Parameters[0].Value = key;
            {
                using var reader = await _select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    return null;
                }

                rowId = reader.GetInt64(0);
                entry = TryRead(reader);
            }

            if (entry is null)
            {
                await DeleteRowsAsync([rowId], cancellationToken).ConfigureAwait(false);
            }

            return entry;
        }
        catch (SqliteException ex) when (IsCorruption(ex))
        {
            Interlocked.Increment(ref _dropped); // damaged pages: the entry cannot be read, so it is absent
            return null;
        }
        catch (SqliteException ex)
        {
            throw Fault("reading", ex);
        }
        finally
        {
            _db.Exit();
        }
    }

    /// <summary>
    /// Inserts or replaces the entry for <see cref="CachedMtaStsPolicy.Domain"/> (stored lower case), keeping the DANE
    /// verdict of a replaced entry (<see cref="IMtaStsPolicyStore.SetAsync"/>). A new domain in a full cache first drops
    /// expired entries, then the oldest fetched ones.
    /// </summary>
    public async ValueTask<CachedMtaStsPolicy> SetAsync(CachedMtaStsPolicy entry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentException.ThrowIfNullOrEmpty(entry.Domain);
        ArgumentNullException.ThrowIfNull(entry.Id);
        ArgumentNullException.ThrowIfNull(entry.Policy);
        string key = Key(entry.Domain);
        await _db.EnterAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // BEGIN IMMEDIATE (Microsoft.Data.Sqlite's default): the write lock is taken up front, so the count and
            // the insert cannot interleave with another process's writer.
            using var transaction = _db.Connection.BeginTransaction();
            long now = _time.GetUtcNow().ToUnixTimeMilliseconds();
            if (!await ExistsAsync(key, cancellationToken).ConfigureAwait(false))
            {
                await MakeRoomAsync(now, cancellationToken).ConfigureAwait(false);
            }

            using (var upsert = Command("""
                INSERT INTO mta_sts_policy (domain, policy_id, policy_text, fetched_ms, expires_ms, checked_ms, decided_without_dane)
                VALUES ($domain, $id, $text, $fetched, $expires, $checked, $withoutDane)
                ON CONFLICT (domain) DO UPDATE SET
                    policy_id = excluded.policy_id, policy_text = excluded.policy_text, fetched_ms = excluded.fetched_ms,
                    expires_ms = excluded.expires_ms, checked_ms = excluded.checked_ms
                RETURNING decided_without_dane
                """))
            {
                upsert.Parameters.AddWithValue("$domain", key);
                upsert.Parameters.AddWithValue("$id", entry.Id);
                upsert.Parameters.AddWithValue("$text", entry.Policy.Text);
                upsert.Parameters.AddWithValue("$fetched", entry.FetchedAt.ToUnixTimeMilliseconds());
                upsert.Parameters.AddWithValue("$expires", entry.ExpiresAt.ToUnixTimeMilliseconds());
                upsert.Parameters.AddWithValue("$checked", entry.CheckedAt.ToUnixTimeMilliseconds());
                upsert.Parameters.AddWithValue("$withoutDane", entry.DecidedWithoutDane ? 1L : 0L);
                var withoutDane = await upsert.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long stored && stored != 0; // mistyped: unknown, as reading says
                entry = entry with { DecidedWithoutDane = withoutDane };
            }

            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return entry;
        }
        catch (SqliteException ex)
        {
            throw Fault("writing", ex);
        }
        finally
        {
            _db.Exit();
        }
    }

    /// <summary>Sets the DANE verdict of the domain's entry, if one is stored.</summary>
    public async ValueTask SetDaneVerdictAsync(string domain, bool decidedWithoutDane, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(domain);
        await _db.EnterAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var update = Command("UPDATE mta_sts_policy SET decided_without_dane = $withoutDane WHERE domain = $domain");
            update.Parameters.AddWithValue("$domain", Key(domain));
            update.Parameters.AddWithValue("$withoutDane", decidedWithoutDane ? 1L : 0L);
            await update.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (SqliteException ex)
        {
            throw Fault("writing", ex);
        }
        finally
        {
            _db.Exit();
        }
    }

    /// <summary>Deletes every entry expired now; returns how many. Call it periodically (the daemon does, hourly).</summary>
    public async ValueTask<int> PurgeExpiredAsync(CancellationToken cancellationToken = default)
    {
        await _db.EnterAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var purge = Command($"DELETE FROM mta_sts_policy WHERE {ExpiredOrMistyped}");
            purge.Parameters.AddWithValue("$now", _time.GetUtcNow().ToUnixTimeMilliseconds());
            return await purge.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (SqliteException ex)
        {
            throw Fault("purging", ex);
        }
        finally
        {
            _db.Exit();
        }
    }

    /// <summary>How many entries are stored, expired ones included.</summary>
    public async ValueTask<int> CountAsync(CancellationToken cancellationToken = default)
    {
        await _db.EnterAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await CountCoreAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (SqliteException ex)
        {
            throw Fault("counting", ex);
        }
        finally
        {
            _db.Exit();
        }
    }

    /// <summary>How many rows one page of <see cref="EnumerateValidAsync"/> reads while it holds the connection.</summary>
    internal const int ValidPageSize = 1000;

    /// <summary>
    /// Every entry still valid now, in domain order, read <see cref="ValidPageSize"/> rows at a time: the connection is
    /// held while a page is read, never while the caller works on its entries (a proactive sweep looks up and writes
    /// policies meanwhile), and only one page is in memory (100,000 parsed policies at once were about 50 MiB).
    /// Unreadable rows are deleted and left out. An entry written during the walk may or may not be seen.
    /// </summary>
    public async IAsyncEnumerable<CachedMtaStsPolicy> EnumerateValidAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        object? after = null; // the last domain read: the next page starts after it (keyset paging on the primary key)
        while (true)
        {
            var (page, last, full) = await ReadValidPageAsync(after, cancellationToken).ConfigureAwait(false);
            foreach (var entry in page)
            {
                yield return entry;
            }
            if (!full)
            {
                yield break;
            }
            after = last;
        }
    }

    private async Task<(List<CachedMtaStsPolicy> Valid, object? Last, bool Full)> ReadValidPageAsync(object? after, CancellationToken cancellationToken)
    {
        await _db.EnterAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var valid = new List<CachedMtaStsPolicy>();
            var bad = new List<long>();
            object? last = null;
            int rows = 0;
            using (var select = Command($"SELECT {Columns} FROM mta_sts_policy WHERE {(after is null ? "" : "domain > $after AND ")}" +
                "(expires_ms > $now OR typeof(expires_ms) <> 'integer') ORDER BY domain LIMIT $limit"))
            {
                select.Parameters.AddWithValue("$now", _time.GetUtcNow().ToUnixTimeMilliseconds());
                select.Parameters.AddWithValue("$limit", ValidPageSize);
                if (after is not null)
                {
                    select.Parameters.AddWithValue("$after", after);
                }
                using var reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    rows++;
                    last = reader.GetValue(1); // as stored, whatever its type: SQLite orders mistyped keys too
                    if (TryRead(reader) is { } entry)
                    {
                        valid.Add(entry);
                    }
                    else
                    {
                        bad.Add(reader.GetInt64(0));
                    }
                }
            }

            await DeleteRowsAsync(bad, cancellationToken).ConfigureAwait(false);
            return (valid, last, rows == ValidPageSize);
        }
        catch (SqliteException ex)
        {
            throw Fault("loading", ex);
        }
        finally
        {
            _db.Exit();
        }
    }

    /// <summary>Closes the file. Calls already waiting finish first; later calls throw <see cref="ObjectDisposedException"/>.</summary>
    public ValueTask DisposeAsync() => _db.DisposeAsync(() => _select?.DisposeAsync() ?? ValueTask.CompletedTask);

    /// <summary>Pragmas, integrity check and schema. Runs on every open.</summary>
    private static async Task InitializeAsync(SqliteConnection connection, string path, SqlitePolicyStoreOptions options, CancellationToken cancellationToken)
    {
        // Durability: WAL with synchronous=NORMAL. A commit appends the transaction to the -wal file with write(2)
        // before COMMIT returns; only checkpoints fsync. Once write(2) returns the data is in the kernel's page cache,
        // so a process crash (kill -9, OOM kill, an abort) loses nothing committed: the next open replays the WAL.
        // Only an OS crash or power loss can lose the last few commits, and never corrupts the file (WAL frames carry
        // checksums). FULL would fsync on every commit for that case alone, and a policy cache can refetch what it
        // loses. The kill -9 guarantee is tested (SqliteMtaStsPolicyStoreCrashTests).
        long busyMs = (long)options.BusyTimeout.TotalMilliseconds;
        await StateFiles.ExecuteAsync(connection, $"PRAGMA busy_timeout = {busyMs.ToString(CultureInfo.InvariantCulture)}", cancellationToken).ConfigureAwait(false);
        await StateFiles.ExecuteAsync(connection, "PRAGMA journal_mode = WAL", cancellationToken).ConfigureAwait(false); // first read of the header: garbage fails here
        await StateFiles.ExecuteAsync(connection, "PRAGMA synchronous = NORMAL", cancellationToken).ConfigureAwait(false);
        await StateFiles.ExecuteAsync(connection, "PRAGMA journal_size_limit = 4194304", cancellationToken).ConfigureAwait(false); // WAL truncated back to 4 MiB after checkpoints

        using (var check = connection.CreateCommand())
        {
            check.CommandText = "PRAGMA quick_check(1)";
            var verdict = await check.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as string;
            if (verdict != "ok")
            {
                throw new RampartException(
                    $"policy cache '{path}' is corrupt (integrity check: {StateFiles.OneLine(verdict ?? "no answer")}); move it aside (it is only a cache, rebuilt from the network) and start again");
            }
        }

        using var transaction = connection.BeginTransaction();
        await StateFiles.ExecuteAsync(connection, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)", cancellationToken).ConfigureAwait(false);
        using (var version = connection.CreateCommand())
        {
            version.CommandText = "SELECT max(version) FROM schema_version";
            var found = await version.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
            if (found is long v && v > SchemaVersion)
            {
                throw new RampartException(
                    $"policy cache '{path}' has schema version {v.ToString(CultureInfo.InvariantCulture)}, newer than this Rampart's {SchemaVersion.ToString(CultureInfo.InvariantCulture)}; run the newer Rampart, or move the file aside (it is only a cache)");
            }
        }

        // domain: the lower-case key. Times: Unix milliseconds. expires_ms is indexed for purges, fetched_ms for
        // evicting the oldest.
        await StateFiles.ExecuteAsync(connection, $"""
            CREATE TABLE IF NOT EXISTS mta_sts_policy (
                domain      TEXT    NOT NULL PRIMARY KEY,
                policy_id   TEXT    NOT NULL,
                policy_text TEXT    NOT NULL,
                fetched_ms  INTEGER NOT NULL,
                expires_ms  INTEGER NOT NULL,
                checked_ms  INTEGER NOT NULL,
                decided_without_dane INTEGER NOT NULL DEFAULT 1
            );
            CREATE INDEX IF NOT EXISTS mta_sts_policy_expires ON mta_sts_policy (expires_ms);
            CREATE INDEX IF NOT EXISTS mta_sts_policy_fetched ON mta_sts_policy (fetched_ms);
            INSERT INTO schema_version (version) SELECT {SchemaVersion} WHERE NOT EXISTS (SELECT 1 FROM schema_version);
            """, cancellationToken).ConfigureAwait(false);
        await AddDaneVerdictColumnAsync(connection, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// decided_without_dane (<see cref="CachedMtaStsPolicy.DecidedWithoutDane"/>) came after schema version 1 and needs
    /// no new version: a file written before it gains the column with 1 for its rows (a Rampart that fetched a policy
    /// only once DANE had not applied wrote them), and an older Rampart reading or writing this file ignores the column
    /// (its new rows get the same default, for the same reason).
    /// </summary>
    private static async Task AddDaneVerdictColumnAsync(SqliteConnection connection, CancellationToken cancellationToken)
    {
        using var has = connection.CreateCommand();
        has.CommandText = "SELECT count(*) FROM pragma_table_info('mta_sts_policy') WHERE name = 'decided_without_dane'";
        if (await has.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is 0L)
        {
            await StateFiles.ExecuteAsync(connection,
                "ALTER TABLE mta_sts_policy ADD COLUMN decided_without_dane INTEGER NOT NULL DEFAULT 1", cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Before a new domain goes in: at the bound, drop expired entries, then the oldest fetched.</summary>
    private async Task MakeRoomAsync(long now, CancellationToken cancellationToken)
    {
        int count = await CountCoreAsync(cancellationToken).ConfigureAwait(false);
        if (count < _maxEntries)
        {
            return;
        }

        using (var expired = Command($"DELETE FROM mta_sts_policy WHERE {ExpiredOrMistyped}"))
        {
            expired.Parameters.AddWithValue("$now", now);
            count -= await expired.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        if (count >= _maxEntries)
        {
            using var oldest = Command(
                "DELETE FROM mta_sts_policy WHERE rowid IN (SELECT rowid FROM mta_sts_policy ORDER BY fetched_ms, domain LIMIT $excess)");
            oldest.Parameters.AddWithValue("$excess", count - _maxEntries + 1);
            await oldest.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<bool> ExistsAsync(string key, CancellationToken cancellationToken)
    {
        using var exists = Command("SELECT EXISTS (SELECT 1 FROM mta_sts_policy WHERE domain = $domain)");
        exists.Parameters.AddWithValue("$domain", key);
        return await exists.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is 1L;
    }

    private async Task<int> CountCoreAsync(CancellationToken cancellationToken)
    {
        using var count = Command("SELECT count(*) FROM mta_sts_policy");
        return Convert.ToInt32(await count.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture);
    }

    private async Task DeleteRowsAsync(IReadOnlyList<long> rowIds, CancellationToken cancellationToken)
    {
        foreach (long rowId in rowIds)
        {
            using var delete = Command("DELETE FROM mta_sts_policy WHERE rowid = $rowid");
            delete.Parameters.AddWithValue("$rowid", rowId);
            await delete.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            Interlocked.Increment(ref _dropped);
        }
    }

    /// <summary>The entry in the current row (columns as <see cref="Columns"/>), or null when anything in it is unusable.</summary>
    private static CachedMtaStsPolicy? TryRead(SqliteDataReader reader)
    {
        if (reader.IsDBNull(7) || reader.GetString(7) != WellTyped)
        {
            return null;
        }

        string domain = reader.GetString(1);
        string id = reader.GetString(2);
        string text = reader.GetString(3);
        long fetched = reader.GetInt64(4);
        long expires = reader.GetInt64(5);
        long checkedAt = reader.GetInt64(6);
        if (domain.Length == 0 || domain != Key(domain) || !InRange(fetched) || !InRange(expires) || !InRange(checkedAt))
        {
            return null;
        }

        if (MtaStsPolicyParser.Parse(text).Policy is not { } policy)
        {
            return null; // stored by a version whose parser was laxer, or damaged: refetch rather than enforce it
        }

        return new CachedMtaStsPolicy(domain, id, policy,
            DateTimeOffset.FromUnixTimeMilliseconds(fetched),
            DateTimeOffset.FromUnixTimeMilliseconds(expires),
            DateTimeOffset.FromUnixTimeMilliseconds(checkedAt))
        {
            DecidedWithoutDane = reader.GetValue(8) is long withoutDane && withoutDane != 0, // mistyped: unknown, so not served first
        };
    }

    private static bool InRange(long unixMs) => unixMs >= s_minUnixMs && unixMs <= s_maxUnixMs;

    private static string Key(string domain) => domain.ToLowerInvariant();

    private SqliteCommand Command(string sql)
    {
        var command = _db.Connection.CreateCommand();
        command.CommandText = sql;
        return command;
    }

    private RampartException Fault(string action, SqliteException ex) =>
        StateFiles.Fault("policy cache", Path, action + " failed", ex, Advice(ex, Path));

    // Primary result codes, https://sqlite.org/rescode.html
    private const int SqlitePerm = 3, SqliteBusy = 5, SqliteLocked = 6, SqliteReadOnly = 8, SqliteIoErr = 10,
        SqliteCorrupt = 11, SqliteFull = 13, SqliteCantOpen = 14, SqliteAuth = 23, SqliteNotADb = 26;

    private static bool IsCorruption(SqliteException ex) => ex.SqliteErrorCode is SqliteCorrupt or SqliteNotADb;

    private static string Advice(SqliteException ex, string path) => ex.SqliteErrorCode switch
    {
        SqliteCorrupt or SqliteNotADb =>
            "it is not a SQLite database or is damaged; move it aside (it is only a cache, rebuilt from the network) and start again",
        SqlitePerm or SqliteReadOnly or SqliteCantOpen or SqliteAuth =>
            $"check that the Rampart user can read and write it and its directory '{System.IO.Path.GetDirectoryName(path)}' (the -wal and -shm files are created there), or move it aside",
        SqliteBusy or SqliteLocked => "another process holds it locked; stop the other Rampart using this state directory",
        SqliteFull => "the disk is full; free space",
        SqliteIoErr => "the disk returned an I/O error; check the disk, or move the file aside",
        _ => "move it aside (it is only a cache, rebuilt from the network) and start again",
    };
}
