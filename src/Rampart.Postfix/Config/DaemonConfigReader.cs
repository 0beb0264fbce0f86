using System.Globalization;
using Rampart.Core.Dns;
using Rampart.Core.MtaSts;
using Rampart.Core.Policy;
using Rampart.Hosting.Configuration;
using Rampart.Postfix.Daemon;
using Rampart.Postfix.Socketmap;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Rampart.Postfix.Config;

/// <summary>
/// The daemon file's schema (one table per mapping: every key with its type, default, doc line and what it sets) and
/// what is specific to it: the listener keys read together (host/port/path/mode or listen), the cache whose options
/// depend on its type, and postfix-mta-sts-resolver's socket <c>mode</c> as PyYAML reads it. Unknown keys are errors
/// naming the nearest key; keys of postfix-mta-sts-resolver that Rampart does not use are warnings saying why.
/// </summary>
internal static class DaemonConfigReader
{
    public const string Shape = "host: ..., port: ...";

    /// <summary>Keys only Rampart's dialect has; any of them makes the file <see cref="DaemonConfigDialect.Rampart"/>.</summary>
    private static readonly HashSet<string> s_rampartKeys = new(StringComparer.Ordinal)
    {
        "listen", "exim_listen", "state_dir", "resolver", "ca_file", "overrides", "policy_list", "metrics", "user", "group", "log_level", "max_connections", "tlsrpt_reporting",
    };

    private static readonly string[] s_peerListenKeys = ["host", "port", "path", "mode"];
    private static readonly string[] s_tcpKeys = ["host", "port"];

    private static readonly ConfigType<UnixFileMode> s_mode = new("octal file mode (0660)", ReadMode);

    /// <summary><c>default_zone</c> and each of <c>zones</c>.</summary>
    public static readonly ConfigSection<DaemonZone> Zone = new ConfigSection<DaemonZone>()
        .Key("strict_testing", ConfigTypes.Bool, "false", "Enforce MTA-STS policies in testing mode too.",
            (z, v) => WithSettings(z, s => s with { StrictTesting = v }))
        .Key("require_sni", ConfigTypes.Bool, "true", "Add servername=hostname to MTA-STS answers (Postfix 3.4+).",
            (z, v) => WithSettings(z, s => s with { RequireSni = v }))
        .Key("timeout", ConfigTypes.Seconds(allowZero: false, max: 600), "4", "Seconds for the zone's MTA-STS policy fetch (HTTPS).",
            (z, v) => z with { Timeout = v })
        .Key("tlsrpt", ConfigTypes.Bool, "false", "Add Postfix 3.10's TLSRPT attributes to MTA-STS answers.",
            (z, v) => WithSettings(z, s => s with { TlsRpt = v }));

    public static readonly ConfigSection<MtaStsRefreshSettings> Proactive = new ConfigSection<MtaStsRefreshSettings>()
        .Key("enabled", ConfigTypes.Bool, "true", "Refresh cached policies in the background (RFC 8461 §10.2); false turns it off.",
            (s, v) => s with { Enabled = v })
        .Key("interval", ConfigTypes.Int(1, int.MaxValue), "86400", "Seconds; a sweep runs every interval / grace_ratio.",
            (s, v) => s with { Interval = TimeSpan.FromSeconds(v) })
        .Key("concurrency_limit", ConfigTypes.Int(1, 100_000), "100", "Domains refreshed at once.",
            (s, v) => s with { ConcurrencyLimit = v })
        .Key("grace_ratio", ConfigTypes.PositiveNumber, "2.0", "interval / grace_ratio is the sweep period.",
            (s, v) => s with { GraceRatio = v });

    /// <summary><c>tlsrpt_reporting.dkim</c>.</summary>
    public static readonly ConfigSection<TlsRptDkimConfig> TlsRptDkim = new ConfigSection<TlsRptDkimConfig>()
        .Key("domain", ConfigTypes.Text, "required", "d=: the signing domain.", (d, v) => d with { Domain = v })
        .Key("selector", ConfigTypes.Text, "required", "s=: the key is published at SELECTOR._domainkey.DOMAIN.", (d, v) => d with { Selector = v })
        .Key("key_file", ConfigTypes.AbsolutePath, "required", "The RSA private key, PEM.", (d, v) => d with { KeyFile = v });

