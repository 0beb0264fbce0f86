using System.Text;

namespace Rampart.Core.Policy.Pinned;

/// <summary>
/// The operator's local overrides: a Postfix-table-like text file (the shape of an <c>smtp_tls_policy_maps</c>
/// source), one policy per logical line.
/// </summary>
/// <remarks>
/// <code>
/// # comment (first non-blank character '#'); blank lines are ignored
/// example.org    secure match=mx.example.org:.backup.example.org
/// example.net    encrypt
/// example.com    dane-only
/// .example.edu   verify match=hostname servername=hostname
/// </code>
/// <list type="bullet">
/// <item>Key: a destination domain (exact match), or <c>.domain</c> for every subdomain at any depth
/// (<c>.example.edu</c> covers <c>a.example.edu</c> and <c>a.b.example.edu</c>, not <c>example.edu</c>, as in
/// Postfix tables with <c>parent_domain_matches_subdomains</c> off). An exact key beats a suffix key; a longer
/// suffix beats a shorter one. Next-hop keys (<c>[mx.example.com]:25</c>) are rejected.</item>
/// <item>Level: <c>none</c>, <c>may</c>, <c>encrypt</c>, <c>dane</c>, <c>dane-only</c>, <c>verify</c>, <c>secure</c>
/// (Postfix TLS_README). <c>fingerprint</c> and the legacy levels are rejected.</item>
/// <item>Attributes: <c>match=</c> (verify and secure only; colon-separated host names, <c>.suffix</c> names and the
/// Postfix keywords <c>hostname</c>, <c>nexthop</c>, <c>dot-nexthop</c>) and <c>servername=</c> (any level but
/// none; <c>hostname</c>, <c>nexthop</c> or a host name). Any other attribute is an error.</item>
/// <item>As in Postfix tables, a line that starts with white space continues the previous logical line.</item>
/// </list>
/// Every error is collected with its line number; a line with an error yields no entry (the other lines are kept).
/// A key that appears twice keeps its first entry and reports the second as an error.
/// </remarks>
public sealed class PinnedOverrides
{
    /// <summary>Upper bound on the text read (characters).</summary>
    public const int MaxChars = 10_000_000;

    private static readonly string s_levelNames = string.Join(", ", Enum.GetValues<TlsLevel>().Select(TlsRequirement.LevelName));
    private static readonly string[] s_matchKeywords = ["hostname", "nexthop", "dot-nexthop"];

    private PinnedOverrides(string source, IReadOnlyList<PinnedPolicy> entries, IReadOnlyList<PinnedDiagnostic> errors)
    {
        Source = source;
        Entries = entries;
        Errors = errors;
    }

    /// <summary>An overrides set with no entries.</summary>
    public static PinnedOverrides Empty { get; } = new("(none)", [], []);

    /// <summary>The file name (or other label) the text came from.</summary>
    public string Source { get; }

    /// <summary>The valid entries, in file order; all enforced (<see cref="PinnedPolicyMode.Enforce"/>).</summary>
    public IReadOnlyList<PinnedPolicy> Entries { get; }

    /// <summary>Every problem found, with 1-based line numbers.</summary>
    public IReadOnlyList<PinnedDiagnostic> Errors { get; }

    public bool IsValid => Errors.Count == 0;

