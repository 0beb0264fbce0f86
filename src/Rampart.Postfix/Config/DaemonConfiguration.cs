using Rampart.Core.MtaSts;
using Rampart.Core.Policy;
using Rampart.Postfix.Daemon;
using Rampart.Postfix.Socketmap;

namespace Rampart.Postfix.Config;

/*
 * The daemon's YAML file. One loader reads two dialects, key by key, in one key space:
 *
 * 1. postfix-mta-sts-resolver's /etc/mta-sts-daemon.yml, as it is (its 1.x mta-sts-daemon.yml(5)):
 *      host: 127.0.0.1          # with port: one TCP listener (ignored when path is set)
 *      port: 8461
 *      path: /run/mta-sts.sock  # Unix socket instead of TCP
 *      mode: 0666               # octal with a leading 0 (YAML 1.1), file mode of the socket
 *      reuse_port: true         # warned when true: Rampart binds exclusively
 *      shutdown_timeout: 20     # seconds granted to open sessions on stop
 *      cache_grace: 60          # seconds a cached answer needs no refresh
 *      cache: {type: internal|sqlite|redis|redis_sentinel|postgres, options: {...}}
 *      proactive_policy_fetching: {enabled, interval, concurrency_limit, grace_ratio}
 *      default_zone: {strict_testing, timeout, require_sni, tlsrpt}
 *      zones: {NAME: {strict_testing, timeout, require_sni, tlsrpt}}
 *
 * 2. Rampart's own keys (the same file may mix them; docs/configuration.md):
 *      listen: [127.0.0.1:8461, "unix:/run/rampart/socketmap.sock:0660", {address: unix:/x.sock, mode: "0660"}]
 *                               # replaces host/port/path/mode (error when both are given)
 *      state_dir: /var/lib/rampart   # directory of the SQLite policy cache
 *      resolver: 127.0.0.1:53        # the validating DNS resolver
 *      ca_file: /etc/rampart/extra-roots.pem  # extra CA certificates for MTA-STS policy fetches (--ca-file)
 *      overrides: /etc/rampart/overrides      # local policy overrides (--overrides)
 *      policy_list: /etc/rampart/policy.json  # STARTTLS Policy List (--policy-list)
 *      metrics: 127.0.0.1:9461                # Prometheus /metrics (--metrics); default off
 *      user: rampart                          # run as this user once the sockets are bound (--user); needs root
 *      group: rampart                         # and this group (--group); default the user's
 *      log_level: info                        # trace, debug, info, warning or error (--log-level)
 *      tlsrpt_reporting:                      # TLS-RPT for the mail we send (docs/tlsrpt-sending.md)
 *        datagram_socket: /var/spool/postfix/run/tlsrpt/tlsrpt.sock   # libtlsrpt's socket (Postfix 3.10+)
 *        postfix_log: /var/log/mail.log         # or journal: Postfix < 3.10's log, followed (smtp_tls_loglevel = 1)
 *        datagram_socket_mode: "0666"         # who may send to it
 *        datagram_socket_owner: postfix       # USER[:GROUP] it is given to (needs root)
 *        sender_address: tlsrpt@example.net   # envelope sender and From of our reports: turns sending on; the
 *                                             # sessions that deliver them are never counted
 *        organization_name: Example Net       # organization-name (default: the sender's domain)
 *        contact_info: mailto:postmaster@example.net  # contact-info (default: the sender address)
 *        submit: 127.0.0.1:25                 # SMTP server mailed reports are submitted to
 *        spread: 14400                        # seconds after midnight within which reports go out
 *        keep_days: 14                        # finished days of session counts kept (older ones purged)
 *        store: postgres://rampart@db1/tlsrpt # a fleet: sessions and outbox shared in PostgreSQL (default: SQLite)
 *        host: mx1                            # this MTA's name in the fleet (default: the machine's host name)
 *        dkim: {domain: example.net, selector: tlsrpt, key_file: /etc/rampart/dkim.pem}
 *    and in a listen entry: {address: unix:/run/rampart/socketmap.sock, mode: "0660", owner: "rampart:postfix"}
 *
 * Defaults are postfix-mta-sts-resolver's (defaults.py), so an empty file listens on 127.0.0.1:8461 with
 * strict_testing false, require_sni true and a 4 s timeout. The tables of every key are in DaemonConfigReader. Unknown
 * keys are errors naming the nearest known key; keys of postfix-mta-sts-resolver that Rampart does not use (reuse_port:
 * true, sqlite threads, redis tuning, a postgres cache) are warnings saying so; wrong types and bad values are errors.
 * Every message names FILE:LINE. Nothing throws: the result carries every message.
 */

