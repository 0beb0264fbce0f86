using System.Text.RegularExpressions;
using Rampart.Postfix.Config;
using Rampart.Postfix.Daemon;

namespace Rampart.Postfix.Tests.Config;

public sealed class DaemonConfigurationTests
{
    private const string Source = "/etc/mta-sts-daemon.yml";

    private static string PathOf(string name) => Path.Combine(AppContext.BaseDirectory, "TestData", "config", name);

    private static DaemonConfigLoadResult Parse(string yaml) => DaemonConfiguration.Parse(yaml, Source);

    private static DaemonConfiguration Ok(DaemonConfigLoadResult result)
    {
        Assert.Empty(result.Errors);
        Assert.True(result.Succeeded);
        return result.Configuration;
    }

    private static string SingleError(string yaml)
    {
        var result = Parse(yaml);
        Assert.False(result.Succeeded);
        return Assert.Single(result.Errors);
    }

    /// <summary>Every message names the file and the line: <c>FILE:LINE: key.path: message</c>.</summary>
    private static void AssertAtSomeLine(string expected, string actual) =>
        Assert.Matches("^" + Regex.Escape(Source) + @":\d+: " + Regex.Escape(expected), actual);

    private static void AssertDefaults(DaemonConfiguration config)
    {
        Assert.Equal("127.0.0.1:8461", Assert.Single(config.Listen).ToString());
        Assert.True(config.ReusePort);
        Assert.Equal(TimeSpan.FromSeconds(20), config.ShutdownTimeout);
        Assert.Equal(TimeSpan.FromSeconds(60), config.CacheGrace);
        Assert.Equal(DaemonCacheKind.Internal, config.Cache.Kind);
        Assert.Equal(10_000, config.Cache.InternalSize);
        Assert.Null(config.CacheFile);
        Assert.Null(config.StateDirectory);
        Assert.True(config.ProactiveFetching.Enabled); // Rampart refreshes by default (the peer does not)
        Assert.Equal(TimeSpan.FromSeconds(86_400), config.ProactiveFetching.Interval);
        Assert.Equal(100, config.ProactiveFetching.ConcurrencyLimit);
        Assert.Equal(2.0, config.ProactiveFetching.GraceRatio);
        Assert.Equal(SocketmapZone.DefaultName, config.DefaultZone.Name);
        Assert.False(config.DefaultZone.Settings.StrictTesting);
        Assert.True(config.DefaultZone.Settings.RequireSni);
        Assert.Equal(TimeSpan.FromSeconds(4), config.DefaultZone.Timeout);
        Assert.Equal(TimeSpan.FromSeconds(4), config.DefaultZone.Fetch.TotalTimeout);
        Assert.Empty(config.Zones);
    }

    /// <summary>docs/postfix.md's file for postfix-tlspol users: its address and socketmap names keep working.</summary>
    [Fact]
    public void Load_PostfixTlspolMigration_SameAddressAndNames()
    {
        var result = DaemonConfiguration.Load(PathOf("from-postfix-tlspol.yml"));
        var config = Ok(result);

        Assert.Empty(result.Warnings);
        Assert.Equal("127.0.0.1:8642", Assert.Single(config.Listen).ToString());
        Assert.True(config.Zones["QUERYwithTLSRPT"].Settings.TlsRpt);
        Assert.False(config.Zones.ContainsKey("QUERY")); // an unknown name: the default zone answers it
        Assert.False(config.DefaultZone.Settings.TlsRpt);
    }

    [Theory]
    [InlineData("")]
    [InlineData("\n\n")]
    [InlineData("# only a comment\n")]
    [InlineData("---\n")]
    [InlineData("~\n")]
    public void Parse_EmptyDocument_AllDefaults(string yaml)
    {
        var result = Parse(yaml);
        AssertDefaults(Ok(result));
        Assert.Empty(result.Warnings);
        Assert.Equal(DaemonConfigDialect.PostfixMtaStsResolver, result.Configuration.Dialect);
    }

