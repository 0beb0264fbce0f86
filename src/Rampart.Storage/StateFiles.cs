using Microsoft.Data.Sqlite;
using Rampart.Core;

namespace Rampart.Storage;

/// <summary>What the SQLite stores share about their files in the state directory.</summary>
internal static class StateFiles
{
    /// <summary>A message from the runtime or SQLite as one line, without its final period.</summary>
    public static string OneLine(string message) => message.ReplaceLineEndings(" ").Trim().TrimEnd('.');

    /// <summary>
    /// A SQLite fault of a store as one line: <c>STORE 'PATH': WHAT: SQLITE MESSAGE; ADVICE</c> (the advice from the
    /// store's own <see cref="Advice(SqliteException, string, string, string)"/> texts).
    /// </summary>
    public static RampartException Fault(string store, string path, string what, SqliteException ex, string advice) =>
        new($"{store} '{path}': {what}: {OneLine(ex.Message)}; {advice}", ex);

    /// <summary>
    /// Creates the directory of <paramref name="fullPath"/> when missing, owner-only on Unix (a policy cache reveals whom
    /// the host mails, a report store who mails it); a failure is a <see cref="RampartException"/> naming the directory
    /// and <paramref name="what"/> needed it.
    /// </summary>
    public static void EnsureDirectory(string fullPath, string what)
    {
        var directory = Path.GetDirectoryName(fullPath);
        if (string.IsNullOrEmpty(directory) || Directory.Exists(directory))
        {
            return;
        }
        try
        {
            if (OperatingSystem.IsWindows())
            {
                Directory.CreateDirectory(directory);
            }
            else
            {
                Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new RampartException(
                $"cannot create the state directory '{directory}' for {what}: {OneLine(ex.Message)}; create it (owned by the Rampart user, mode 0700) or choose another state directory", ex);
        }
    }

    /// <summary>Runs one statement (or a script) that returns no rows.</summary>
    public static async Task ExecuteAsync(SqliteConnection connection, string sql, CancellationToken cancellationToken)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// What to do about a SQLite fault on <paramref name="path"/>, in words: <paramref name="rebuild"/> for a damaged file
    /// (what is lost by moving it aside), <paramref name="locked"/> for a file another process holds.
    /// </summary>
    public static string Advice(SqliteException ex, string path, string rebuild, string locked) => ex.SqliteErrorCode switch
    {
        11 or 26 => "it is not a SQLite database or is damaged; " + rebuild,
        3 or 8 or 14 or 23 => $"check that this user can read and write it and its directory '{Path.GetDirectoryName(path)}'",
        5 or 6 => "another process holds it locked; " + locked,
        13 => "the disk is full; free space",
        10 => "the disk returned an I/O error; check the disk",
        _ => rebuild,
    };

    /// <summary>
    /// Opens the SQLite file at <paramref name="path"/> (creating it, and its directory with mode 0700, when missing),
    /// without pooling so that disposing closes the file, and runs <paramref name="initialize"/> on it. Every fault is a
    /// one-line <see cref="RampartException"/> that starts with <paramref name="what"/> and the file: an unusable name,
    /// a directory in its place (<paramref name="directoryAdvice"/> says what to do), or a SQLite error
    /// (<paramref name="advice"/> says what to do).
    /// </summary>
    /// <param name="what">What the file is, for messages: "policy cache", "TLS-RPT store", "check history".</param>
    public static async Task<(string FullPath, SqliteConnection Connection)> OpenDatabaseAsync(
        string path, string what, int busyTimeoutSeconds, string directoryAdvice,
        Func<SqliteConnection, string, CancellationToken, Task> initialize, Func<SqliteException, string, string> advice,
        CancellationToken cancellationToken)
    {
        string fullPath;
        try
        {
            fullPath = Path.GetFullPath(path);
        }
        catch (Exception ex) when (ex is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw new RampartException($"{what} path '{path}' is not a usable file name: {OneLine(ex.Message)}", ex);
        }
        EnsureDirectory(fullPath, "the " + what);
        if (Directory.Exists(fullPath))
        {
            throw new RampartException($"{what} '{fullPath}' is a directory, not a database file; {directoryAdvice}");
        }
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = fullPath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = false, // a pooled connection would keep the file open after DisposeAsync
            DefaultTimeout = busyTimeoutSeconds,
        }.ToString());
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            await initialize(connection, fullPath, cancellationToken).ConfigureAwait(false);
            return (fullPath, connection);
        }
        catch (SqliteException ex)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw new RampartException($"{what} '{fullPath}' cannot be used: {OneLine(ex.Message)}; {advice(ex, fullPath)}", ex);
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Creates <paramref name="versionTable"/> when missing and refuses a file written by a newer Rampart (a schema
    /// version above <paramref name="schemaVersion"/>) with a one-line <see cref="RampartException"/> naming it.
    /// Run inside the transaction that then creates the tables.
    /// </summary>
    public static async Task<long?> RequireKnownSchemaAsync(
        SqliteConnection connection, string versionTable, int schemaVersion, string what, string path, CancellationToken cancellationToken)
    {
        await ExecuteAsync(connection, $"CREATE TABLE IF NOT EXISTS {versionTable} (version INTEGER NOT NULL)", cancellationToken).ConfigureAwait(false);
        using var version = connection.CreateCommand();
        version.CommandText = $"SELECT max(version) FROM {versionTable}";
        var stored = await version.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as long?;
        if (stored is { } v && v > schemaVersion)
        {
            throw new RampartException(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"{what} '{path}' has schema version {v}, newer than this Rampart's {schemaVersion}; run the newer Rampart"));
        }
        return stored;
    }

    /// <summary>
    /// Sets up a store kept in WAL with synchronous=NORMAL: those pragmas and then <paramref name="pragmas"/>; then, in
    /// one transaction, refuses a newer schema (<see cref="RequireKnownSchemaAsync"/>), runs
    /// <paramref name="createTables"/> (statements that keep what exists) and records <paramref name="schemaVersion"/>
    /// in <paramref name="versionTable"/> when it holds none. A store written by an older schema is brought up to date in
    /// the same transaction by <paramref name="upgrade"/> (called with the stored version, after the tables are created),
    /// and its version is then recorded as <paramref name="schemaVersion"/>.
    /// </summary>
    public static async Task CreateSchemaAsync(SqliteConnection connection, string what, string path, string versionTable,
        int schemaVersion, string[] pragmas, string createTables, CancellationToken cancellationToken,
        Func<long, CancellationToken, Task>? upgrade = null)
    {
        await ExecuteAsync(connection, "PRAGMA journal_mode = WAL", cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, "PRAGMA synchronous = NORMAL", cancellationToken).ConfigureAwait(false);
        foreach (var pragma in pragmas)
        {
            await ExecuteAsync(connection, pragma, cancellationToken).ConfigureAwait(false);
        }
        using var transaction = connection.BeginTransaction();
        var stored = await RequireKnownSchemaAsync(connection, versionTable, schemaVersion, what, path, cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, createTables + string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"\nINSERT INTO {versionTable} (version) SELECT {schemaVersion} WHERE NOT EXISTS (SELECT 1 FROM {versionTable});"),
            cancellationToken).ConfigureAwait(false);
        if (upgrade is not null && stored is { } old && old < schemaVersion)
        {
            await upgrade(old, cancellationToken).ConfigureAwait(false);
            await ExecuteAsync(connection, string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"UPDATE {versionTable} SET version = {schemaVersion}"), cancellationToken).ConfigureAwait(false);
        }
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }
}