/// <summary>Which program's vocabulary a file uses: decided by the presence of any Rampart-only key.</summary>
internal enum DaemonConfigDialect
{
    PostfixMtaStsResolver,
    Rampart,
}

/// <summary>postfix-mta-sts-resolver's <c>cache.type</c>.</summary>
internal enum DaemonCacheKind
{
    /// <summary>The peer's in-memory LRU. Rampart keeps its SQLite cache in the state directory.</summary>
    Internal,

    /// <summary>The peer's SQLite file (<c>cache.options.filename</c>).</summary>
    Sqlite,

    /// <summary>Redis shared by a fleet (<c>options.url</c>, optional <c>options.key_prefix</c>).</summary>
    Redis,

    /// <summary>Not supported yet (warned); Rampart falls back to its SQLite cache.</summary>
    Postgres,

    /// <summary>Redis through Sentinel (<c>options.sentinels</c>, <c>sentinel_master_name</c>): not supported yet (warned); Rampart falls back to its SQLite cache.</summary>
    RedisSentinel,
}

/// <summary><c>cache:</c>, with postfix-mta-sts-resolver's defaults.</summary>
internal sealed record DaemonCacheSettings
{
    public const int DefaultInternalSize = 10_000;

    public DaemonCacheKind Kind { get; init; } = DaemonCacheKind.Internal;

    /// <summary><c>options.cache_size</c> of the internal cache: the most domains remembered in memory.</summary>
    public int InternalSize { get; init; } = DefaultInternalSize;

    /// <summary><c>options.filename</c> of the sqlite cache.</summary>
    public string? SqliteFile { get; init; }

    /// <summary><c>options.threads</c> of the sqlite cache (accepted, warned: Rampart sizes its own pool).</summary>
    public int? SqliteThreads { get; init; }

    /// <summary><c>options.timeout</c> of the sqlite cache: how long to wait for a lock.</summary>
    public TimeSpan SqliteTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Every option as written (scalars as text), e.g. redis <c>url</c> or postgres <c>dsn</c>.</summary>
    public IReadOnlyDictionary<string, string> Options { get; init; } = new Dictionary<string, string>();

    /// <summary>The Redis store's options when <see cref="Kind"/> is Redis (the url was checked when read); else null.</summary>
    public Rampart.Storage.RedisPolicyStoreOptions? RedisOptions => Kind == DaemonCacheKind.Redis && Options.TryGetValue("url", out var url)
        ? new Rampart.Storage.RedisPolicyStoreOptions
        {
            Url = url,
            KeyPrefix = Options.TryGetValue("key_prefix", out var prefix) ? prefix : Rampart.Storage.RedisPolicyStoreOptions.DefaultKeyPrefix,
        }
        : null;
}


/// <summary><c>tlsrpt_reporting:</c> as read; the daemon's intake takes it only when <see cref="DatagramSocket"/> is set.</summary>
internal sealed record TlsRptReportingConfig
{
    /// <summary><c>datagram_socket</c>: absolute path of the Unix datagram socket libtlsrpt sends to; null = none.</summary>
    public string? DatagramSocket { get; init; }

    /// <summary><c>datagram_socket_mode</c>.</summary>
    public UnixFileMode DatagramSocketMode { get; init; } = Rampart.Postfix.TlsRpt.TlsRptIntakeSettings.DefaultMode;

    /// <summary><c>datagram_socket_owner</c>: USER[:GROUP]; null = the daemon's user.</summary>
    public string? DatagramSocketOwner { get; init; }

    /// <summary><c>postfix_log</c>: the Postfix log to follow (an absolute path, or <c>journal</c>); null = none.</summary>
    public string? PostfixLog { get; init; }

    /// <summary>The log source's settings, or null when no log is configured.</summary>
    public Rampart.Postfix.TlsRpt.TlsRptLogSettings? LogSource => PostfixLog is { } log ? new(log, SenderAddress) : null;

    /// <summary><c>store</c>: a <c>postgres://</c> URL, the fleet's shared session store and outbox; null = SQLite in the state directory.</summary>
    public string? Store { get; init; }

