using Rampart.Core.MtaSts;
using System.Globalization;
using System.Text.RegularExpressions;
using Rampart.Core.Dns;
using Rampart.Core.Policy;
using Rampart.Hosting;
using Rampart.Postfix.Daemon;
using Rampart.Postfix.Socketmap;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace Rampart.Postfix.Config;

/// <summary>
/// Walks the YAML tree of a daemon configuration once, collecting warnings and errors as "file: key.path: message".
/// Scalars are typed as PyYAML (YAML 1.1) types them, because that is how postfix-mta-sts-resolver reads the same file:
/// <c>yes</c>/<c>on</c> are booleans, <c>0666</c> is octal, and a quoted <c>"false"</c> is a string (an error here,
/// where the peer would have treated it as true).
/// </summary>
internal sealed partial class DaemonConfigReader(string sourceName)
{
    private static readonly HashSet<string> s_rampartKeys = new(StringComparer.Ordinal) { "listen", "state_dir", "resolver", "ca_file", "overrides", "policy_list", "metrics", "user", "group" };

    private static readonly string[] s_peerListenKeys = ["host", "port", "path", "mode"];
    private static readonly string[] s_tcpKeys = ["host", "port"];

    private readonly List<string> _warnings = [];
    private readonly List<string> _errors = [];

    public DaemonConfigLoadResult Read(string yaml)
    {
        var config = new DaemonConfiguration { SourceName = sourceName };
        var stream = new YamlStream();
        var parser = new Parser(new StringReader(yaml));
        try
        {
            stream.Load(new MergingParser(new YamlAliasGuard(parser)));
        }
        catch (YamlException ex)
        {
            _errors.Add($"{sourceName}:{ex.Start.Line}:{ex.Start.Column}: invalid YAML: {StripMark(ex.Message)}");
            return Result(config);
        }
        catch (KeyNotFoundException ex)
        {
            // MergingParser's answer to "<<: *name" when no anchor "&name" comes before it (found by fuzz/run). It reads
            // the whole document before merging, so the parser's position says nothing about where the alias is.
            _errors.Add($"{sourceName}: invalid YAML: a merge key (<<: *name) names an anchor that no &name defines before it ({OneSentence(ex.Message)})");
            return Result(config);
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException)
        {
            // YamlDotNet throws these instead of a YamlException for some malformed input (an unclosed flow collection
            // around a multi-line scalar, a NUL where a node belongs, a tag that is not a URI): found by fuzz/run.
            var at = parser.Current?.End ?? Mark.Empty;
            _errors.Add($"{sourceName}:{at.Line}:{at.Column}: invalid YAML: unreadable after this point ({OneSentence(ex.Message)})");
            return Result(config);
        }

        if (stream.Documents.Count > 1)
        {
            var second = stream.Documents[1].RootNode.Start;
            _errors.Add($"{sourceName}:{second.Line}:{second.Column}: invalid YAML: expected one document, found {stream.Documents.Count}");
            return Result(config);
        }

        if (stream.Documents.Count == 0 || IsNull(stream.Documents[0].RootNode))
        {
            return Result(config);
        }

        if (stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            _errors.Add($"{sourceName}: the file must be a mapping of keys (host: ..., port: ...), not {Describe(stream.Documents[0].RootNode)}");
            return Result(config);
        }

        return Result(ReadRoot(root, config));
    }

    private DaemonConfigLoadResult Result(DaemonConfiguration config) => new(config, _warnings, _errors);

