using Microsoft.Data.Sqlite;
using Rampart.Core;

namespace Rampart.Storage;

/// <summary>What the SQLite stores share about their files in the state directory.</summary>
internal static class StateFiles
{
    /// <summary>A message from the runtime or SQLite as one line, without its final period.</summary>
    public static string OneLine(string message) => message.ReplaceLineEndings(" ").Trim().TrimEnd('.');

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
}
