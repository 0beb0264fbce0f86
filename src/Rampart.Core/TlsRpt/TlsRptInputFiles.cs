namespace Rampart.Core.TlsRpt;

/// <summary>The files to read, and the paths that could not be used at all (missing, unreadable folder).</summary>
public sealed record TlsRptInputFileList(IReadOnlyList<string> Files, IReadOnlyList<string> Errors);

/// <summary>
/// Expands what an operator names on the command line into files: a file is itself; a Maildir (a folder with
/// <c>cur/</c> and <c>new/</c>) is the messages in <c>cur/</c> and <c>new/</c> plus its Maildir++ sub-folders
/// (<c>.Name/</c>), never <c>tmp/</c> or Dovecot's index files; any other folder is every file below it, hidden ones
/// (<c>.name</c>) left out. Order is stable (ordinal by path) so two runs read the same sequence.
/// </summary>
public static class TlsRptInputFiles
{
    public static TlsRptInputFileList Expand(IEnumerable<string> paths)
    {
        ArgumentNullException.ThrowIfNull(paths);
        var files = new List<string>();
        var errors = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var path in paths)
        {
            try
            {
                if (File.Exists(path))
                {
                    Add(path);
                }
                else if (Directory.Exists(path))
                {
                    foreach (var file in IsMaildir(path) ? Maildir(path) : Folder(path))
                    {
                        Add(file);
                    }
                }
                else
                {
                    errors.Add($"{path}: no such file or directory");
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                errors.Add($"{path}: cannot be read ({TlsRptReportParser.OneLine(ex.Message)})");
            }
        }
        return new TlsRptInputFileList(files, errors);

        void Add(string file)
        {
            if (seen.Add(Path.GetFullPath(file)))
            {
                files.Add(file);
            }
        }
    }

    /// <summary>True for a Maildir: a folder holding both <c>cur/</c> and <c>new/</c>.</summary>
    public static bool IsMaildir(string folder) =>
        Directory.Exists(Path.Combine(folder, "cur")) && Directory.Exists(Path.Combine(folder, "new"));

    private static IEnumerable<string> Maildir(string folder)
    {
        foreach (var sub in new[] { "cur", "new" })
        {
            foreach (var file in Directory.EnumerateFiles(Path.Combine(folder, sub)).Where(f => !Path.GetFileName(f).StartsWith('.')).Order(StringComparer.Ordinal))
            {
                yield return file;
            }
        }
        foreach (var sub in Directory.EnumerateDirectories(folder).Where(d => Path.GetFileName(d).StartsWith('.') && IsMaildir(d)).Order(StringComparer.Ordinal))
        {
            foreach (var file in Maildir(sub))
            {
                yield return file;
            }
        }
    }

    private static IEnumerable<string> Folder(string folder)
    {
        foreach (var file in Directory.EnumerateFiles(folder).Where(f => !Path.GetFileName(f).StartsWith('.')).Order(StringComparer.Ordinal))
        {
            yield return file;
        }
        foreach (var sub in Directory.EnumerateDirectories(folder).Where(d => !Path.GetFileName(d).StartsWith('.')).Order(StringComparer.Ordinal))
        {
            foreach (var file in IsMaildir(sub) ? Maildir(sub) : Folder(sub))
            {
                yield return file;
            }
        }
    }
}