    private DaemonConfiguration ReadRoot(YamlMappingNode root, DaemonConfiguration config)
    {
        var keys = Entries(root, "");
        if (keys.Keys.Any(s_rampartKeys.Contains))
        {
            config = config with { Dialect = DaemonConfigDialect.Rampart };
        }

        foreach (var (key, value) in keys)
        {
            if (IsNull(value))
            {
                continue; // "key:" with no value: the default, as if absent
            }

            switch (key)
            {
                case "host" or "port" or "path" or "mode" or "listen":
                    break; // below, together
                case "reuse_port":
                    if (Bool(value, key) is { } reuse)
                    {
                        config = config with { ReusePort = reuse };
                        if (reuse)
                        {
                            Warn(key, "true is not supported (Rampart binds its socket exclusively; run one instance per address)");
                        }
                    }
                    break;
                case "shutdown_timeout":
                    if (Seconds(value, key, allowZero: true) is { } shutdown)
                    {
                        config = config with { ShutdownTimeout = shutdown };
                    }
                    break;
                case "cache_grace":
                    if (Seconds(value, key, allowZero: true) is { } grace)
                    {
                        config = config with { CacheGrace = grace };
                    }
                    break;
                case "cache":
                    config = config with { Cache = ReadCache(value, key) };
                    break;
                case "proactive_policy_fetching":
                    config = config with { ProactiveFetching = ReadProactive(value, key) };
                    break;
                case "default_zone":
                    config = config with { DefaultZone = ReadZone(value, key, SocketmapZone.DefaultName) };
                    break;
                case "zones":
                    config = config with { Zones = ReadZones(value, key) };
                    break;
                case "state_dir":
                    config = config with { StateDirectory = AbsolutePath(value, key) };
                    break;
                case "ca_file":
                    config = config with { CaFile = AbsolutePath(value, key) };
                    break;
                case "resolver":
                    if (String(value, key) is { } resolver)
                    {
                        if (ResolverEndpoint.TryParse(resolver, out _, out var resolverError))
                        {
                            config = config with { Resolver = resolver };
                        }
                        else
                        {
                            Error(key, resolverError);
                        }
                    }
                    break;
                case "overrides":
                    config = config with { Overrides = AbsolutePath(value, key) };
                    break;
                case "policy_list":
                    config = config with { PolicyList = AbsolutePath(value, key) };
                    break;
                case "metrics":
                    if (String(value, key) is { } metrics)
                    {
                        if (System.Net.IPEndPoint.TryParse(metrics, out var metricsEndpoint) && metricsEndpoint.Port != 0)
                        {
                            config = config with { Metrics = metricsEndpoint };
                        }
                        else
                        {
                            Error(key, $"'{metrics}' is not IP:PORT (e.g. 127.0.0.1:9461)");
                        }
                    }
                    break;
                case "user":
                    config = config with { User = String(value, key) };
                    break;
                case "group":
                    config = config with { Group = String(value, key) };
                    break;
                default:
                    Warn(key, "unknown key, ignored");
                    break;
            }
        }

        if (ReadListen(keys) is { } listen)
        {
            config = config with { Listen = listen };
        }

        return config;
    }

    private List<SocketmapEndpoint>? ReadListen(Dictionary<string, YamlNode> keys)
    {
        keys.TryGetValue("host", out var hostNode);
        keys.TryGetValue("port", out var portNode);
        keys.TryGetValue("mode", out var modeNode);
        keys.TryGetValue("listen", out var listenNode);
        string? path = keys.TryGetValue("path", out var pathNode) ? AbsolutePath(pathNode, "path") : null;
        bool hasPath = pathNode is not null && !IsNull(pathNode);

        if (listenNode is not null && !IsNull(listenNode))
        {
            foreach (var peerKey in s_peerListenKeys.Where(k => keys.TryGetValue(k, out var n) && !IsNull(n)))
            {
                Error(peerKey, "cannot be combined with listen (list every address under listen)");
            }

            return ReadListenList(listenNode);
        }

        UnixFileMode? mode = modeNode is null || IsNull(modeNode) ? null : Mode(modeNode, "mode");
        if (hasPath)
        {
            foreach (var ignored in s_tcpKeys.Where(k => keys.TryGetValue(k, out var n) && !IsNull(n)))
            {
                Warn(ignored, "ignored because path is set (a Unix socket is used instead of TCP)");
            }

            if (path is null)
            {
                return null;
            }

            if (!SocketmapEndpoint.TryParse("unix:" + path, out var unix, out var unixError))
            {
                Error("path", unixError);
                return null;
            }

            return [unix with { UnixSocketMode = mode }];
        }

        if (mode is not null)
        {
            Warn("mode", "ignored: it applies only to a Unix socket (path)");
        }

        if ((hostNode is null || IsNull(hostNode)) && (portNode is null || IsNull(portNode)))
        {
            return null;
        }

        var host = hostNode is null || IsNull(hostNode) ? DaemonConfiguration.DefaultHost : String(hostNode, "host");
        int? port = portNode is null || IsNull(portNode) ? DaemonConfiguration.DefaultPort : Int(portNode, "port", 1, 65535);
        if (host is null || port is null)
        {
            return null;
        }

        var literal = host.Contains(':', StringComparison.Ordinal) && !host.StartsWith('[') ? $"[{host}]" : host;
        if (!SocketmapEndpoint.TryParse(string.Create(CultureInfo.InvariantCulture, $"{literal}:{port}"), out var tcp, out _))
        {
            Error("host", $"'{host}' is not an IPv4 address, an IPv6 address or localhost (Rampart does not resolve host names to listen on)");
            return null;
        }

        return [tcp];
    }

