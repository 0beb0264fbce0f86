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
}