    /// <summary><c>host</c>: this MTA's name in the fleet (record keys and log cursors are kept per host); null = the machine's name.</summary>
    public string? Host { get; init; }

    /// <summary>The shared store, or null for SQLite in the state directory.</summary>
    public Rampart.Postfix.TlsRpt.TlsRptSharedStore? SharedStore =>
        Store is { } url ? new(url, Host ?? Rampart.Postfix.TlsRpt.TlsRptSharedStore.DefaultHost()) : null;

    /// <summary><c>sender_address</c>: envelope sender and From of our reports; null = reports are not sent.</summary>
    public string? SenderAddress { get; init; }

    /// <summary><c>organization_name</c>; null = the sender address's domain.</summary>
    public string? OrganizationName { get; init; }

    /// <summary><c>contact_info</c>; null = the sender address.</summary>
    public string? ContactInfo { get; init; }

    /// <summary><c>submit</c>: the SMTP server mailed reports go to.</summary>
    public System.Net.DnsEndPoint Submit { get; init; } = Rampart.Core.TlsRpt.TlsRptMailSettings.DefaultSubmit;

    /// <summary><c>spread</c>.</summary>
    public TimeSpan Spread { get; init; } = new Rampart.Core.TlsRpt.TlsRptSendSettings().Spread;

    /// <summary><c>keep_days</c>: finished days of session counts kept.</summary>
    public int KeepDays { get; init; } = new Rampart.Core.TlsRpt.TlsRptSendSettings().KeepDays;

    /// <summary><c>dkim</c>; null = unsigned.</summary>
    public TlsRptDkimConfig? Dkim { get; init; }

    /// <summary>The reporter named in our reports: organization_name and contact_info, the sender address's domain as submitter.</summary>
    public Rampart.Core.TlsRpt.TlsRptReporter Reporter(string fallbackDomain)
    {
        var domain = SenderAddress is { } address ? address[(address.LastIndexOf('@') + 1)..].ToLowerInvariant() : fallbackDomain;
        return new(OrganizationName ?? domain, ContactInfo ?? (SenderAddress is { } a ? "mailto:" + a : "postmaster@" + domain), domain);
    }

    /// <summary>One line for the start-up log and <c>--check-config</c>: who sends, through what, signed or not.</summary>
    public string DescribeSending() =>
        $"TLS-RPT reports from {SenderAddress} via {Submit.Host}:{Submit.Port}, {(Dkim?.Key is { } key ? $"DKIM d={key.Domain} s={key.Selector}" : "UNSIGNED")}";

    /// <summary>How reports are mailed, or null when <c>sender_address</c> is not set.</summary>
    public Rampart.Core.TlsRpt.TlsRptMailSettings? Mail => SenderAddress is { } sender
        ? new() { Sender = MimeKit.MailboxAddress.Parse(sender), Submit = Submit, Dkim = Dkim?.Key }
        : null;

    internal static bool TryParseAddress(string text, out string? value, out string error)
    {
        value = null;
        error = $"'{text}' is not an email address (local@domain)";
        if (!MimeKit.MailboxAddress.TryParse(MimeKit.ParserOptions.Default, text, out var parsed) || !string.IsNullOrEmpty(parsed.Name) ||
            parsed.Address.IndexOf('@', StringComparison.Ordinal) is var at && (at <= 0 || at == parsed.Address.Length - 1))
        {
            return false;
        }
        value = parsed.Address;
        return true;
    }

    internal static bool TryParseStore(string text, out string? value, out string error)
    {
        value = null;
        error = "";
        try
        {
            Rampart.Storage.TlsRpt.PostgresStoreAddress.Parse(text);
        }
        catch (Rampart.Core.RampartException ex)
        {
            error = ex.Message;
            return false;
        }
        value = text;
        return true;
    }

    internal static bool TryParseHost(string text, out string? value, out string error)
    {
        value = null;
        error = Rampart.Storage.TlsRpt.PostgresTlsSessionStore.HostProblem(text) is { } problem ? $"'{text}' {problem}" : "";
        if (error.Length > 0)
        {
            return false;
        }
        value = text;
        return true;
    }