    /// <summary><c>tlsrpt_reporting</c>: TLS-RPT for the mail we send (docs/tlsrpt-sending.md).</summary>
    public static readonly ConfigSection<TlsRptReportingConfig> TlsRptReporting = new ConfigSection<TlsRptReportingConfig>()
        .Key("datagram_socket", ConfigTypes.AbsolutePath, "off",
            "Unix datagram socket for Postfix 3.10+'s libtlsrpt (smtp_tlsrpt_socket_name names the same file).",
            (t, v) => t with { DatagramSocket = v })
        .Key("datagram_socket_mode", s_mode, "0666", "File mode of the datagram socket (Postfix's smtp processes need write).",
            (t, v) => t with { DatagramSocketMode = v })
        .Key("datagram_socket_owner", ConfigTypes.Text, "", "USER[:GROUP] the datagram socket is given to (needs root).",
            (t, v) => t with { DatagramSocketOwner = v })
        .Key("postfix_log", ConfigTypes.Parsed<string>("absolute path or journal", Rampart.Postfix.TlsRpt.TlsRptLogSettings.TryParseSource), "off",
            "Postfix < 3.10: the mail log to follow (smtp_tls_loglevel = 1), a file path or 'journal' (journalctl).",
            (t, v) => t with { PostfixLog = v })
        .Key("sender_address", ConfigTypes.Parsed<string>("email address", TlsRptReportingConfig.TryParseAddress), "off",
            "Envelope sender and From of our reports; setting it turns sending on (the daemon sends on schedule).",
            (t, v) => t with { SenderAddress = v })
        .Key("organization_name", ConfigTypes.Text, "the sender address's domain", "organization-name of our reports (RFC 8460 §4.4).",
            (t, v) => t with { OrganizationName = v })
        .Key("contact_info", ConfigTypes.Text, "the sender address", "contact-info of our reports: an address or URI people can write to.",
            (t, v) => t with { ContactInfo = v })
        .Key("submit", ConfigTypes.Parsed<System.Net.DnsEndPoint>("HOST[:PORT]", TlsRptReportingConfig.TryParseSubmit), "127.0.0.1:25",
            "SMTP server mailed reports are submitted to (the local MTA; no TLS, no authentication).",
            (t, v) => t with { Submit = v })
        .Key("spread", ConfigTypes.Seconds(allowZero: true, max: 86400), "14400",
            "Seconds after UTC midnight within which each report is sent at a random moment.",
            (t, v) => t with { Spread = v })
        .Key("keep_days", ConfigTypes.Int(Rampart.Core.TlsRpt.TlsRptSendSettings.MinKeepDays, 3660), "14",
            "Finished UTC days of session counts kept besides today; older ones are purged daily and after each send pass.",
            (t, v) => t with { KeepDays = v })
        .Key("store", ConfigTypes.Parsed<string>("postgres:// URL", TlsRptReportingConfig.TryParseStore), "SQLite in the state directory",
            "A fleet: the session counts and the outbox in one PostgreSQL database shared by every MTA's daemon, so one report per policy domain and day comes out.",
            (t, v) => t with { Store = v })
        .Key("host", ConfigTypes.Parsed<string>("host name", TlsRptReportingConfig.TryParseHost), "the machine's host name",
            "This MTA's name in the fleet (store): a log line is counted once per host, so two hosts' alike lines both count.",
            (t, v) => t with { Host = v })
        .Section("dkim", TlsRptDkim, "The key that signs mailed reports (all three keys).",
            t => t.Dkim ?? new TlsRptDkimConfig(), (t, v) => t with { Dkim = v });


