using System.Text.RegularExpressions;
using Rampart.Core.IO;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Rampart.Hosting.Configuration;

/// <summary>
/// Reads one YAML configuration file (the daemon's, the publish file and its serve section) through YamlDotNet's
/// parser and node model only: no reflection-based deserialisation, so it is AOT-safe. Every node knows its line and
/// column; every message is one line, <c>FILE:LINE: key.path: message</c>, and all of them are collected, never only
/// the first. Values are typed by <see cref="ConfigSection{T}"/> tables and the readers of <see cref="ConfigTypes"/>.
/// </summary>
public sealed partial class ConfigReader(string source)
{
    private readonly List<string> _errors = [];
    private readonly List<string> _warnings = [];
    private readonly Dictionary<YamlNode, YamlNode> _keyOf = new(ReferenceEqualityComparer.Instance);

    /// <summary>The file name every message starts with.</summary>
    public string Source { get; } = source ?? throw new ArgumentNullException(nameof(source));

    public IReadOnlyList<string> Errors => _errors;

    public IReadOnlyList<string> Warnings => _warnings;

    public bool Succeeded => _errors.Count == 0;

    /// <summary>The text of <paramref name="path"/>, or null with one error naming it (missing, a directory, unreadable).</summary>
    /// <param name="what">What the file should have been, for the directory message ("configuration file").</param>
    public static string? ReadFile(string path, string what, out string? error)
    {
        ArgumentNullException.ThrowIfNull(path);
        error = null;
        // A FIFO would block the open (and every SIGHUP reload after it), a device would never end: refused first.
        if (UserFile.WhyNotReadable(path, UserFile.Limits.Config) is { } unreadable)
        {
            error = $"{path}: {unreadable} (the {what})";
            return null;
        }
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            error = $"{path}: cannot read: {(ex is FileNotFoundException or DirectoryNotFoundException ? "no such file" : ex.Message)}";
            return null;
        }
    }

    /// <summary>
    /// Parses <paramref name="yaml"/> (merge keys <c>&lt;&lt;: *anchor</c> resolved): the root mapping, an empty mapping for
    /// an empty document, or null after an error (syntax with line and column, a duplicate key, two documents, a root
    /// that is not a mapping).
    /// </summary>
    /// <param name="shape">An example of the expected keys, for the "not a mapping" message (<c>host: ..., port: ...</c>).</param>
    public YamlMappingNode? Parse(string yaml, string shape)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        var stream = new YamlStream();
        var parser = new Parser(new StringReader(yaml));
        try
        {
            // The guard refuses an alias before its anchor or inside its own node (a stack overflow in YamlDotNet otherwise).
            stream.Load(new MergingParser(new YamlAliasGuard(parser)));
        }
        catch (YamlException ex)
        {
            _errors.Add($"{Source}:{ex.Start.Line}:{ex.Start.Column}: invalid YAML: {MarkPrefix().Replace(ex.Message, "").ReplaceLineEndings(" ")}");
            return null;
        }
        catch (KeyNotFoundException ex)
        {
            // MergingParser's answer to "<<: *name" with no &name before it; it reads the whole document before merging.
            _errors.Add($"{Source}: invalid YAML: a merge key (<<: *name) names an anchor that no &name defines before it ({OneSentence(ex.Message)})");
            return null;
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException)
        {
            // YamlDotNet throws these instead of a YamlException for some malformed input (found by fuzz/run).
            var at = parser.Current?.End ?? Mark.Empty;
            _errors.Add($"{Source}:{at.Line}:{at.Column}: invalid YAML: unreadable after this point ({OneSentence(ex.Message)})");
            return null;
        }
        if (stream.Documents.Count > 1)
        {
            var second = stream.Documents[1].RootNode.Start;
            _errors.Add($"{Source}:{second.Line}:{second.Column}: invalid YAML: expected one document, found {stream.Documents.Count}");
            return null;
        }
        if (stream.Documents.Count == 0 || IsNull(stream.Documents[0].RootNode))
        {
            return new YamlMappingNode();
        }
        if (stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            var node = stream.Documents[0].RootNode;
            _errors.Add($"{Source}:{node.Start.Line}: the file must be a mapping of keys ({shape}), not {Describe(node)}");
            return null;
        }
        return root;
    }

    /// <summary>An error about the value at <paramref name="node"/>: <c>FILE:LINE: path: message</c>.</summary>
    public void Error(YamlNode node, string path, string message) => _errors.Add(Format(node, path, message));

    /// <summary>A warning about the value at <paramref name="node"/>: <c>FILE:LINE: path: message</c>.</summary>
    public void Warn(YamlNode node, string path, string message) => _warnings.Add(Format(node, path, message));

    /// <summary>An error for a whole file, with no line (a required value missing from an empty file).</summary>
    public void Error(string message) => _errors.Add($"{Source}: {message}");

    /// <summary>
    /// The one rule on unknown keys: an error naming the key, its line and the nearest known key
    /// (<c>FILE:12: unknown key 'cahce' in 'default_zone' (did you mean 'cache'?)</c>), or the known keys when none is near.
    /// </summary>
    public void UnknownKey(YamlNode keyNode, string name, string path, IReadOnlyCollection<string> known)
    {
        ArgumentNullException.ThrowIfNull(keyNode);
        ArgumentNullException.ThrowIfNull(known);
        var where = path.Length == 0 ? "" : $" in '{path}'";
        var hint = NearestName.Find(name, known) is { } nearest
            ? $"did you mean '{nearest}'?"
            : known.Count == 0 ? "no keys are allowed here" : $"known keys: {string.Join(", ", known)}";
        _errors.Add($"{Source}:{keyNode.Start.Line}: unknown key '{name}'{where} ({hint})");
    }

    /// <summary>The entries of a mapping by name, in file order; null (with an error) when the node is not a mapping.</summary>
    public IReadOnlyList<ConfigEntry>? Mapping(YamlNode node, string path)
    {
        ArgumentNullException.ThrowIfNull(node);
        if (node is not YamlMappingNode map)
        {
            Error(node, path, $"must be a mapping of keys, not {Describe(node)}");
            return null;
        }
        foreach (var key in map.Children.Keys.Where(k => k is not YamlScalarNode { Value: not null }))
        {
            Error(key, path.Length == 0 ? "(top level)" : path, $"has a key that is {Describe(key)}, not a name");
        }
        return Entries(map, path);
    }

    /// <summary>The named entries of a mapping already checked by <see cref="Mapping"/>, with no new messages.</summary>
    public IReadOnlyList<ConfigEntry> Entries(YamlMappingNode map, string path)
    {
        ArgumentNullException.ThrowIfNull(map);
        var entries = new List<ConfigEntry>(map.Children.Count);
        foreach (var (key, value) in map.Children)
        {
            if (key is YamlScalarNode { Value: { } name })
            {
                _keyOf[value] = key;
                entries.Add(new ConfigEntry(name, key, value, Child(path, name)));
            }
        }
        return entries;
    }

    /// <summary><c>parent.name</c>, or <c>name</c> at the top level.</summary>
    public static string Child(string path, string name) => path.Length == 0 ? name : $"{path}.{name}";

    private string Format(YamlNode node, string path, string message)
    {
        var line = Line(node);
        return path.Length == 0 ? $"{Source}:{line}: {message}" : $"{Source}:{line}: {path}: {message}";
    }

    /// <summary>A value's line; for a list or mapping written as a block under its key, the key's line.</summary>
    private long Line(YamlNode node) =>
        node is not YamlScalarNode && _keyOf.TryGetValue(node, out var key) ? key.Start.Line : node.Start.Line;

    [GeneratedRegex(@"^\(Line: \d+, Col: \d+, Idx: \d+\) - \(Line: \d+, Col: \d+, Idx: \d+\): ")]
    private static partial Regex MarkPrefix();

    /// <summary>An exception's message as one sentence: no parameter name, no line breaks, no final dot.</summary>
    private static string OneSentence(string message) =>
        message.Split(" (Parameter ", 2)[0].ReplaceLineEndings(" ").Trim().TrimEnd('.');
}

/// <summary>One key of a mapping: its name, the key and value nodes (for their lines) and its dotted path.</summary>
public sealed record ConfigEntry(string Name, YamlNode KeyNode, YamlNode Value, string Path);