    internal static bool TryParseSubmit(string text, out System.Net.DnsEndPoint? value, out string error)
    {
        value = null;
        error = $"'{text}' is not HOST[:PORT] (e.g. 127.0.0.1:25, [::1]:25, localhost)";
        var host = text.Trim();
        var port = 25;
        var colon = host.LastIndexOf(':');
        if (host.StartsWith('['))
        {
            var close = host.IndexOf(']', StringComparison.Ordinal);
            if (close < 0 || (close + 1 < host.Length && (host[close + 1] != ':' || !int.TryParse(host[(close + 2)..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out port))))
            {
                return false;
            }
            host = host[1..close];
        }
        else if (colon >= 0)
        {
            if (!int.TryParse(host[(colon + 1)..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out port))
            {
                return false;
            }
            host = host[..colon];
        }
        if (host.Length == 0 || port is < 1 or > 65535 || host.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
        {
            return false;
        }
        value = new System.Net.DnsEndPoint(host, port);
        return true;
    }

    /// <summary>The intake's settings, or null when no datagram socket is configured.</summary>
    public Rampart.Postfix.TlsRpt.TlsRptIntakeSettings? Intake => DatagramSocket is { } path
        ? new(path) { Mode = DatagramSocketMode, Owner = DatagramSocketOwner }
        : null;
}

/// <summary><c>tlsrpt_reporting.dkim</c> as read; <see cref="Key"/> is null until all three keys are given.</summary>
internal sealed record TlsRptDkimConfig
{
    public string? Domain { get; init; }
    public string? Selector { get; init; }
    public string? KeyFile { get; init; }

    public Rampart.Core.TlsRpt.TlsRptDkimKey? Key => Domain is { } d && Selector is { } s && KeyFile is { } k ? new(d.ToLowerInvariant(), s, k) : null;
}

/// <summary>A zone (<c>default_zone</c> or <c>zones.NAME</c>): its socketmap settings and its network timeout.</summary>
internal sealed record DaemonZone(SocketmapZone Zone, TimeSpan Timeout)
{
    /// <summary>postfix-mta-sts-resolver's default zone timeout (DNS and HTTPS), in seconds.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(4);

    public static DaemonZone Default(string name) => new(new SocketmapZone(name, new SenderPolicySettings()), DefaultTimeout);

    public string Name => Zone.Name;

    public SenderPolicySettings Settings => Zone.Settings;

    /// <summary>The MTA-STS fetch limits for this zone: the whole fetch within <see cref="Timeout"/>.</summary>
    public MtaStsFetchSettings Fetch => new()
    {
        TotalTimeout = Timeout,
        ConnectTimeout = Timeout < TimeSpan.FromSeconds(5) ? Timeout : TimeSpan.FromSeconds(5),
    };
}

/// <summary>The outcome of reading a configuration file: the configuration (defaults where a key was bad) and every message.</summary>
/// <param name="Configuration">Usable only when <see cref="Succeeded"/>; otherwise the defaults plus whatever parsed.</param>
/// <param name="Warnings">One line each: keys understood but not supported yet, unknown keys, ignored keys.</param>
/// <param name="Errors">One line each: unreadable file, YAML syntax, wrong types, bad values.</param>
internal sealed record DaemonConfigLoadResult(
    DaemonConfiguration Configuration,
    IReadOnlyList<string> Warnings,
    IReadOnlyList<string> Errors)
{
    public bool Succeeded => Errors.Count == 0;
}

/// <summary>
/// The daemon's configuration file, read from either postfix-mta-sts-resolver's format or Rampart's (see the comment
/// block above). Build one with <see cref="Load"/> or <see cref="Parse"/>.
/// </summary>
internal sealed record DaemonConfiguration
{
    public const string DefaultHost = "127.0.0.1";
    public const int DefaultPort = 8461;
    public const string DefaultListen = "127.0.0.1:8461";

    /// <summary>The file <c>rampart daemon</c> reads without <c>--config</c>, when it exists (the Debian package's conffile).</summary>
    public const string DefaultPath = "/etc/rampart/rampart.yml";

    /// <summary>The file name messages start with.</summary>
    public required string SourceName { get; init; }

    public DaemonConfigDialect Dialect { get; init; } = DaemonConfigDialect.PostfixMtaStsResolver;

    /// <summary>Where to listen: 127.0.0.1:8461 unless host/port, path or listen say otherwise.</summary>
    public IReadOnlyList<SocketmapEndpoint> Listen { get; init; } =
        [SocketmapEndpoint.Parse(DefaultListen)];

    /// <summary><c>exim_listen</c>: where the Exim line listener answers (docs/exim.md); empty = not served.</summary>
    public IReadOnlyList<SocketmapEndpoint> EximListen { get; init; } = [];

    /// <summary><c>reuse_port</c> (default true, as the peer's); Rampart does not set SO_REUSEPORT.</summary>
    public bool ReusePort { get; init; } = true;

    /// <summary><c>shutdown_timeout</c>: time granted to open sessions when the daemon stops.</summary>
    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary><c>cache_grace</c>: how long a cached answer is used without a refresh.</summary>
    public TimeSpan CacheGrace { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary><c>state_dir</c>; null = the CLI's default.</summary>
    public string? StateDirectory { get; init; }

    /// <summary><c>cache.options.filename</c> when <c>cache.type</c> is sqlite; null otherwise.</summary>
    public string? CacheFile => Cache.Kind == DaemonCacheKind.Sqlite ? Cache.SqliteFile : null;

    public DaemonCacheSettings Cache { get; init; } = new();

    /// <summary>
    /// <c>proactive_policy_fetching</c>: postfix-mta-sts-resolver's keys and defaults, except that Rampart refreshes by
    /// default (RFC 8461 §10.2); <c>enabled: false</c> turns it off.
    /// </summary>
    public MtaStsRefreshSettings ProactiveFetching { get; init; } = new();

    /// <summary><c>default_zone</c>, named <see cref="SocketmapZone.DefaultName"/>.</summary>
    public DaemonZone DefaultZone { get; init; } = DaemonZone.Default(SocketmapZone.DefaultName);

    /// <summary><c>zones</c>, by socketmap name (ordinal).</summary>
    public IReadOnlyDictionary<string, DaemonZone> Zones { get; init; } = new Dictionary<string, DaemonZone>(StringComparer.Ordinal);

    /// <summary><c>resolver</c> as written (validated by <c>ResolverEndpoint.TryParse</c>); null = the CLI's default.</summary>
    public string? Resolver { get; init; }

    /// <summary><c>ca_file</c> (as <c>--ca-file</c>); null = the system's roots only.</summary>
    public string? CaFile { get; init; }

    /// <summary><c>overrides</c> (as <c>--overrides</c>).</summary>
    public string? Overrides { get; init; }

    /// <summary><c>policy_list</c> (as <c>--policy-list</c>).</summary>
    public string? PolicyList { get; init; }

    /// <summary><c>user</c> (as <c>--user</c>): who the daemon runs as once its sockets are bound; null = stay.</summary>
    public string? User { get; init; }

    /// <summary><c>group</c> (as <c>--group</c>); null = the user's group.</summary>
    public string? Group { get; init; }

    /// <summary><c>log_level</c> (as <c>--log-level</c>); null = the host's default.</summary>
    public Microsoft.Extensions.Logging.LogLevel? LogLevel { get; init; }

    /// <summary><c>metrics</c> (as <c>--metrics</c>); null = off.</summary>
    public System.Net.IPEndPoint? Metrics { get; init; }

    /// <summary><c>max_connections</c> (as <c>--max-connections</c>); null = the default from the open-files limit.</summary>
    public int? MaxConnections { get; init; }

    /// <summary><c>tlsrpt_reporting</c>: TLS-RPT for the mail we send; null = not configured.</summary>
    public TlsRptReportingConfig? TlsRptReporting { get; init; }

    /// <summary>
    /// Where Rampart's SQLite cache goes: <c>state_dir</c>, else the directory of the peer's sqlite
    /// <c>cache.options.filename</c> (Rampart writes its own file next to it and never touches the peer's), else null
    /// (the CLI's default).
    /// </summary>
    public string? EffectiveStateDirectory => StateDirectory ?? (CacheFile is { } file ? Path.GetDirectoryName(file) : null);

    /// <summary>Reads and checks a file. Never throws for bad input: a missing file, a directory or bad YAML is an error.</summary>
    public static DaemonConfigLoadResult Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return Hosting.Configuration.ConfigReader.ReadFile(path, "configuration file", out var error) is { } text
            ? Parse(text, path)
            : new(new DaemonConfiguration { SourceName = path }, [], [error!]);
    }

    /// <summary>Checks YAML text; <paramref name="sourceName"/> starts every message.</summary>
    public static DaemonConfigLoadResult Parse(string yaml, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        ArgumentNullException.ThrowIfNull(sourceName);
        return DaemonConfigReader.Read(yaml, sourceName);
    }
}