    /// <summary><c>cache</c>: its type; the options are read by the type's own table (<see cref="CacheOptions"/>).</summary>
    public static readonly ConfigSection<DaemonCacheSettings> Cache = new ConfigSection<DaemonCacheSettings>()
        .Key("type", ConfigTypes.OneOf("a cache type", "internal", "sqlite", "redis", "redis_sentinel", "postgres"), "internal",
            "internal and sqlite: Rampart's SQLite cache; redis: shared by a fleet; redis_sentinel and postgres: warned, not supported yet.", (c, v) => c with
            {
                Kind = v switch
                {
                    "sqlite" => DaemonCacheKind.Sqlite,
                    "redis" => DaemonCacheKind.Redis,
                    "redis_sentinel" => DaemonCacheKind.RedisSentinel,
                    "postgres" => DaemonCacheKind.Postgres,
                    _ => DaemonCacheKind.Internal,
                },
            })
        .KeyReadWithOthers("options", "mapping", "", "The cache type's options (below).");

    /// <summary>The options of each cache type.</summary>
    public static readonly IReadOnlyDictionary<DaemonCacheKind, ConfigSection<DaemonCacheSettings>> CacheOptions = new Dictionary<DaemonCacheKind, ConfigSection<DaemonCacheSettings>>
    {
        [DaemonCacheKind.Internal] = new ConfigSection<DaemonCacheSettings>()
            .Key("cache_size", ConfigTypes.Int(1, int.MaxValue), "10000", "Most domains remembered in memory.",
                (c, v) => c with { InternalSize = v }),
        [DaemonCacheKind.Sqlite] = new ConfigSection<DaemonCacheSettings>()
            .Key("filename", ConfigTypes.AbsolutePath, "required", "Rampart keeps its own cache in this file's directory (unless state_dir is set).",
                (c, v) => c with { SqliteFile = v })
            .Ignored("threads", ConfigTypes.Int(1, 1024), "not supported (Rampart sizes its own SQLite connections)",
                (c, v) => c with { SqliteThreads = v })
            .Key("timeout", ConfigTypes.Seconds(allowZero: false), "5", "Seconds to wait for a database lock.",
                (c, v) => c with { SqliteTimeout = v }),
        [DaemonCacheKind.Redis] = new ConfigSection<DaemonCacheSettings>()
            .Key("url", "redis URL", "required", "redis://[:password@]host:port/db, rediss://… or unix:///path?db=N.", ReadRedisUrl)
            .Key("key_prefix", ConfigTypes.Text, "rampart:mta-sts:", "Prefix of Rampart's keys.", (c, _) => c)
            .AnyOtherKey("redis-py tuning: not used by Rampart (one connection per daemon, its own timeouts), ignored", (r, e, c) =>
            {
                if (SingleValue(r, e))
                {
                    r.Warn(e.Value, e.Path, "not used by Rampart (one connection per daemon, its own timeouts), ignored");
                }
                return c;
            }),
        [DaemonCacheKind.Postgres] = new ConfigSection<DaemonCacheSettings>()
            .AnyOtherKey("kept as text; the type itself is warned", (r, e, c) =>
            {
                SingleValue(r, e);
                return c;
            }),
        [DaemonCacheKind.RedisSentinel] = new ConfigSection<DaemonCacheSettings>()
            .AnyOtherKey("not used (sentinels is a list of [host, port]); the type itself is warned", (_, _, c) => c),
    };