    private List<SocketmapEndpoint>? ReadListenList(YamlNode node)
    {
        var items = node is YamlSequenceNode sequence ? sequence.Children.ToList() : [node];
        var endpoints = new List<SocketmapEndpoint>();
        bool ok = true;
        for (int i = 0; i < items.Count; i++)
        {
            var key = node is YamlSequenceNode ? $"listen[{i}]" : "listen";
            if (ReadListenItem(items[i], key) is { } endpoint)
            {
                endpoints.Add(endpoint);
            }
            else
            {
                ok = false;
            }
        }

        if (ok && endpoints.Count == 0)
        {
            Error("listen", "is empty: give at least one address");
            return null;
        }

        return ok ? endpoints : null;
    }

    private SocketmapEndpoint? ReadListenItem(YamlNode node, string key)
    {
        string? address;
        UnixFileMode? mode = null;
        string? owner = null;
        if (node is YamlMappingNode map)
        {
            var entries = Entries(map, key);
            address = entries.TryGetValue("address", out var a) ? String(a, key + ".address") : null;
            if (a is null)
            {
                Error(key, "needs address: (127.0.0.1:8461 or unix:/path)");
            }

            if (entries.TryGetValue("mode", out var m) && !IsNull(m))
            {
                mode = Mode(m, key + ".mode");
                if (mode is null)
                {
                    return null;
                }
            }

            if (entries.TryGetValue("owner", out var o) && !IsNull(o))
            {
                owner = String(o, key + ".owner");
            }

            foreach (var unknown in entries.Keys.Where(k => k is not ("address" or "mode" or "owner")))
            {
                Warn($"{key}.{unknown}", "unknown key, ignored");
            }
        }
        else
        {
            address = String(node, key); // unix:/path:0660 is parsed by SocketmapEndpoint
        }

        if (address is null)
        {
            return null;
        }

        if (!SocketmapEndpoint.TryParse(address, out var endpoint, out var error))
        {
            Error(key, error);
            return null;
        }

        if ((mode is not null || owner is not null) && endpoint.UnixSocketPath is null)
        {
            Warn(key, "mode and owner ignored: they apply only to a Unix socket");
            return endpoint;
        }

        return endpoint with { UnixSocketMode = mode ?? endpoint.UnixSocketMode, UnixSocketOwner = owner };
    }

