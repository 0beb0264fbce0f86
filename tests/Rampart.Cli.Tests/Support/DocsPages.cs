using System.Text.RegularExpressions;

namespace Rampart.Cli.Tests.Support;

/// <summary>The repository's docs/ pages and the anchors their headings make (GitHub's rule).</summary>
internal static partial class DocsPages
{
    /// <summary>The repository root: the first directory above the test binary with docs/checks.md.</summary>
    public static string Root { get; } = FindRoot();

    /// <summary>The anchors of <paramref name="page"/>'s headings: lower case, punctuation dropped, spaces as '-'; a repeated one gets -1, -2….</summary>
    public static HashSet<string> Anchors(string page)
    {
        var anchors = new HashSet<string>(StringComparer.Ordinal);
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var line in File.ReadLines(Path.Combine(Root, page)).Where(l => l.StartsWith('#')))
        {
            var slug = NotInAnchor().Replace(line.TrimStart('#').Trim().ToLowerInvariant(), "").Replace(' ', '-');
            anchors.Add(seen.TryGetValue(slug, out var n) ? $"{slug}-{n + 1}" : slug);
            seen[slug] = seen.TryGetValue(slug, out var m) ? m + 1 : 0;
        }
        return anchors;
    }

    [GeneratedRegex(@"[^\p{L}\p{N}_ \-]")]
    private static partial Regex NotInAnchor();

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "docs", "checks.md")))
        {
            dir = dir.Parent;
        }
        return dir?.FullName ?? throw new FileNotFoundException("docs/checks.md not found above " + AppContext.BaseDirectory);
    }
}