    /// <summary>The top level of the daemon file: postfix-mta-sts-resolver's keys and Rampart's.</summary>
    public static readonly ConfigSection<DaemonConfiguration> Root = new ConfigSection<DaemonConfiguration>()
        .KeyReadWithOthers("host", "IP address or localhost", DaemonConfiguration.DefaultHost, "With port: one TCP listener; ignored (warned) when path is set.")
        .KeyReadWithOthers("port", ConfigTypes.Port.Name, "8461", "With host: one TCP listener; ignored (warned) when path is set.")
        .KeyReadWithOthers("path", "absolute path", "", "Listen on this Unix socket instead of TCP.")
        .KeyReadWithOthers("mode", s_mode.Name, "umask", "File mode of the Unix socket (0666 is octal, 660 decimal as the peer reads it).")
        .KeyReadWithOthers("listen", "address or list", DaemonConfiguration.DefaultHost + ":" + DaemonConfiguration.DefaultPort,
            "IP:PORT, [IPv6]:PORT, localhost:PORT, unix:/path[:MODE] or {address, mode, owner}; not with host/port/path/mode.")
        .KeyReadWithOthers("exim_listen", "address or list", "off",
            "Where to answer Exim's one-line requests (docs/exim.md), in listen's forms (--exim-listen).")
        .Key("reuse_port", ConfigTypes.Bool.Name, "true", "Warned when true: Rampart binds its socket exclusively.", (r, e, c) =>
        {
            if (r.Bool(e.Value, e.Path) is not { } reuse)
            {
                return c;
            }
            if (reuse)
            {
                r.Warn(e.Value, e.Path, "true is not supported (Rampart binds its socket exclusively; run one instance per address)");
            }
            return c with { ReusePort = reuse };
        })
        .Key("shutdown_timeout", ConfigTypes.Seconds(allowZero: true), "20", "Seconds granted to open sessions when the daemon stops.",
            (c, v) => c with { ShutdownTimeout = v })
        .Key("cache_grace", ConfigTypes.Seconds(allowZero: true), "60", "Seconds a cached answer is used without a refresh.",
            (c, v) => c with { CacheGrace = v })
        .Key("cache", "mapping", "type: internal", "The policy cache: type and options.", (r, e, c) => c with { Cache = ReadCache(r, e) })
        .Section("proactive_policy_fetching", Proactive, "Background refresh of cached policies.",
            c => c.ProactiveFetching, (c, v) => c with { ProactiveFetching = v })
        .Section("default_zone", Zone, "Settings of every socketmap name not listed under zones.",
            c => c.DefaultZone, (c, v) => c with { DefaultZone = v })
        .Key("zones", "mapping of names", "", "Settings per socketmap name (no colons or spaces in a name).",
            (r, e, c) => c with { Zones = ReadZones(r, e) })
        .Key("state_dir", ConfigTypes.AbsolutePath, "the CLI's default", "Directory of Rampart's SQLite policy cache (--state-dir).",
            (c, v) => c with { StateDirectory = v })
        .Key("resolver", ConfigTypes.Parsed<string>("IP[:PORT]", ParseResolver), "/etc/resolv.conf", "The validating DNS resolver (--resolver).",
            (c, v) => c with { Resolver = v })
        .Key("ca_file", ConfigTypes.AbsolutePath, "system roots", "Extra CA certificates for MTA-STS policy fetches (--ca-file).",
            (c, v) => c with { CaFile = v })
        .Key("overrides", ConfigTypes.AbsolutePath, "", "Local policy overrides file (--overrides).",
            (c, v) => c with { Overrides = v })
        .Key("policy_list", ConfigTypes.AbsolutePath, "", "STARTTLS Policy List JSON (--policy-list).",
            (c, v) => c with { PolicyList = v })
        .Key("metrics", ConfigTypes.Reference("IP:PORT", (r, n, p) => r.EndPoint(n, p, "e.g. 127.0.0.1:9461")), "off",
            "Serve Prometheus metrics at http://IP:PORT/metrics (--metrics).", (c, v) => c with { Metrics = v })
        .Key("user", ConfigTypes.Text, "", "Run as this user once the sockets are bound (--user); needs root.",
            (c, v) => c with { User = v })
        .Key("group", ConfigTypes.Text, "the user's", "And this group (--group).",
            (c, v) => c with { Group = v })
        .Key("log_level", ConfigTypes.LogLevel, "info", "How much the daemon logs (--log-level).",
            (c, v) => c with { LogLevel = v })
        .Key("max_connections", ConfigTypes.Int(1, Hosting.Listening.ConnectionLimit.Most), Hosting.Listening.ConnectionLimit.DefaultDoc,
            "Connections open at once, socketmap and /metrics together; more are closed at once (--max-connections; docs/security.md).",
            (c, v) => c with { MaxConnections = v })
        .Section("tlsrpt_reporting", TlsRptReporting, "TLS-RPT for the mail we send: where Postfix's results arrive.",
            c => c.TlsRptReporting ?? new TlsRptReportingConfig(), (c, v) => c with { TlsRptReporting = v });