    private DaemonCacheSettings ReadCache(YamlNode node, string key)
    {
        var cache = new DaemonCacheSettings();
        if (Map(node, key) is not { } entries)
        {
            return cache;
        }

        if (entries.TryGetValue("type", out var typeNode) && !IsNull(typeNode) && String(typeNode, key + ".type") is { } type)
        {
            switch (type)
            {
                case "internal":
                    break;
                case "sqlite":
                    cache = cache with { Kind = DaemonCacheKind.Sqlite };
                    break;
                case "redis":
                    cache = cache with { Kind = DaemonCacheKind.Redis };
                    break;
                case "postgres":
                    cache = cache with { Kind = DaemonCacheKind.Postgres };
                    Warn(key + ".type", "postgres is not supported yet; Rampart uses its SQLite cache in the state directory");
                    break;
                default:
                    Error(key + ".type", $"'{type}' is not a cache type (internal, sqlite, redis or postgres)");
                    break;
            }
        }

        var optionsKey = key + ".options";
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        var optionEntries = entries.TryGetValue("options", out var optionsNode) ? Map(optionsNode, optionsKey) : null;
        foreach (var (name, value) in optionEntries ?? [])
        {
            var path = $"{optionsKey}.{name}";
            if (IsNull(value))
            {
                continue;
            }

            if (value is YamlScalarNode scalar)
            {
                options[name] = scalar.Value ?? "";
            }

            switch (cache.Kind, name)
            {
                case (DaemonCacheKind.Internal, "cache_size"):
                    if (Int(value, path, 1, int.MaxValue) is { } size)
                    {
                        cache = cache with { InternalSize = size };
                    }
                    break;
                case (DaemonCacheKind.Sqlite, "filename"):
                    cache = cache with { SqliteFile = AbsolutePath(value, path) };
                    break;
                case (DaemonCacheKind.Sqlite, "threads"):
                    if (Int(value, path, 1, 1024) is { } threads)
                    {
                        cache = cache with { SqliteThreads = threads };
                        Warn(path, "not supported (Rampart sizes its own SQLite connections), ignored");
                    }
                    break;
                case (DaemonCacheKind.Sqlite, "timeout"):
                    if (Seconds(value, path, allowZero: false) is { } lockTimeout)
                    {
                        cache = cache with { SqliteTimeout = lockTimeout };
                    }
                    break;
                case (DaemonCacheKind.Redis, "url") when value is not YamlScalarNode:
                    Error(path, $"must be a single value, not {Describe(value)}");
                    break;
                case (DaemonCacheKind.Redis, "url"):
                    if (String(value, path) is { } url)
                    {
                        if (Rampart.Storage.RedisServerAddress.TryParse(url, out var address, out var urlError))
                        {
                            foreach (var ignored in address.IgnoredParameters)
                            {
                                Warn(path, $"parameter {ignored} is not used by Rampart, ignored");
                            }
                        }
                        else
                        {
                            Error(path, urlError);
                        }
                    }
                    break;
                case (DaemonCacheKind.Redis, "key_prefix"):
                    if (String(value, path) is { Length: 0 })
                    {
                        Error(path, "must not be empty");
                    }
                    break;
                case (DaemonCacheKind.Redis, _):
                    if (value is not YamlScalarNode)
                    {
                        Error(path, $"must be a single value, not {Describe(value)}");
                    }
                    Warn(path, "not used by Rampart (one connection per daemon, its own timeouts), ignored");
                    break;
                case (DaemonCacheKind.Postgres, _):
                    if (value is not YamlScalarNode)
                    {
                        Error(path, $"must be a single value, not {Describe(value)}");
                    }
                    break; // kept as text; the type itself is warned
                default:
                    Warn(path, $"unknown option for cache type {cache.Kind.ToString().ToLowerInvariant()}, ignored");
                    break;
            }
        }

        if (cache.Kind == DaemonCacheKind.Redis && !(optionEntries?.ContainsKey("url") ?? false))
        {
            Error(optionsKey + ".url", "is required when cache.type is redis (redis://host:6379/0 or unix:///run/redis/redis.sock)");
        }

        if (cache.Kind == DaemonCacheKind.Sqlite && cache.SqliteFile is null
            && !(optionEntries?.ContainsKey("filename") ?? false))
        {
            Error(optionsKey + ".filename", "is required when cache.type is sqlite");
        }

        foreach (var unknown in entries.Keys.Where(k => k is not ("type" or "options")))
        {
            Warn($"{key}.{unknown}", "unknown key, ignored");
        }

        return cache with { Options = options };
    }

