using YamlDotNet.RepresentationModel;

namespace Rampart.Hosting.Configuration;

/// <summary>Reads one value of a type, reporting an error in the user's terms (and returning false) when it is not one.</summary>
public delegate bool ConfigValueReader<TValue>(ConfigReader reader, YamlNode node, string path, out TValue value);

/// <summary>A value type of the configuration files: its name in the docs ("seconds, > 0") and its reader.</summary>
public sealed record ConfigType<TValue>(string Name, ConfigValueReader<TValue> Read);

/// <summary>The value types the configuration files share, each read by <see cref="ConfigReader"/>'s YAML 1.1 rules.</summary>
public static class ConfigTypes
{
    public static readonly ConfigType<bool> Bool = Value<bool>("true or false", (r, n, p) => r.Bool(n, p));

    public static readonly ConfigType<string> Text = Reference<string>("text", (r, n, p) => r.Text(n, p));

    public static readonly ConfigType<string> AbsolutePath = Reference<string>("absolute path", (r, n, p) => r.AbsolutePath(n, p));

    public static readonly ConfigType<IReadOnlyList<string>> TextList = Reference<IReadOnlyList<string>>("text or a list of text", (r, n, p) => r.TextList(n, p));

    public static readonly ConfigType<int> Port = Value<int>("port number (1-65535)", (r, n, p) => r.Port(n, p));

    public static ConfigType<int> Int(int min, int max) => Value<int>($"whole number ({min}..{max})", (r, n, p) => r.Int(n, p, min, max));

    public static ConfigType<TimeSpan> Seconds(bool allowZero, double? max = null) =>
        Value<TimeSpan>($"seconds, {(allowZero ? ">= 0" : "> 0")}{(max is { } m ? $", <= {m}" : "")}", (r, n, p) => r.Seconds(n, p, allowZero, max));

    /// <summary>A number greater than 0.</summary>
    public static readonly ConfigType<double> PositiveNumber = Value<double>("number > 0", (r, n, p) =>
    {
        if (r.Number(n, p) is not { } number)
        {
            return null;
        }
        if (number > 0)
        {
            return number;
        }
        r.Error(n, p, $"'{ConfigReader.ValueText(n)}' must be greater than 0");
        return null;
    });

    /// <summary>How much a host logs: <c>trace</c>, <c>debug</c>, <c>info</c>, <c>warning</c> or <c>error</c>.</summary>
    public static readonly ConfigType<Microsoft.Extensions.Logging.LogLevel> LogLevel = Value<Microsoft.Extensions.Logging.LogLevel>(
        "trace|debug|info|warning|error", (r, n, p) => OneOf("a log level", "trace", "debug", "info", "warning", "error").Read(r, n, p, out var word)
            ? word switch
            {
                "trace" => Microsoft.Extensions.Logging.LogLevel.Trace,
                "debug" => Microsoft.Extensions.Logging.LogLevel.Debug,
                "info" => Microsoft.Extensions.Logging.LogLevel.Information,
                "warning" => Microsoft.Extensions.Logging.LogLevel.Warning,
                _ => Microsoft.Extensions.Logging.LogLevel.Error,
            }
            : null);

    /// <summary>One of a fixed set of words (<c>cache.type</c>), named in the error.</summary>
    public static ConfigType<string> OneOf(string what, params string[] words) => Reference<string>(string.Join("|", words), (r, n, p) =>
    {
        if (r.Text(n, p) is not { } text)
        {
            return null;
        }
        if (words.Contains(text, StringComparer.Ordinal))
        {
            return text;
        }
        r.Error(n, p, $"'{text}' is not {what} ({string.Join(", ", words[..^1])} or {words[^1]})");
        return null;
    });

    /// <summary>A type for values that are text read by a parser of their own (an address, a URL); the parser gives the error.</summary>
    public static ConfigType<TValue> Parsed<TValue>(string name, TryParse<TValue> parse) where TValue : class =>
        Reference<TValue>(name, (r, n, p) =>
        {
            if (r.Text(n, p) is not { } text)
            {
                return null;
            }
            if (parse(text, out var value, out var error))
            {
                return value;
            }
            r.Error(n, p, error);
            return null;
        });

    public delegate bool TryParse<TValue>(string text, out TValue? value, out string error);

    public static ConfigType<TValue> Value<TValue>(string name, Func<ConfigReader, YamlNode, string, TValue?> read) where TValue : struct =>
        new(name, (ConfigReader r, YamlNode n, string p, out TValue v) =>
        {
            var read1 = read(r, n, p);
            v = read1.GetValueOrDefault();
            return read1.HasValue;
        });

    public static ConfigType<TValue> Reference<TValue>(string name, Func<ConfigReader, YamlNode, string, TValue?> read) where TValue : class =>
        new(name, (ConfigReader r, YamlNode n, string p, out TValue v) =>
        {
            var read1 = read(r, n, p);
            v = read1!;
            return read1 is not null;
        });
}

/// <summary>One row of a schema table, for the docs and for tests that hold the docs to the tables.</summary>
/// <param name="Ignored">Why Rampart accepts and ignores this key (a warning says so), or null for a key it uses.</param>
public sealed record ConfigKeyDoc(string Name, string Type, string Default, string Doc, string? Ignored = null);