    /// <summary>Reads the daemon file's text; every message starts with <paramref name="sourceName"/>.</summary>
    public static DaemonConfigLoadResult Read(string yaml, string sourceName)
    {
        var reader = new ConfigReader(sourceName);
        var config = new DaemonConfiguration { SourceName = sourceName };
        if (reader.Parse(yaml, Shape) is { } root)
        {
            config = Root.Read(reader, root, "", config);
            if (config.TlsRptReporting?.Dkim is { Key: null })
            {
                reader.Error(root, "tlsrpt_reporting.dkim", "needs domain, selector and key_file together");
            }
            var keys = reader.Entries(root, "");
            if (keys.Any(k => s_rampartKeys.Contains(k.Name)))
            {
                config = config with { Dialect = DaemonConfigDialect.Rampart };
            }
            if (ReadListen(reader, keys) is { } listen)
            {
                config = config with { Listen = listen };
            }
            if (keys.LastOrDefault(k => k.Name == "exim_listen" && !ConfigReader.IsNull(k.Value)) is { } exim
                && ReadListenList(reader, exim) is { } eximListen)
            {
                config = config with { EximListen = eximListen };
            }
        }
        return new DaemonConfigLoadResult(config, reader.Warnings, reader.Errors);
    }

    private static DaemonZone WithSettings(DaemonZone zone, Func<SenderPolicySettings, SenderPolicySettings> change) =>
        zone with { Zone = zone.Zone with { Settings = change(zone.Settings) } };

    private static bool ParseResolver(string text, out string? value, out string error)
    {
        value = ResolverEndpoint.TryParse(text, out _, out var parseError) ? text : null;
        error = parseError ?? "";
        return value is not null;
    }

    private static Dictionary<string, DaemonZone> ReadZones(ConfigReader reader, ConfigEntry zones)
    {
        var result = new Dictionary<string, DaemonZone>(StringComparer.Ordinal);
        foreach (var entry in reader.Mapping(zones.Value, zones.Path) ?? [])
        {
            if (entry.Name.Length == 0 || entry.Name.Any(c => c == ':' || char.IsWhiteSpace(c) || char.IsControl(c)))
            {
                reader.Error(entry.KeyNode, entry.Path, $"'{entry.Name}' cannot be a socketmap name (no colons or spaces)");
                continue;
            }
            result[entry.Name] = Zone.Read(reader, entry.Value, entry.Path, DaemonZone.Default(entry.Name));
        }
        return result;
    }

    private static DaemonCacheSettings ReadCache(ConfigReader reader, ConfigEntry cache)
    {
        var settings = Cache.Read(reader, cache.Value, cache.Path, new DaemonCacheSettings());
        if (cache.Value is not YamlMappingNode map)
        {
            return settings;
        }
        var entries = reader.Entries(map, cache.Path);
        if (settings.Kind is DaemonCacheKind.Postgres or DaemonCacheKind.RedisSentinel && entries.FirstOrDefault(e => e.Name == "type") is { } type)
        {
            reader.Warn(type.Value, type.Path, $"{ConfigReader.ValueText(type.Value)} is not supported yet; Rampart uses its SQLite cache in the state directory");
        }
        var optionsEntry = entries.FirstOrDefault(e => e.Name == "options");
        var optionsPath = ConfigReader.Child(cache.Path, "options");
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        if (optionsEntry is not null && !ConfigReader.IsNull(optionsEntry.Value))
        {
            settings = CacheOptions[settings.Kind].Read(reader, optionsEntry.Value, optionsPath, settings);
            var given = optionsEntry.Value is YamlMappingNode optionsMap ? reader.Entries(optionsMap, optionsPath) : [];
            foreach (var option in given.Where(o => o.Value is YamlScalarNode && !ConfigReader.IsNull(o.Value)))
            {
                options[option.Name] = ((YamlScalarNode)option.Value).Value ?? "";
            }
        }
        var at = optionsEntry?.Value ?? cache.Value;
        if (settings.Kind == DaemonCacheKind.Redis && !options.ContainsKey("url") && !HasKey(optionsEntry, "url"))
        {
            reader.Error(at, optionsPath + ".url", "is required when cache.type is redis (redis://host:6379/0 or unix:///run/redis/redis.sock)");
        }
        if (settings.Kind == DaemonCacheKind.Sqlite && settings.SqliteFile is null && !HasKey(optionsEntry, "filename"))
        {
            reader.Error(at, optionsPath + ".filename", "is required when cache.type is sqlite");
        }
        return settings with { Options = options };
    }