    private MtaStsRefreshSettings ReadProactive(YamlNode node, string key)
    {
        var settings = new MtaStsRefreshSettings();
        foreach (var (name, value) in Map(node, key) ?? [])
        {
            var path = $"{key}.{name}";
            if (IsNull(value))
            {
                continue;
            }

            switch (name)
            {
                case "enabled":
                    if (Bool(value, path) is { } enabled)
                    {
                        settings = settings with { Enabled = enabled };
                    }
                    break;
                case "interval":
                    if (Int(value, path, 1, int.MaxValue) is { } interval)
                    {
                        settings = settings with { Interval = TimeSpan.FromSeconds(interval) };
                    }
                    break;
                case "concurrency_limit":
                    if (Int(value, path, 1, 100_000) is { } limit)
                    {
                        settings = settings with { ConcurrencyLimit = limit };
                    }
                    break;
                case "grace_ratio":
                    if (Number(value, path) is { } ratio)
                    {
                        if (ratio > 0)
                        {
                            settings = settings with { GraceRatio = ratio };
                        }
                        else
                        {
                            Error(path, $"'{Text(value)}' must be greater than 0");
                        }
                    }
                    break;
                default:
                    Warn(path, "unknown key, ignored");
                    break;
            }
        }

        return settings;
    }

    private Dictionary<string, DaemonZone> ReadZones(YamlNode node, string key)
    {
        var zones = new Dictionary<string, DaemonZone>(StringComparer.Ordinal);
        foreach (var (name, value) in Map(node, key) ?? [])
        {
            var path = $"{key}.{name}";
            if (name.Length == 0 || name.Any(c => c == ':' || char.IsWhiteSpace(c) || char.IsControl(c)))
            {
                Error(path, $"'{name}' cannot be a socketmap name (no colons or spaces)");
                continue;
            }

            zones[name] = ReadZone(value, path, name);
        }

        return zones;
    }

    private DaemonZone ReadZone(YamlNode node, string key, string name)
    {
        var settings = new SenderPolicySettings();
        var timeout = DaemonZone.DefaultTimeout;
        foreach (var (option, value) in Map(node, key) ?? [])
        {
            var path = $"{key}.{option}";
            if (IsNull(value))
            {
                continue;
            }

            switch (option)
            {
                case "strict_testing":
                    if (Bool(value, path) is { } strict)
                    {
                        settings = settings with { StrictTesting = strict };
                    }
                    break;
                case "require_sni":
                    if (Bool(value, path) is { } sni)
                    {
                        settings = settings with { RequireSni = sni };
                    }
                    break;
                case "timeout":
                    if (Seconds(value, path, allowZero: false) is { } seconds)
                    {
                        if (seconds > TimeSpan.FromSeconds(600))
                        {
                            Error(path, $"'{Text(value)}' is more than 600 seconds");
                        }
                        else
                        {
                            timeout = seconds;
                        }
                    }
                    break;
                case "tlsrpt":
                    if (Bool(value, path) is { } tlsrpt)
                    {
                        settings = settings with { TlsRpt = tlsrpt };
                    }
                    break;
                default:
                    Warn(path, "unknown key, ignored");
                    break;
            }
        }

        return new DaemonZone(new SocketmapZone(name, settings), timeout);
    }

    // ---- typed scalars (PyYAML's YAML 1.1 resolver) ----

    private Dictionary<string, YamlNode>? Map(YamlNode node, string key)
    {
        if (IsNull(node))
        {
            return null; // "zones:" with nothing under it: the defaults
        }

        if (node is not YamlMappingNode map)
        {
            Error(key, $"must be a mapping of keys, not {Describe(node)}");
            return null;
        }

        return Entries(map, key);
    }