    /// <summary>Reads an overrides text. Never throws on content: problems are returned in <see cref="Errors"/>.</summary>
    public static PinnedOverrides Parse(string text, string source)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(source);
        var errors = new List<PinnedDiagnostic>();
        var entries = new List<PinnedPolicy>();
        if (text.Length > MaxChars)
        {
            errors.Add(new(source, 0, null, $"the overrides file is larger than {MaxChars} characters; nothing was read"));
            return new(source, entries, errors);
        }

        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (line, content) in LogicalLines(text, source, errors))
        {
            var entry = ParseLine(content, line, source, errors);
            if (entry is null)
            {
                continue;
            }

            if (seen.TryGetValue(entry.Domain, out int first))
            {
                errors.Add(new(source, line, null, $"duplicate key '{entry.Domain}' (first on line {first}); this line is ignored"));
                continue;
            }

            seen.Add(entry.Domain, line);
            entries.Add(entry);
        }

        return new(source, entries, errors);
    }

    /// <summary>Joins continuation lines; skips blank and comment lines. Yields the first physical line's number.</summary>
    private static List<(int Line, string Content)> LogicalLines(string text, string source, List<PinnedDiagnostic> errors)
    {
        var result = new List<(int Line, string Content)>();
        var current = new StringBuilder();
        int start = 0;
        int number = 0;
        foreach (var raw in text.AsSpan().EnumerateLines())
        {
            number++;
            var line = raw.ToString();
            if (line.Length > 0 && line[^1] == '\r')
            {
                line = line[..^1];
            }

            string trimmed = line.Trim();
            if (trimmed.Length == 0 || trimmed[0] == '#')
            {
                continue;
            }

            if (char.IsWhiteSpace(line[0]))
            {
                if (start == 0)
                {
                    errors.Add(new(source, number, null, "line starts with white space but there is no entry to continue; remove the indentation"));
                    continue;
                }

                current.Append(' ').Append(trimmed);
                continue;
            }

            if (start != 0)
            {
                result.Add((start, current.ToString()));
            }

            current.Clear().Append(trimmed);
            start = number;
        }

        if (start != 0)
        {
            result.Add((start, current.ToString()));
        }

        return result;
    }

    private static PinnedPolicy? ParseLine(string content, int line, string source, List<PinnedDiagnostic> errors)
    {
        string[] tokens = content.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        int before = errors.Count;
        void Error(string message) => errors.Add(new(source, line, null, message));

        if (!PinnedSyntax.TryParseDomainKey(tokens[0], allowSuffix: true, out string? key, out string? keyError))
        {
            Error($"key: {keyError}");
        }

        if (tokens.Length < 2)
        {
            Error($"'{PinnedSyntax.Printable(tokens[0])}' has no TLS level; expected one of {s_levelNames}");
            return null;
        }

        string level = tokens[1].ToLowerInvariant();
        bool levelOk = TlsRequirement.TryParseLevel(level, out TlsLevel parsedLevel);
        if (!levelOk)
        {
            Error(level == "fingerprint"
                ? "level 'fingerprint' is not supported in overrides; use 'dane-only' with published TLSA records, or 'secure match=…'"
                : $"unknown TLS level '{PinnedSyntax.Printable(tokens[1])}'; expected one of {s_levelNames}");
        }

        List<string>? match = null;
        string? serverName = null;
        foreach (string attribute in tokens.AsSpan(2))
        {
            int eq = attribute.IndexOf('=', StringComparison.Ordinal);
            string name = eq < 0 ? attribute : attribute[..eq].ToLowerInvariant();
            string value = eq < 0 ? "" : attribute[(eq + 1)..];
            switch (name)
            {
                case "match" when eq > 0:
                    if (match is not null)
                    {
                        Error("match= is given twice");
                        break;
                    }

                    match = ParseMatch(value, Error);
                    if (levelOk && parsedLevel is not (TlsLevel.Verify or TlsLevel.Secure))
                    {
                        Error($"match= applies only to the verify and secure levels, not '{level}'");
                    }

                    break;
                case "servername" when eq > 0:
                    if (serverName is not null)
                    {
                        Error("servername= is given twice");
                        break;
                    }

                    serverName = ParseServerName(value, Error);
                    if (level == "none")
                    {
                        Error("servername= has no effect with level 'none'");
                    }

                    break;
                default:
                    Error($"unsupported attribute '{PinnedSyntax.Printable(attribute)}'; overrides accept match= and servername= only");
                    break;
            }
        }

        if (errors.Count != before || key is null)
        {
            return null;
        }

        var requirement = TlsRequirement.Enforce(parsedLevel, match ?? [], serverName);
        return new PinnedPolicy(key, requirement, PinnedPolicyMode.Enforce, new PinnedPolicySource(PinnedPolicyOrigin.Override, source, line, key));
    }

    private static List<string>? ParseMatch(string value, Action<string> error)
    {
        if (value.Length == 0)
        {
            error("match= is empty; give host names or '.suffix' names separated by ':'");
            return null;
        }

        var items = new List<string>();
        foreach (string item in value.Split(':'))
        {
            string lower = item.ToLowerInvariant();
            if (item.Length == 0)
            {
                error($"match='{PinnedSyntax.Printable(value)}' has an empty item (two ':' in a row or a ':' at an end)");
            }
            else if (s_matchKeywords.Contains(lower))
            {
                AddDistinct(items, lower);
            }
            else if (PinnedSyntax.TryParseNamePattern(item, out string? pattern, out string? reason))
            {
                AddDistinct(items, pattern);
            }
            else
            {
                error($"match= item: {reason}");
            }
        }

        return items;
    }

    private static string? ParseServerName(string value, Action<string> error)
    {
        string lower = value.ToLowerInvariant();
        if (lower is "hostname" or "nexthop")
        {
            return lower;
        }

        if (value.StartsWith('.') || !PinnedSyntax.TryParseNamePattern(value, out string? name, out string? reason))
        {
            error(value.Length == 0
                ? "servername= is empty; use 'hostname', 'nexthop' or a host name"
                : $"servername= must be 'hostname', 'nexthop' or a host name, not '{PinnedSyntax.Printable(value)}'");
            return null;
        }

        _ = reason;
        return name;
    }

    private static void AddDistinct(List<string> items, string item)
    {
        if (!items.Contains(item))
        {
            items.Add(item);
        }
    }
}