    [Fact]
    public void Load_EmptyFile_AllDefaults()
    {
        var path = Path.GetTempFileName();
        try
        {
            AssertDefaults(Ok(DaemonConfiguration.Load(path)));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Parse_EmptySections_Defaults()
    {
        var result = Parse("cache:\ndefault_zone:\nzones:\nproactive_policy_fetching:\nhost:\nport:\n");
        AssertDefaults(Ok(result));
        Assert.Empty(result.Warnings);
    }

    [Fact]
    public void Load_PackagedInternalSample_MapsEveryKey()
    {
        var result = DaemonConfiguration.Load(PathOf("mta-sts-daemon.yml.internal"));
        var config = Ok(result);
        Assert.Equal("127.0.0.1:8461", Assert.Single(config.Listen).ToString());
        Assert.Equal(DaemonCacheKind.Internal, config.Cache.Kind);
        Assert.Equal(10_000, config.Cache.InternalSize);
        var zone = config.Zones["myzone"];
        Assert.Equal("myzone", zone.Zone.Name);
        Assert.False(zone.Settings.StrictTesting);
        Assert.True(zone.Settings.RequireSni);
        Assert.Equal(TimeSpan.FromSeconds(4), zone.Timeout);
        Assert.Equal($"{PathOf("mta-sts-daemon.yml.internal")}:3: reuse_port: true is not supported (Rampart binds its socket exclusively; run one instance per address)",
            Assert.Single(result.Warnings));
    }

    [Fact]
    public void Load_PackagedSqliteSample_CacheFile()
    {
        var config = Ok(DaemonConfiguration.Load(PathOf("mta-sts-daemon.yml.sqlite")));
        Assert.Equal(DaemonCacheKind.Sqlite, config.Cache.Kind);
        Assert.Equal("/var/lib/mta-sts/cache.db", config.CacheFile);
        Assert.Equal("/var/lib/mta-sts", config.EffectiveStateDirectory);
        Assert.Equal(TimeSpan.FromSeconds(5), config.Cache.SqliteTimeout);
    }

    [Fact]
    public void Load_PackagedUnixSocketSample_UnixEndpointWithOctalMode()
    {
        var result = DaemonConfiguration.Load(PathOf("mta-sts-daemon.yml.sqlite_unixsock"));
        var config = Ok(result);
        var endpoint = Assert.Single(config.Listen);
        Assert.Equal("/var/run/mta-sts.sock", endpoint.UnixSocketPath);
        Assert.Equal((UnixFileMode)Convert.ToInt32("666", 8), endpoint.UnixSocketMode);
        Assert.Empty(result.Warnings);
    }

    [Fact]
    public void Load_PackagedRedisSample_MappedAndTuningWarned()
    {
        var path = PathOf("mta-sts-daemon.yml.redis");
        var result = DaemonConfiguration.Load(path);
        var config = Ok(result);
        Assert.Equal(DaemonCacheKind.Redis, config.Cache.Kind);
        Assert.Equal("redis://127.0.0.1/0", config.Cache.RedisOptions?.Url);
        Assert.Equal("rampart:mta-sts:", config.Cache.RedisOptions?.KeyPrefix);
        Assert.Equal("25", config.Cache.Options["max_connections"]);
        Assert.Contains($"{path}:9: cache.options.max_connections: not used by Rampart (one connection per daemon, its own timeouts), ignored", result.Warnings);
        Assert.Contains($"{path}:10: cache.options.socket_timeout: not used by Rampart (one connection per daemon, its own timeouts), ignored", result.Warnings);
        Assert.DoesNotContain(result.Warnings, w => w.Contains("cache.type", StringComparison.Ordinal));
        Assert.Null(config.CacheFile);
    }

    [Theory]
    [InlineData("cache:\n  type: redis", "cache.options.url: is required when cache.type is redis")]
    [InlineData("cache:\n  type: redis\n  options:\n    url: ftp://x", "cache.options.url: ")]
    [InlineData("cache:\n  type: redis\n  options:\n    url: redis://x/0\n    key_prefix: ''", "cache.options.key_prefix: ")]
    public void Parse_RedisBadOptions_OneLineError(string yaml, string expected)
    {
        var error = Assert.Single(Parse(yaml).Errors);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error);
    }

    [Fact]
    public void Load_Postgres_Warned()
    {
        var result = DaemonConfiguration.Load(PathOf("postgres.yml"));
        var config = Ok(result);
        Assert.Equal(DaemonCacheKind.Postgres, config.Cache.Kind);
        Assert.Equal("postgres://mta-sts:secret@localhost/mta-sts", config.Cache.Options["dsn"]);
        Assert.Contains(result.Warnings, w => w.EndsWith("cache.type: postgres is not supported yet; Rampart uses its SQLite cache in the state directory", StringComparison.Ordinal));
    }

    /// <summary>postfix-mta-sts-resolver's redis_sentinel sample loads as it is (it was an error): the type is warned, like postgres.</summary>
    [Fact]
    public void Load_PackagedRedisSentinelSample_AcceptedTypeWarned()
    {
        var path = PathOf("mta-sts-daemon.yml.redis_sentinel");
        var result = DaemonConfiguration.Load(path);
        var config = Ok(result);
        Assert.Equal(DaemonCacheKind.RedisSentinel, config.Cache.Kind);
        Assert.Null(config.Cache.RedisOptions);
        Assert.Null(config.CacheFile);
        Assert.Equal(
            [
                $"{path}:3: reuse_port: true is not supported (Rampart binds its socket exclusively; run one instance per address)",
                $"{path}:7: cache.type: redis_sentinel is not supported yet; Rampart uses its SQLite cache in the state directory",
            ],
            result.Warnings);
    }

    [Fact]
    public void Load_ManPageExample_ProactiveMapped()
    {
        var result = DaemonConfiguration.Load(PathOf("man-page-example.yml"));
        var config = Ok(result);
        Assert.True(config.ProactiveFetching.Enabled);
        Assert.Equal(2.0, config.ProactiveFetching.GraceRatio);
        Assert.DoesNotContain(result.Warnings, w => w.Contains("proactive_policy_fetching", StringComparison.Ordinal));
        Assert.Single(result.Warnings);
    }

    [Fact]
    public void Load_EveryKey_AllMapped()
    {
        var path = PathOf("every-key.yml");
        var result = DaemonConfiguration.Load(path);
        var config = Ok(result);
        Assert.Equal(DaemonConfigDialect.PostfixMtaStsResolver, config.Dialect);
        Assert.Equal("127.0.0.2:18461", Assert.Single(config.Listen).ToString());
        Assert.False(config.ReusePort);
        Assert.Equal(TimeSpan.FromSeconds(7.5), config.ShutdownTimeout);
        Assert.Equal(TimeSpan.FromSeconds(120), config.CacheGrace);
        Assert.False(config.ProactiveFetching.Enabled);
        Assert.Equal(TimeSpan.FromHours(1), config.ProactiveFetching.Interval);
        Assert.Equal(10, config.ProactiveFetching.ConcurrencyLimit);
        Assert.Equal(1.5, config.ProactiveFetching.GraceRatio);
        Assert.Equal("/var/lib/mta-sts/cache.db", config.CacheFile);
        Assert.Equal(TimeSpan.FromSeconds(2), config.Cache.SqliteTimeout);
        Assert.True(config.DefaultZone.Settings.StrictTesting);
        Assert.False(config.DefaultZone.Settings.RequireSni);
        Assert.Equal(TimeSpan.FromSeconds(6), config.DefaultZone.Timeout);
        Assert.Equal(TimeSpan.FromSeconds(5), config.DefaultZone.Fetch.ConnectTimeout);
        Assert.Equal(TimeSpan.FromSeconds(6), config.DefaultZone.Fetch.TotalTimeout);
        Assert.Equal(["strict", "relaxed"], config.Zones.Keys.Order(StringComparer.Ordinal).Reverse());
        Assert.True(config.Zones["strict"].Settings.StrictTesting);
        Assert.Equal(TimeSpan.FromSeconds(2.5), config.Zones["strict"].Timeout);
        Assert.Equal(TimeSpan.FromSeconds(2.5), config.Zones["strict"].Fetch.ConnectTimeout);
        Assert.False(config.Zones["relaxed"].Settings.StrictTesting);
        Assert.Equal(TimeSpan.FromSeconds(4), config.Zones["relaxed"].Timeout);
        Assert.Empty(result.Warnings);
    }

    [Fact]
    public void Load_RampartDialect_Mapped()
    {
        var result = DaemonConfiguration.Load(PathOf("rampart.yml"));
        var config = Ok(result);
        Assert.Empty(result.Warnings);
        Assert.Equal(DaemonConfigDialect.Rampart, config.Dialect);
        Assert.Equal(
            ["127.0.0.1:8461", "[::1]:8461", "unix:/run/rampart/socketmap.sock", "unix:/run/rampart/other.sock"],
            config.Listen.Select(e => e.ToString()));
        Assert.Null(config.Listen[0].UnixSocketMode);
        Assert.Equal((UnixFileMode)Convert.ToInt32("660", 8), config.Listen[2].UnixSocketMode);
        Assert.Equal((UnixFileMode)Convert.ToInt32("600", 8), config.Listen[3].UnixSocketMode);
        Assert.Equal("/var/lib/rampart", config.StateDirectory);
        Assert.Equal("127.0.0.1:53", config.Resolver);
        Assert.Equal("/etc/rampart/extra-roots.pem", config.CaFile);
        Assert.Equal("/etc/rampart/overrides", config.Overrides);
        Assert.Equal("/etc/rampart/policy.json", config.PolicyList);
        Assert.Equal("127.0.0.1:9461", config.Metrics?.ToString());
        Assert.Equal("/var/lib/rampart", config.EffectiveStateDirectory);
        Assert.Equal(TimeSpan.FromSeconds(5), config.ShutdownTimeout);
        Assert.Equal(TimeSpan.FromSeconds(8), config.DefaultZone.Timeout);
        Assert.True(config.Zones["strict"].Settings.StrictTesting);
    }

    [Fact]
    public void Parse_MaxConnections_MappedAsRampartsKey()
    {
        var result = DaemonConfiguration.Parse("max_connections: 500\n", "/etc/rampart/rampart.yml");

        var config = Ok(result);
        Assert.Equal(500, config.MaxConnections);
        Assert.Equal(DaemonConfigDialect.Rampart, config.Dialect);
        Assert.Null(Ok(DaemonConfiguration.Parse("{}\n", "/etc/rampart/rampart.yml")).MaxConnections);
    }

    [Fact]
    public void Parse_ListenAsSingleString_OneEndpoint()
    {
        var config = Ok(Parse("listen: localhost:9000\n"));
        Assert.Equal("localhost:9000", Assert.Single(config.Listen).ToString());
        Assert.Equal(DaemonConfigDialect.Rampart, config.Dialect);
    }

    [Fact]
    public void Parse_EximListen_EndpointsBesideTheSocketmapListener()
    {
        var config = Ok(Parse("exim_listen: [127.0.0.1:8462, {address: unix:/run/rampart/exim.sock, mode: '0666'}]\n"));

        Assert.Equal(["127.0.0.1:8462", "unix:/run/rampart/exim.sock"], config.EximListen.Select(e => e.ToString()));
        Assert.Equal((UnixFileMode)0b110_110_110, config.EximListen[1].UnixSocketMode);
        Assert.Equal(DaemonConfiguration.DefaultListen, Assert.Single(config.Listen).ToString());
        Assert.Equal(DaemonConfigDialect.Rampart, config.Dialect);
        Assert.Empty(Ok(Parse("{}\n")).EximListen);
    }

    [Theory]
    [InlineData("exim_listen: []", "exim_listen: is empty: give at least one address")]
    [InlineData("exim_listen: nowhere", "exim_listen: 'nowhere' is not a socketmap address: give IP:PORT")]
    [InlineData("exim_listen: [127.0.0.1:1, unix:x.sock]", "exim_listen[1]: 'unix:x.sock' is not a socketmap address: the Unix socket path must be absolute")]
    public void Parse_BadEximListen_OneLineNamingTheKey(string yaml, string error)
    {
        Assert.StartsWith($"{Source}:1: {error}", Assert.Single(Parse(yaml + "\n").Errors), StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_ListenWithHost_ErrorPerPeerKey()
    {
        var result = Parse("listen: [127.0.0.1:1]\nhost: 127.0.0.1\nport: 2\n");
        Assert.Equal(
            [$"{Source}:2: host: cannot be combined with listen (list every address under listen)", $"{Source}:3: port: cannot be combined with listen (list every address under listen)"],
            result.Errors);
    }

    [Theory]
    [InlineData("listen: []", "listen: is empty: give at least one address")]
    [InlineData("listen: [nowhere]", "listen[0]: 'nowhere' is not a socketmap address: give IP:PORT")]
    [InlineData("listen: [unix:relative.sock]", "listen[0]: 'unix:relative.sock' is not a socketmap address: the Unix socket path must be absolute")]
    [InlineData("listen: [{mode: '0660'}]", "listen[0]: needs address:")]
    [InlineData("listen: [{address: 'unix:/x.sock', mode: 'rw'}]", "listen[0].mode: 'rw' is not a file mode")]
    [InlineData("state_dir: var/lib/rampart", "state_dir: 'var/lib/rampart' is not an absolute path")]
    [InlineData("ca_file: [a]", "ca_file: must be text, not a list")]
    [InlineData("resolver: 'not a resolver'", "resolver: ")]
    [InlineData("metrics: 9461", "metrics: '9461' is not IP:PORT (e.g. 127.0.0.1:9461)")]
    [InlineData("metrics: 127.0.0.1", "metrics: '127.0.0.1' is not IP:PORT (e.g. 127.0.0.1:9461)")]
    [InlineData("overrides: overrides.txt", "overrides: 'overrides.txt' is not an absolute path")]
    [InlineData("policy_list: ''", "policy_list: must be text, not ''")]
    [InlineData("max_connections: 0", "max_connections: '0' is out of range (1..1048576)")]
    [InlineData("max_connections: lots", "max_connections: 'lots' is not a whole number")]
    public void Parse_BadRampartValue_Error(string yaml, string expected)
    {
        AssertAtSomeLine(expected, SingleError(yaml + "\n"));
    }

    [Theory]
    [InlineData("zones:\n  strict:\n    timeout: abc", "zones.strict.timeout: 'abc' is not a number")]
    [InlineData("default_zone:\n  timeout: 0", "default_zone.timeout: '0' must be a number of seconds greater than 0")]
    [InlineData("default_zone:\n  timeout: -1", "default_zone.timeout: '-1' must be a number of seconds greater than 0")]
    [InlineData("default_zone:\n  timeout: 601", "default_zone.timeout: '601' is more than 600 seconds")]
    [InlineData("default_zone:\n  timeout: [4]", "default_zone.timeout: 'a list' is not a number")]
    [InlineData("default_zone:\n  strict_testing: 'false'", "default_zone.strict_testing: 'false' is quoted text, not a boolean (write true or false without quotes)")]
    [InlineData("default_zone:\n  strict_testing: 1", "default_zone.strict_testing: '1' is not a boolean (true or false)")]
    [InlineData("default_zone:\n  require_sni: sure", "default_zone.require_sni: 'sure' is not a boolean (true or false)")]
    [InlineData("default_zone: strict", "default_zone: must be a mapping of keys, not 'strict'")]
    [InlineData("zones: [a, b]", "zones: must be a mapping of keys, not a list")]
    [InlineData("zones:\n  'a:b':\n    timeout: 4", "zones.a:b: 'a:b' cannot be a socketmap name (no colons or spaces)")]
    [InlineData("zones:\n  strict: yes", "zones.strict: must be a mapping of keys, not 'yes'")]
    [InlineData("port: 0", "port: '0' is not a port number (1-65535)")]
    [InlineData("port: 65536", "port: '65536' is not a port number (1-65535)")]
    [InlineData("port: http", "port: 'http' is not a port number (1-65535)")]
    [InlineData("port: 84.61", "port: '84.61' is not a port number (1-65535)")]
    [InlineData("host: mail.example.org", "host: 'mail.example.org' is not an IPv4 address, an IPv6 address or localhost")]
    [InlineData("host: [127.0.0.1]", "host: must be text, not a list")]
    [InlineData("path: run/mta-sts.sock", "path: 'run/mta-sts.sock' is not an absolute path")]
    [InlineData("path: /run/mta-sts.sock\nmode: rw-rw----", "mode: 'rw-rw----' is not a file mode (octal with a leading zero, such as 0660)")]
    [InlineData("path: /run/mta-sts.sock\nmode: 010000", "mode: '010000' is not a file mode (0000..07777)")]
    [InlineData("reuse_port: 2", "reuse_port: '2' is not a boolean (true or false)")]
    [InlineData("shutdown_timeout: soon", "shutdown_timeout: 'soon' is not a number")]
    [InlineData("shutdown_timeout: -5", "shutdown_timeout: '-5' must be a number of seconds of 0 or more")]
    [InlineData("cache_grace: .nan", "cache_grace: '.nan' is not a number")]
    [InlineData("cache: internal", "cache: must be a mapping of keys, not 'internal'")]
    [InlineData("cache:\n  type: memcached", "cache.type: 'memcached' is not a cache type (internal, sqlite, redis, redis_sentinel or postgres)")]
    [InlineData("cache:\n  type: internal\n  options:\n    cache_size: 0", "cache.options.cache_size: '0' is out of range (1..2147483647)")]
    [InlineData("cache:\n  type: internal\n  options:\n    cache_size: many", "cache.options.cache_size: 'many' is not a whole number")]
    [InlineData("cache:\n  type: internal\n  options: 10000", "cache.options: must be a mapping of keys, not '10000'")]
    [InlineData("cache:\n  type: sqlite", "cache.options.filename: is required when cache.type is sqlite")]
    [InlineData("cache:\n  type: sqlite\n  options:\n    filename: cache.db", "cache.options.filename: 'cache.db' is not an absolute path")]
    [InlineData("cache:\n  type: sqlite\n  options:\n    filename: /x.db\n    timeout: 0", "cache.options.timeout: '0' must be a number of seconds greater than 0")]
    [InlineData("cache:\n  type: redis\n  options:\n    url: [a]", "cache.options.url: must be a single value, not a list")]
    [InlineData("proactive_policy_fetching: true", "proactive_policy_fetching: must be a mapping of keys, not 'true'")]
    [InlineData("proactive_policy_fetching:\n  enabled: 'yes'", "proactive_policy_fetching.enabled: 'yes' is quoted text, not a boolean (write true or false without quotes)")]
    [InlineData("proactive_policy_fetching:\n  interval: 0", "proactive_policy_fetching.interval: '0' is out of range (1..2147483647)")]
    [InlineData("proactive_policy_fetching:\n  interval: 1.5", "proactive_policy_fetching.interval: '1.5' is not a whole number")]
    [InlineData("proactive_policy_fetching:\n  concurrency_limit: -1", "proactive_policy_fetching.concurrency_limit: '-1' is out of range (1..100000)")]
    [InlineData("proactive_policy_fetching:\n  grace_ratio: 0", "proactive_policy_fetching.grace_ratio: '0' must be greater than 0")]
    [InlineData("proactive_policy_fetching:\n  grace_ratio: double", "proactive_policy_fetching.grace_ratio: 'double' is not a number")]
    [InlineData("[1, 2]", "the file must be a mapping of keys (host: ..., port: ...), not a list")]
    [InlineData("just text", "the file must be a mapping of keys (host: ..., port: ...), not 'just text'")]
    public void Parse_WrongTypeOrBadValue_OneLineError(string yaml, string expected)
    {
        AssertAtSomeLine(expected, SingleError(yaml + "\n"));
    }

    /// <summary>Changed with issue 12: an unknown key (colour) used to be a warning; it is now one of the collected errors.</summary>
    [Fact]
    public void Parse_SeveralMistakes_AllCollected()
    {
        var result = Parse("port: x\ndefault_zone:\n  timeout: y\n  strict_testing: z\nzones:\n  a:\n    require_sni: w\ncolour: blue\n");
        Assert.Equal(
            [
                $"{Source}:3: default_zone.timeout: 'y' is not a number",
                $"{Source}:4: default_zone.strict_testing: 'z' is not a boolean (true or false)",
                $"{Source}:7: zones.a.require_sni: 'w' is not a boolean (true or false)",
                $"{Source}:8: unknown key 'colour' (known keys: {string.Join(", ", DaemonConfigReader.Root.Keys.Select(k => k.Name))})",
                $"{Source}:1: port: 'x' is not a port number (1-65535)",
            ],
            result.Errors);
        Assert.Empty(result.Warnings);
        AssertDefaults(result.Configuration with { Zones = new Dictionary<string, DaemonZone>() });
    }

    /// <summary>
    /// Changed with issue 12: unknown keys used to be warnings ("unknown key, ignored"), so a typo silently dropped a
    /// setting. Each is now an error naming the file, the line and the nearest known key.
    /// </summary>
    [Fact]
    public void Parse_UnknownKeys_ErrorEverywhereWithNearestKey()
    {
        var result = Parse("""
            cahce:
              type: internal
            cache:
              type: internal
              tpye: sqlite
              options:
                filename: /x.db
            proactive_policy_fetching:
              enable: true
            default_zone:
              tlsrpt: true
              strict-testing: true
            zones:
              z:
                tlsrpt: false
                report: yes
            listen:
              - address: 127.0.0.1:1
                backlog: 5
            """);
        Assert.Equal(
            [
                $"{Source}:1: unknown key 'cahce' (did you mean 'cache'?)",
                $"{Source}:5: unknown key 'tpye' in 'cache' (did you mean 'type'?)",
                $"{Source}:7: unknown key 'filename' in 'cache.options' (known keys: cache_size)",
                $"{Source}:9: unknown key 'enable' in 'proactive_policy_fetching' (did you mean 'enabled'?)",
                $"{Source}:12: unknown key 'strict-testing' in 'default_zone' (did you mean 'strict_testing'?)",
                $"{Source}:16: unknown key 'report' in 'zones.z' (known keys: strict_testing, require_sni, timeout, tlsrpt)",
                $"{Source}:19: unknown key 'backlog' in 'listen[0]' (known keys: address, mode, owner)",
            ],
            result.Errors);
        Assert.Empty(result.Warnings);
    }

    /// <summary>The issue's message: the file, the line, the key, its section and the key meant.</summary>
    [Fact]
    public void Parse_MistypedKey_NamesFileLineSectionAndNearest()
    {
        var result = DaemonConfiguration.Parse("listen: 127.0.0.1:8461\n\n\n\n\n\n\n\n\n\ndefault_zone:\n  timout: 5\ncahce:\n  type: internal\n", "/etc/rampart/rampart.yml");
        Assert.Equal(
            [
                "/etc/rampart/rampart.yml:12: unknown key 'timout' in 'default_zone' (did you mean 'timeout'?)",
                "/etc/rampart/rampart.yml:13: unknown key 'cahce' (did you mean 'cache'?)",
            ],
            result.Errors);
    }

    /// <summary>postfix-mta-sts-resolver's keys that Rampart does not use stay warnings that say so and why; the file loads.</summary>
    [Fact]
    public void Parse_PeerKeysRampartIgnores_WarningsSayIgnoredAndWhy()
    {
        var result = Parse("""
            reuse_port: true
            cache:
              type: redis
              options:
                url: redis://127.0.0.1/0
                socket_keepalive: true
            """);
        Ok(result);
        Assert.Equal(
            [
                $"{Source}:1: reuse_port: true is not supported (Rampart binds its socket exclusively; run one instance per address)",
                $"{Source}:6: cache.options.socket_keepalive: not used by Rampart (one connection per daemon, its own timeouts), ignored",
            ],
            result.Warnings);
    }

    [Fact]
    public void Parse_TlsRptNotBoolean_Error()
    {
        var result = Parse("""
            zones:
              z:
                tlsrpt:
                  rua: mailto:x@example.org
            """);
        Assert.Contains(result.Errors, e => e.StartsWith($"{Source}:3: zones.z.tlsrpt:", StringComparison.Ordinal));
    }

    [Fact]
    public void Parse_TlsRptSending_AllKeys_Mapped()
    {
        var config = Ok(Parse("""
            tlsrpt_reporting:
              sender_address: TLSRPT@Example.NET
              organization_name: Example Net
              contact_info: https://example.net/tls-reports
              submit: "[::1]:2525"
              spread: 600
              keep_days: 30
              dkim: {domain: Example.NET, selector: tlsrpt, key_file: /etc/rampart/dkim.pem}
            """)).TlsRptReporting!;

        Assert.Equal("TLSRPT@Example.NET", config.SenderAddress);
        Assert.Equal(("::1", 2525), (config.Submit.Host, config.Submit.Port));
        Assert.Equal(TimeSpan.FromMinutes(10), config.Spread);
        Assert.Equal(30, config.KeepDays);
        Assert.Equal(new Rampart.Core.TlsRpt.TlsRptDkimKey("example.net", "tlsrpt", "/etc/rampart/dkim.pem"), config.Mail!.Dkim);
        Assert.Equal(new Rampart.Core.TlsRpt.TlsRptReporter("Example Net", "https://example.net/tls-reports", "example.net"), config.Reporter("host.local"));
    }

    [Fact]
    public void Parse_TlsRptSending_Defaults_FromTheSenderAddress()
    {
        var config = Ok(Parse("tlsrpt_reporting: {sender_address: tlsrpt@example.net}")).TlsRptReporting!;

        Assert.Equal(("127.0.0.1", 25), (config.Submit.Host, config.Submit.Port));
        Assert.Equal(TimeSpan.FromHours(4), config.Spread);
        Assert.Equal(14, config.KeepDays);
        Assert.Null(config.Mail!.Dkim);
        Assert.Equal(new Rampart.Core.TlsRpt.TlsRptReporter("example.net", "mailto:tlsrpt@example.net", "example.net"), config.Reporter("host.local"));
        Assert.Null(new TlsRptReportingConfig().Mail); // no sender address: nothing is sent
    }

    [Theory]
    [InlineData("sender_address: not-an-address", "tlsrpt_reporting.sender_address: 'not-an-address' is not an email address")]
    [InlineData("sender_address: \"Name <a@b.example>\"", "is not an email address")]
    [InlineData("submit: \"host:99999\"", "tlsrpt_reporting.submit: 'host:99999' is not HOST[:PORT]")]
    [InlineData("submit: \"[::1\"", "is not HOST[:PORT]")]
    [InlineData("dkim: {domain: example.net, selector: s1}", "tlsrpt_reporting.dkim: needs domain, selector and key_file together")]
    [InlineData("dkim: {domain: example.net, selector: s1, key_file: relative.pem}", "tlsrpt_reporting.dkim.key_file")]
    [InlineData("spread: 90000", "tlsrpt_reporting.spread")]
    [InlineData("keep_days: 1", "tlsrpt_reporting.keep_days")]
    public void Parse_TlsRptSending_BadValue_OneError(string line, string expected)
    {
        var result = Parse("tlsrpt_reporting:\n  " + line + "\n");

        Assert.False(result.Succeeded);
        Assert.Contains(result.Errors, e => e.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void Parse_UnixListenOwnerAndModeSuffix_Mapped()
    {
        var result = Parse("""
            listen:
              - unix:/run/rampart/a.sock:0660
              - {address: "unix:/run/rampart/b.sock", mode: "0600", owner: "rampart:postfix"}
              - {address: "127.0.0.1:1", owner: root}
            user: nobody
            group: nogroup
            """);
        var config = Ok(result);
        Assert.Equal("unix:/run/rampart/a.sock", config.Listen[0].ToString());
        Assert.Equal((UnixFileMode)Convert.ToInt32("660", 8), config.Listen[0].UnixSocketMode);
        Assert.Null(config.Listen[0].UnixSocketOwner);
        Assert.Equal((UnixFileMode)Convert.ToInt32("600", 8), config.Listen[1].UnixSocketMode);
        Assert.Equal("rampart:postfix", config.Listen[1].UnixSocketOwner);
        Assert.Null(config.Listen[2].UnixSocketOwner);
        Assert.Equal([$"{Source}:4: listen[2]: mode and owner ignored: they apply only to a Unix socket"], result.Warnings);
        Assert.Equal("nobody", config.User);
        Assert.Equal("nogroup", config.Group);
        Assert.Equal(DaemonConfigDialect.Rampart, config.Dialect);
    }

    [Fact]
    public void Parse_SqliteThreads_WarnedButKept()
    {
        var result = Parse("cache:\n  type: sqlite\n  options:\n    filename: /x.db\n    threads: 4\n");
        Assert.Equal(4, Ok(result).Cache.SqliteThreads);
        Assert.Equal($"{Source}:5: cache.options.threads: not supported (Rampart sizes its own SQLite connections), ignored", Assert.Single(result.Warnings));
    }

    [Theory]
    [InlineData("host: '::1'", "[::1]:8461")]
    [InlineData("host: 0.0.0.0", "0.0.0.0:8461")]
    [InlineData("host: localhost\nport: 9", "localhost:9")]
    [InlineData("port: 9999", "127.0.0.1:9999")]
    [InlineData("port: '9999'", "127.0.0.1:9999")]
    [InlineData("port: 0x2710", "127.0.0.1:10000")]
    [InlineData("port: 10_000", "127.0.0.1:10000")]
    public void Parse_HostAndPort_OneTcpEndpoint(string yaml, string expected)
    {
        Assert.Equal(expected, Assert.Single(Ok(Parse(yaml)).Listen).ToString());
    }

    [Theory]
    [InlineData("0666", "666")]
    [InlineData("0660", "660")]
    [InlineData("0o600", "600")]
    [InlineData("'0660'", "660")]
    [InlineData("'660'", "660")]
    [InlineData("438", "666")]
    public void Parse_UnixSocketMode_ReadAsPyYamlDoes(string mode, string octal)
    {
        var config = Ok(Parse($"path: /run/mta-sts.sock\nmode: {mode}\n"));
        Assert.Equal((UnixFileMode)Convert.ToInt32(octal, 8), Assert.Single(config.Listen).UnixSocketMode);
    }

    [Fact]
    public void Parse_DecimalMode_WarnsAboutOctal()
    {
        var result = Parse("path: /run/mta-sts.sock\nmode: 660\n");
        Assert.Equal((UnixFileMode)660, Assert.Single(Ok(result).Listen).UnixSocketMode);
        Assert.Equal($"{Source}:2: mode: 660 is decimal (octal 1224), as postfix-mta-sts-resolver reads it; write 0660 for octal", Assert.Single(result.Warnings));
    }

    [Fact]
    public void Parse_PathWithHostAndPort_PathWinsAndHostPortWarned()
    {
        var result = Parse("host: 127.0.0.1\nport: 1\npath: /run/mta-sts.sock\n");
        Assert.Equal("unix:/run/mta-sts.sock", Assert.Single(Ok(result).Listen).ToString());
        Assert.Equal(
            [$"{Source}:1: host: ignored because path is set (a Unix socket is used instead of TCP)", $"{Source}:2: port: ignored because path is set (a Unix socket is used instead of TCP)"],
            result.Warnings);
    }

    [Fact]
    public void Parse_ModeWithoutPath_Warned()
    {
        var result = Parse("mode: 0660\n");
        AssertDefaults(Ok(result));
        Assert.Equal($"{Source}:1: mode: ignored: it applies only to a Unix socket (path)", Assert.Single(result.Warnings));
    }

    [Fact]
    public void Parse_ReusePortFalse_NoWarning()
    {
        var result = Parse("reuse_port: false\n");
        Assert.False(Ok(result).ReusePort);
        Assert.Empty(result.Warnings);
    }

    [Fact]
    public void Parse_MergeKeys_Resolved()
    {
        var config = Ok(Parse("""
            default_zone: &base
              strict_testing: true
              timeout: 9
            zones:
              other:
                <<: *base
                require_sni: false
            """));
        Assert.True(config.Zones["other"].Settings.StrictTesting);
        Assert.False(config.Zones["other"].Settings.RequireSni);
        Assert.Equal(TimeSpan.FromSeconds(9), config.Zones["other"].Timeout);
    }

    // Inputs found by fuzz/run (daemon-config) on which YamlDotNet throws InvalidOperationException or ArgumentException,
    // not YamlException: the reader used to let them escape (a stack trace instead of a config error).
    [Theory]
    [InlineData(": [\nlaHhe: [1b ")]
    [InlineData(" :\0\uFFFD\uFFFD\uFFFD")]
    [InlineData("ioPt1 * *:\x18::::2: !:8foo: !!m]oa")]
    public void Parse_YamlTheLibraryCannotRead_OneLineError(string yaml)
    {
        var error = SingleError(yaml);
        Assert.Matches(@"^/etc/mta-sts-daemon\.yml:\d+:\d+: invalid YAML: \S", error);
        Assert.DoesNotContain('\n', error);
        Assert.DoesNotContain("Parameter", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_ForwardAliasUsedAsKeys_ErrorNotStackOverflow()
    {
        // Found by fuzz/run (publish-config, then daemon-config): the process died of a stack overflow in YamlDotNet.
        var error = SingleError("a: {*x, *x}\nb: &x 1\n");
        Assert.StartsWith($"{Source}:1:", error, StringComparison.Ordinal);
        Assert.Contains("invalid YAML: alias *x comes before any anchor &x", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_MergeKeyWithUndefinedAnchor_OneLineError()
    {
        // Found by fuzz/run (daemon-config): MergingParser threw KeyNotFoundException, which escaped the reader.
        var error = SingleError("base: &base\n  timeout: 4\ndefault_zone:\n  <<: *bsae\n  strict_testing: true\n");
        Assert.StartsWith($"{Source}:4:", error, StringComparison.Ordinal);
        Assert.Contains("invalid YAML: alias *bsae comes before any anchor &bsae", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_Directory_Error()
    {
        var dir = Directory.CreateTempSubdirectory("rampart-cfg");
        try
        {
            var result = DaemonConfiguration.Load(dir.FullName);
            Assert.Equal($"{dir.FullName}: is a directory; give a regular file (the configuration file)", Assert.Single(result.Errors));
            AssertDefaults(result.Configuration);
        }
        finally
        {
            dir.Delete();
        }
    }

    [Fact]
    public void Load_MissingFile_Error()
    {
        var path = Path.Combine(Path.GetTempPath(), "rampart-no-such-dir-" + Guid.NewGuid().ToString("N"), "mta-sts-daemon.yml");
        var result = DaemonConfiguration.Load(path);
        Assert.Equal($"{path}: no such file (the configuration file)", Assert.Single(result.Errors));
        Assert.False(result.Succeeded);
    }

    [Fact]
    public void Load_MissingFileInExistingDirectory_Error()
    {
        var path = Path.Combine(Path.GetTempPath(), "rampart-missing-" + Guid.NewGuid().ToString("N") + ".yml");
        Assert.Equal($"{path}: no such file (the configuration file)", Assert.Single(DaemonConfiguration.Load(path).Errors));
    }

    [Fact]
    public void Load_EveryPackagedSample_NoErrors()
    {
        foreach (var file in Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "TestData", "config")))
        {
            var result = DaemonConfiguration.Load(file);
            Assert.True(result.Succeeded, string.Join("\n", result.Errors));
            Assert.Equal(file, result.Configuration.SourceName);
        }
    }

    /// <summary>docs/configuration.md names every key of the daemon's tables, so the tables and the docs cannot drift apart.</summary>
    [Fact]
    public void Docs_EveryKeyOfTheSchema_InConfigurationMd()
    {
        var docs = File.ReadAllText(FindDocs("configuration.md"));
        IReadOnlyList<Rampart.Hosting.Configuration.ConfigKeyDoc>[] sections =
        [
            DaemonConfigReader.Root.Keys, DaemonConfigReader.Cache.Keys, DaemonConfigReader.Zone.Keys, DaemonConfigReader.Proactive.Keys,
            DaemonConfigReader.TlsRptReporting.Keys,
            .. DaemonConfigReader.CacheOptions.Values.Select(s => s.Keys),
        ];
        foreach (var key in sections.SelectMany(k => k))
        {
            Assert.True(Regex.IsMatch(docs, $@"`[^`\n]*\b{Regex.Escape(key.Name)}\b[^`\n]*`"), $"docs/configuration.md does not name {key.Name}");
        }
    }

    private static string FindDocs(string name)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "docs", name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        throw new FileNotFoundException($"docs/{name} not found above {AppContext.BaseDirectory}");
    }
}