    private Dictionary<string, YamlNode> Entries(YamlMappingNode map, string key)
    {
        var entries = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
        foreach (var (k, v) in map.Children)
        {
            if (k is not YamlScalarNode { Value: { } name })
            {
                Error(key.Length == 0 ? "(top level)" : key, $"has a key that is {Describe(k)}, not a name");
                continue;
            }

            entries[name] = v;
        }

        return entries;
    }

    private bool? Bool(YamlNode node, string key)
    {
        if (node is YamlScalarNode { Style: ScalarStyle.Plain, Value: { } text } scalar && scalar.Tag.IsEmpty)
        {
            switch (text)
            {
                case "true" or "True" or "TRUE" or "yes" or "Yes" or "YES" or "on" or "On" or "ON":
                    return true;
                case "false" or "False" or "FALSE" or "no" or "No" or "NO" or "off" or "Off" or "OFF":
                    return false;
            }
        }

        Error(key, node is YamlScalarNode { Style: not ScalarStyle.Plain }
            ? $"'{Text(node)}' is quoted text, not a boolean (write true or false without quotes)"
            : $"'{Text(node)}' is not a boolean (true or false)");
        return null;
    }

    private string? String(YamlNode node, string key)
    {
        if (node is YamlScalarNode { Value: { } text } && !IsNull(node) && text.Length > 0)
        {
            return text;
        }

        Error(key, IsNull(node) ? "is empty" : $"must be text, not {Describe(node)}");
        return null;
    }

    private string? AbsolutePath(YamlNode node, string key)
    {
        if (String(node, key) is not { } path)
        {
            return null;
        }

        if (!Path.IsPathFullyQualified(path))
        {
            Error(key, $"'{path}' is not an absolute path");
            return null;
        }

        return path;
    }

    private int? Int(YamlNode node, string key, int min, int max)
    {
        if (!TryInteger(node, out long value))
        {
            Error(key, $"'{Text(node)}' is not a whole number");
            return null;
        }

        if (value < min || value > max)
        {
            Error(key, $"'{Text(node)}' is out of range ({min}..{max})");
            return null;
        }

        return (int)value;
    }

    private double? Number(YamlNode node, string key)
    {
        if (TryInteger(node, out long whole))
        {
            return whole;
        }

        if (node is YamlScalarNode { Value: { } text }
            && FloatPattern().IsMatch(text)
            && double.TryParse(text.Replace("_", "", StringComparison.Ordinal), NumberStyles.Float, CultureInfo.InvariantCulture, out double value)
            && double.IsFinite(value))
        {
            return value;
        }

        Error(key, $"'{Text(node)}' is not a number");
        return null;
    }

    private TimeSpan? Seconds(YamlNode node, string key, bool allowZero)
    {
        if (Number(node, key) is not { } seconds)
        {
            return null;
        }

        if (seconds < 0 || (!allowZero && seconds == 0) || seconds > TimeSpan.MaxValue.TotalSeconds / 2)
        {
            Error(key, $"'{Text(node)}' must be a number of seconds {(allowZero ? "of 0 or more" : "greater than 0")}");
            return null;
        }

        return TimeSpan.FromSeconds(seconds);
    }

    /// <summary>
    /// postfix-mta-sts-resolver's <c>mode</c>: an integer as YAML 1.1 reads it, so <c>0666</c> is octal and <c>438</c>
    /// decimal. Rampart also takes <c>0o666</c> and quoted <c>"0660"</c> (always octal).
    /// </summary>
    private UnixFileMode? Mode(YamlNode node, string key)
    {
        var text = Text(node);
        long value;
        if (node is YamlScalarNode { Style: not ScalarStyle.Plain } && SocketmapEndpoint.TryParseMode(text, out var quoted, out _))
        {
            return quoted;
        }

        if (text.StartsWith("0o", StringComparison.Ordinal) && text.Length > 2 && text[2..].All(c => c is >= '0' and <= '7'))
        {
            value = Convert.ToInt64(text[2..], 8);
        }
        else if (!TryInteger(node, out value))
        {
            Error(key, $"'{text}' is not a file mode (octal with a leading zero, such as 0660)");
            return null;
        }
        else if (!text.StartsWith('0') && value is > 7)
        {
            Warn(key, $"{text} is decimal (octal {Convert.ToString(value, 8)}), as postfix-mta-sts-resolver reads it; write 0{text} for octal");
        }

        if (value is < 0 or > 0xFFF)
        {
            Error(key, $"'{text}' is not a file mode (0000..07777)");
            return null;
        }

        return (UnixFileMode)value;
    }