/// <summary>
/// A table of the keys of one mapping of a configuration file: each key's type, default, doc line and what it sets.
/// <see cref="Read"/> walks the mapping once in file order: a known key is read by its type and applied, a key with no
/// value keeps its default, a key the table marks ignored is a warning that says why, and any other key is an error
/// naming the nearest known key (<see cref="ConfigReader.UnknownKey"/>), unless the table takes any key
/// (<see cref="AnyOtherKey"/>: redis options, zone names).
/// </summary>
public sealed class ConfigSection<T>
{
    private readonly List<(ConfigKeyDoc Doc, Func<ConfigReader, ConfigEntry, T, T> Apply)> _keys = [];
    private (string Doc, Func<ConfigReader, ConfigEntry, T, T> Apply)? _other;

    public IReadOnlyList<ConfigKeyDoc> Keys => _keys.Select(k => k.Doc).ToList();

    /// <summary>What <see cref="AnyOtherKey"/> takes, for the docs; null when other keys are errors.</summary>
    public string? OtherKeysDoc => _other?.Doc;

    /// <summary>A key read by <paramref name="type"/> and applied by <paramref name="set"/>.</summary>
    public ConfigSection<T> Key<TValue>(string name, ConfigType<TValue> type, string @default, string doc, Func<T, TValue, T> set)
    {
        ArgumentNullException.ThrowIfNull(type);
        ArgumentNullException.ThrowIfNull(set);
        return Add(new ConfigKeyDoc(name, type.Name, @default, doc), (r, e, t) => type.Read(r, e.Value, e.Path, out var v) ? set(t, v) : t);
    }

    /// <summary>A key with its own reading (a nested list, a value that depends on another key).</summary>
    public ConfigSection<T> Key(string name, string type, string @default, string doc, Func<ConfigReader, ConfigEntry, T, T> read) =>
        Add(new ConfigKeyDoc(name, type, @default, doc), read);

    /// <summary>A key read elsewhere together with its siblings (host/port/path/mode): known here, so not an error.</summary>
    public ConfigSection<T> KeyReadWithOthers(string name, string type, string @default, string doc) =>
        Add(new ConfigKeyDoc(name, type, @default, doc), (_, _, t) => t);

    /// <summary>A nested mapping with its own table; its value starts from <paramref name="get"/> (the defaults).</summary>
    public ConfigSection<T> Section<TInner>(string name, ConfigSection<TInner> inner, string doc, Func<T, TInner> get, Func<T, TInner, T> set)
    {
        ArgumentNullException.ThrowIfNull(inner);
        return Add(new ConfigKeyDoc(name, "mapping", "", doc), (r, e, t) => set(t, inner.Read(r, e.Value, e.Path, get(t))));
    }

    /// <summary>Every key of <paramref name="inner"/>, applied to the part of this section's value <paramref name="get"/> gives.</summary>
    public ConfigSection<T> Include<TInner>(ConfigSection<TInner> inner, Func<T, TInner> get, Func<T, TInner, T> set)
    {
        ArgumentNullException.ThrowIfNull(inner);
        foreach (var (doc, apply) in inner._keys)
        {
            Add(doc, (r, e, t) => set(t, apply(r, e, get(t))));
        }
        return this;
    }

    /// <summary>
    /// A key of postfix-mta-sts-resolver that Rampart accepts and does not use: read by <paramref name="type"/> (a bad
    /// value is still an error), kept by <paramref name="set"/> when given, and warned: <c>REASON, ignored</c>.
    /// </summary>
    /// <param name="reason">Why it is ignored, in the warning's words: "not supported (Rampart sizes its own SQLite connections)".</param>
    public ConfigSection<T> Ignored<TValue>(string name, ConfigType<TValue> type, string reason, Func<T, TValue, T>? set = null)
    {
        ArgumentNullException.ThrowIfNull(type);
        return Add(new ConfigKeyDoc(name, type.Name, "", "", reason), (r, e, t) =>
        {
            if (!type.Read(r, e.Value, e.Path, out var value))
            {
                return t;
            }
            r.Warn(e.Value, e.Path, $"{reason}, ignored");
            return set is null ? t : set(t, value);
        });
    }

    /// <summary>Every key not in the table goes to <paramref name="read"/> instead of being an error.</summary>
    public ConfigSection<T> AnyOtherKey(string doc, Func<ConfigReader, ConfigEntry, T, T> read)
    {
        _other = (doc, read);
        return this;
    }

    /// <summary>Reads <paramref name="node"/> (a mapping, or null for all defaults) into <paramref name="target"/>.</summary>
    public T Read(ConfigReader reader, YamlNode node, string path, T target)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(node);
        if (ConfigReader.IsNull(node) || reader.Mapping(node, path) is not { } entries)
        {
            return target;
        }
        foreach (var entry in entries)
        {
            var known = _keys.FindIndex(k => k.Doc.Name == entry.Name);
            if (known < 0 && _other is { } other)
            {
                target = other.Apply(reader, entry, target);
            }
            else if (known < 0)
            {
                reader.UnknownKey(entry.KeyNode, entry.Name, path, _keys.Select(k => k.Doc.Name).ToList());
            }
            else if (!ConfigReader.IsNull(entry.Value))
            {
                target = _keys[known].Apply(reader, entry, target); // "key:" with no value keeps the default
            }
        }
        return target;
    }

    private ConfigSection<T> Add(ConfigKeyDoc doc, Func<ConfigReader, ConfigEntry, T, T> apply)
    {
        ArgumentNullException.ThrowIfNull(doc.Name);
        _keys.Add((doc, apply));
        return this;
    }
}