    private static bool HasKey(ConfigEntry? mapping, string key) =>
        mapping?.Value is YamlMappingNode map && map.Children.Keys.Any(k => k is YamlScalarNode { Value: { } name } && name == key);

    private static DaemonCacheSettings ReadRedisUrl(ConfigReader reader, ConfigEntry entry, DaemonCacheSettings settings)
    {
        if (!SingleValue(reader, entry) || reader.Text(entry.Value, entry.Path) is not { } url)
        {
            return settings;
        }
        if (!Rampart.Storage.RedisServerAddress.TryParse(url, out var address, out var error))
        {
            reader.Error(entry.Value, entry.Path, error);
            return settings;
        }
        foreach (var ignored in address.IgnoredParameters)
        {
            reader.Warn(entry.Value, entry.Path, $"parameter {ignored} is not used by Rampart, ignored");
        }
        return settings;
    }

    private static bool SingleValue(ConfigReader reader, ConfigEntry entry)
    {
        if (entry.Value is YamlScalarNode)
        {
            return true;
        }
        reader.Error(entry.Value, entry.Path, $"must be a single value, not {ConfigReader.Describe(entry.Value)}");
        return false;
    }

    // ---- the listener: host/port/path/mode (postfix-mta-sts-resolver) or listen (Rampart), read together ----

    private static List<SocketmapEndpoint>? ReadListen(ConfigReader reader, IReadOnlyList<ConfigEntry> keys)
    {
        ConfigEntry? Given(string name) => keys.LastOrDefault(k => k.Name == name && !ConfigReader.IsNull(k.Value));
        var listen = Given("listen");
        if (listen is not null)
        {
            foreach (var peerKey in s_peerListenKeys.Select(Given).OfType<ConfigEntry>())
            {
                reader.Error(peerKey.KeyNode, peerKey.Path, "cannot be combined with listen (list every address under listen)");
            }
            return ReadListenList(reader, listen);
        }

        var modeEntry = Given("mode");
        UnixFileMode? mode = modeEntry is not null && s_mode.Read(reader, modeEntry.Value, modeEntry.Path, out var m) ? m : null;
        if (Given("path") is { } pathEntry)
        {
            foreach (var ignored in s_tcpKeys.Select(Given).OfType<ConfigEntry>())
            {
                reader.Warn(ignored.KeyNode, ignored.Path, "ignored because path is set (a Unix socket is used instead of TCP)");
            }
            if (reader.AbsolutePath(pathEntry.Value, pathEntry.Path) is not { } path)
            {
                return null;
            }
            if (!SocketmapEndpoint.TryParse("unix:" + path, out var unix, out var unixError))
            {
                reader.Error(pathEntry.Value, pathEntry.Path, unixError);
                return null;
            }
            return [unix with { UnixSocketMode = mode }];
        }

        if (modeEntry is not null && mode is not null)
        {
            reader.Warn(modeEntry.KeyNode, modeEntry.Path, "ignored: it applies only to a Unix socket (path)");
        }
        var hostEntry = Given("host");
        var portEntry = Given("port");
        if (hostEntry is null && portEntry is null)
        {
            return null;
        }
        var host = hostEntry is null ? DaemonConfiguration.DefaultHost : reader.Text(hostEntry.Value, hostEntry.Path);
        var port = portEntry is null ? DaemonConfiguration.DefaultPort : reader.Port(portEntry.Value, portEntry.Path);
        if (host is null || port is null)
        {
            return null;
        }
        var literal = host.Contains(':', StringComparison.Ordinal) && !host.StartsWith('[') ? $"[{host}]" : host;
        if (!SocketmapEndpoint.TryParse(string.Create(CultureInfo.InvariantCulture, $"{literal}:{port}"), out var tcp, out _))
        {
            reader.Error(hostEntry!.Value, hostEntry.Path, $"'{host}' is not an IPv4 address, an IPv6 address or localhost (Rampart does not resolve host names to listen on)");
            return null;
        }
        return [tcp];
    }

    /// <summary>A <c>listen</c> entry written as a mapping.</summary>
    private sealed record ListenItem(YamlNode? Address, UnixFileMode? Mode, string? Owner);