    /// <summary>YAML 1.1 integers: decimal, 0octal, 0x hex, 0b binary, with '_' separators. Quoted decimals are accepted too.</summary>
    private static bool TryInteger(YamlNode node, out long value)
    {
        value = 0;
        if (node is not YamlScalarNode { Value: { } raw } scalar || IsNull(node))
        {
            return false;
        }

        var text = raw.Replace("_", "", StringComparison.Ordinal);
        bool negative = text.StartsWith('-');
        var digits = text.TrimStart('-', '+');
        if (digits.Length == 0 || text.Length - digits.Length > 1)
        {
            return false;
        }

        bool plain = scalar.Style == ScalarStyle.Plain;
        try
        {
            if (plain && digits.StartsWith("0x", StringComparison.OrdinalIgnoreCase) && digits.Length > 2)
            {
                value = long.Parse(digits[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
            }
            else if (plain && digits.StartsWith("0b", StringComparison.Ordinal) && digits.Length > 2 && digits[2..].All(c => c is '0' or '1'))
            {
                value = Convert.ToInt64(digits[2..], 2);
            }
            else if (plain && digits.Length > 1 && digits[0] == '0' && digits.All(c => c is >= '0' and <= '7'))
            {
                value = Convert.ToInt64(digits, 8);
            }
            else if (digits.All(char.IsAsciiDigit) && (digits.Length == 1 || digits[0] != '0' || !plain))
            {
                value = long.Parse(digits, NumberStyles.None, CultureInfo.InvariantCulture);
            }
            else
            {
                return false;
            }
        }
        catch (Exception ex) when (ex is FormatException or OverflowException)
        {
            return false;
        }

        value = negative ? -value : value;
        return true;
    }

    private static bool IsNull(YamlNode node) =>
        node is YamlScalarNode { Style: ScalarStyle.Plain, Value: null or "" or "~" or "null" or "Null" or "NULL" } scalar
        && scalar.Tag.IsEmpty;

    private static string Text(YamlNode node) => node switch
    {
        YamlScalarNode s => s.Value ?? "",
        YamlSequenceNode => "a list",
        _ => "a mapping",
    };

    private static string Describe(YamlNode node) => node switch
    {
        YamlScalarNode s when IsNull(s) => "empty",
        YamlScalarNode s => $"'{s.Value}'",
        YamlSequenceNode => "a list",
        _ => "a mapping",
    };

    private static string StripMark(string message) => MarkPrefix().Replace(message, "");

    /// <summary>The library's message without its parameter suffix, on one line.</summary>
    private static string OneSentence(string message) => message.Split(" (Parameter ", 2)[0].ReplaceLineEndings(" ").TrimEnd('.');

    private void Warn(string key, string message) => _warnings.Add($"{sourceName}: {key}: {message}");

    private void Error(string key, string message) => _errors.Add($"{sourceName}: {key}: {message}");

    [GeneratedRegex(@"^[-+]?([0-9][0-9_]*)?\.[0-9_]*([eE][-+]?[0-9]+)?$|^[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+$")]
    private static partial Regex FloatPattern();

    [GeneratedRegex(@"^\(Line: \d+, Col: \d+, Idx: \d+\) - \(Line: \d+, Col: \d+, Idx: \d+\): ")]
    private static partial Regex MarkPrefix();
}