    private static readonly ConfigSection<ListenItem> s_listenItem = new ConfigSection<ListenItem>()
        .Key("address", "address", "required", "IP:PORT, [IPv6]:PORT, localhost:PORT or unix:/path.", (_, e, item) => item with { Address = e.Value })
        .Key("mode", s_mode, "umask", "File mode of the Unix socket.", (item, v) => item with { Mode = v })
        .Key("owner", ConfigTypes.Text, "", "USER[:GROUP] the Unix socket is given to (needs root).", (item, v) => item with { Owner = v });

    private static List<SocketmapEndpoint>? ReadListenList(ConfigReader reader, ConfigEntry listen)
    {
        var items = listen.Value is YamlSequenceNode sequence ? sequence.Children.ToList() : [listen.Value];
        var endpoints = new List<SocketmapEndpoint>();
        var ok = true;
        for (var i = 0; i < items.Count; i++)
        {
            var path = listen.Value is YamlSequenceNode ? $"{listen.Name}[{i}]" : listen.Name;
            if (ReadListenItem(reader, items[i], path) is { } endpoint)
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
            reader.Error(listen.Value, listen.Path, "is empty: give at least one address");
            return null;
        }
        return ok ? endpoints : null;
    }

    private static SocketmapEndpoint? ReadListenItem(ConfigReader reader, YamlNode node, string path)
    {
        var errors = reader.Errors.Count;
        var item = node is YamlMappingNode
            ? s_listenItem.Read(reader, node, path, new ListenItem(null, null, null))
            : new ListenItem(node, null, null); // unix:/path:0660 is parsed by SocketmapEndpoint
        if (node is YamlMappingNode && item.Address is null)
        {
            reader.Error(node, path, "needs address: (127.0.0.1:8461 or unix:/path)");
        }
        if (reader.Errors.Count > errors || item.Address is null)
        {
            return null;
        }
        var addressPath = node is YamlMappingNode ? path + ".address" : path;
        if (reader.Text(item.Address, addressPath) is not { } address)
        {
            return null;
        }
        if (!SocketmapEndpoint.TryParse(address, out var endpoint, out var error))
        {
            reader.Error(item.Address, path, error);
            return null;
        }
        if ((item.Mode is not null || item.Owner is not null) && endpoint.UnixSocketPath is null)
        {
            reader.Warn(node, path, "mode and owner ignored: they apply only to a Unix socket");
            return endpoint;
        }
        return endpoint with { UnixSocketMode = item.Mode ?? endpoint.UnixSocketMode, UnixSocketOwner = item.Owner };
    }

    /// <summary>
    /// postfix-mta-sts-resolver's <c>mode</c>: an integer as YAML 1.1 reads it, so <c>0666</c> is octal and <c>438</c>
    /// decimal (warned). Rampart also takes <c>0o666</c> and quoted <c>"0660"</c> (always octal).
    /// </summary>
    private static bool ReadMode(ConfigReader reader, YamlNode node, string path, out UnixFileMode mode)
    {
        var text = ConfigReader.ValueText(node);
        long value;
        if (node is YamlScalarNode { Style: not ScalarStyle.Plain } && SocketmapEndpoint.TryParseMode(text, out mode, out _))
        {
            return true;
        }
        mode = default;
        if (text.StartsWith("0o", StringComparison.Ordinal) && text.Length > 2 && text[2..].All(c => c is >= '0' and <= '7'))
        {
            value = Convert.ToInt64(text[2..], 8);
        }
        else if (!ConfigReader.TryInteger(node, out value))
        {
            reader.Error(node, path, $"'{text}' is not a file mode (octal with a leading zero, such as 0660)");
            return false;
        }
        else if (!text.StartsWith('0') && value is > 7)
        {
            reader.Warn(node, path, $"{text} is decimal (octal {Convert.ToString(value, 8)}), as postfix-mta-sts-resolver reads it; write 0{text} for octal");
        }
        if (value is < 0 or > 0xFFF)
        {
            reader.Error(node, path, $"'{text}' is not a file mode (0000..07777)");
            return false;
        }
        mode = (UnixFileMode)value;
        return true;
    }
}
