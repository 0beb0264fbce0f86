using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Rampart.Core;
using StackExchange.Redis;

namespace Rampart.Storage;

/// <summary>
/// Where the Redis policy cache lives, parsed from postfix-mta-sts-resolver's <c>cache.options.url</c> (the URL forms
/// of redis-py's <c>from_url</c>) or from a StackExchange.Redis configuration string.
/// </summary>
/// <remarks>
/// URL forms:
/// <list type="bullet">
/// <item><c>redis://[[user]:password@]host[:port][/db][?db=N&amp;password=…]</c>: TCP, port 6379 by default, db 0 by default;</item>
/// <item><c>rediss://…</c>: the same over TLS (the server's certificate is verified);</item>
/// <item><c>unix://[[user]:password@]/path/redis.sock[?db=N&amp;password=…]</c>: a local socket (absolute path).</item>
/// </list>
/// User and password are percent-decoded. redis-py's connection tuning parameters (<c>socket_timeout</c>,
/// <c>max_connections</c>, …) are accepted and listed in <see cref="IgnoredParameters"/>: Rampart keeps its own short
/// timeouts. Anything else that is not a URL is read as a StackExchange.Redis configuration string.
/// </remarks>
public sealed class RedisServerAddress
{
    /// <summary>Redis's port when the URL names none.</summary>
    public const int DefaultPort = 6379;

    /// <summary>redis-py <c>from_url</c> query parameters that tune its own connection pool; Rampart accepts and ignores them.</summary>
    private static readonly HashSet<string> s_ignorable = new(StringComparer.Ordinal)
    {
        "socket_timeout", "socket_connect_timeout", "socket_keepalive", "retry_on_timeout", "max_connections",
        "health_check_interval", "client_name", "decode_responses", "encoding", "encoding_errors",
        "single_connection_client", "protocol",
    };

    private readonly ConfigurationOptions _configuration;

    private RedisServerAddress(ConfigurationOptions configuration, string location, IReadOnlyList<string> ignoredParameters)
    {
        _configuration = configuration;
        Location = location;
        IgnoredParameters = ignoredParameters;
    }

    /// <summary>The server and database for logs and messages, e.g. <c>redis://10.0.0.5:6379/2</c>; never the password.</summary>
    public string Location { get; }

    /// <summary>The database number (SELECT), 0 unless the URL says otherwise.</summary>
    public int Database => _configuration.DefaultDatabase ?? 0;

    /// <summary>True for <c>rediss://</c> (or <c>ssl=true</c>): the connection is TLS.</summary>
    public bool UsesTls => _configuration.Ssl;

    /// <summary>redis-py tuning parameters found in the URL and ignored (the daemon warns about them).</summary>
    public IReadOnlyList<string> IgnoredParameters { get; }

    /// <summary>A fresh copy of the StackExchange.Redis settings (endpoints, credentials, database, TLS).</summary>
    internal ConfigurationOptions ToConfiguration() => _configuration.Clone();

    /// <summary>Parses <paramref name="url"/>.</summary>
    /// <exception cref="RampartException">
    /// The text is not a usable address; the one-line message names the input (password hidden) and the rule broken.
    /// </exception>
    public static RedisServerAddress Parse(string url)
    {
        ArgumentNullException.ThrowIfNull(url);
        return TryParseCore(url, out var address, out var error)
            ? address
            : throw new RampartException($"redis url '{Redact(url)}' is not usable: {error}");
    }

    /// <summary>Parses <paramref name="url"/>; on failure <paramref name="error"/> says which rule it broke.</summary>
    public static bool TryParse(string url, [NotNullWhen(true)] out RedisServerAddress? address, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(url);
        return TryParseCore(url, out address, out error);
    }

    /// <summary><paramref name="url"/> with any password replaced by <c>***</c>, for messages.</summary>
    public static string Redact(string url)
    {
        ArgumentNullException.ThrowIfNull(url);
        int scheme = url.IndexOf("://", StringComparison.Ordinal);
        if (scheme < 0)
        {
            // a configuration string: password=… up to the next comma
            return string.Join(',', url.Split(',').Select(part =>
                part.TrimStart().StartsWith("password", StringComparison.OrdinalIgnoreCase) && part.Contains('=', StringComparison.Ordinal)
                    ? part[..(part.IndexOf('=', StringComparison.Ordinal) + 1)] + "***"
                    : part));
        }

        string redacted = url;
        int authorityStart = scheme + 3;
        int authorityEnd = url.IndexOfAny(['/', '?', '#'], authorityStart);
        string authority = url[authorityStart..(authorityEnd < 0 ? url.Length : authorityEnd)];
        int at = authority.LastIndexOf('@');
        if (at >= 0)
        {
            int colon = authority.IndexOf(':', StringComparison.Ordinal);
            if (colon >= 0 && colon < at)
            {
                redacted = url[..(authorityStart + colon + 1)] + "***" + url[(authorityStart + at)..];
            }
        }

        int query = redacted.IndexOf('?', StringComparison.Ordinal);
        if (query >= 0)
        {
            var parts = redacted[(query + 1)..].Split('&').Select(p =>
                p.StartsWith("password=", StringComparison.OrdinalIgnoreCase) ? "password=***" : p);
            redacted = redacted[..(query + 1)] + string.Join('&', parts);
        }

        return redacted;
    }

    private static bool TryParseCore(string url, [NotNullWhen(true)] out RedisServerAddress? address, [NotNullWhen(false)] out string? error)
    {
        address = null;
        string text = url.Trim();
        if (text.Length == 0)
        {
            error = "it is empty (expected redis://host:port/db, rediss://…, unix:///path/redis.sock?db=N or host:port)";
            return false;
        }

        if (text.Any(char.IsControl))
        {
            error = "it contains control characters";
            return false;
        }

        int scheme = text.IndexOf("://", StringComparison.Ordinal);
        return scheme < 0
            ? TryParseConfigurationString(text, out address, out error)
            : TryParseUrl(text[..scheme].ToLowerInvariant(), text[(scheme + 3)..], out address, out error);
    }

    private static bool TryParseUrl(string scheme, string rest, [NotNullWhen(true)] out RedisServerAddress? address, [NotNullWhen(false)] out string? error)
    {
        address = null;
        if (scheme is not ("redis" or "rediss" or "unix"))
        {
            error = $"the scheme '{scheme}' is not redis://, rediss:// or unix://";
            return false;
        }

        if (rest.Contains('#', StringComparison.Ordinal))
        {
            error = "a redis url has no #fragment";
            return false;
        }

        string query = "";
        int q = rest.IndexOf('?', StringComparison.Ordinal);
        if (q >= 0)
        {
            query = rest[(q + 1)..];
            rest = rest[..q];
        }

        int slash = rest.IndexOf('/', StringComparison.Ordinal);
        string authority = slash < 0 ? rest : rest[..slash];
        string path = slash < 0 ? "" : rest[slash..];

        string? user = null, password = null;
        int at = authority.LastIndexOf('@');
        if (at >= 0)
        {
            string userInfo = authority[..at];
            authority = authority[(at + 1)..];
            int colon = userInfo.IndexOf(':', StringComparison.Ordinal);
            user = Decode(colon < 0 ? userInfo : userInfo[..colon]);
            password = colon < 0 ? null : Decode(userInfo[(colon + 1)..]);
            if (user?.Length == 0)
            {
                user = null;
            }
        }

        int? database = null;
        var ignored = new List<string>();
        foreach (string pair in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = pair.IndexOf('=', StringComparison.Ordinal);
            string name = Decode(eq < 0 ? pair : pair[..eq]);
            string value = eq < 0 ? "" : Decode(pair[(eq + 1)..]);
            switch (name)
            {
                case "db":
                    if (!TryDatabase(value, out int db))
                    {
                        error = $"the db parameter '{value}' is not a database number (0 or more)";
                        return false;
                    }
                    database = db;
                    break;
                case "password":
                    password = value;
                    break;
                case "username":
                    user = value.Length == 0 ? null : value;
                    break;
                default:
                    if (!s_ignorable.Contains(name))
                    {
                        error = $"the parameter '{name}' is unknown (known: db, password, username)";
                        return false;
                    }
                    ignored.Add(name);
                    break;
            }
        }

        var configuration = new ConfigurationOptions { User = user, Password = password };
        string location;
        if (scheme == "unix")
        {
            if (authority.Length != 0)
            {
                error = "a unix socket path must be absolute: unix:///path/redis.sock (three slashes)";
                return false;
            }

            string socketPath = Decode(path);
            if (socketPath.Length <= 1)
            {
                error = "it names no socket path (unix:///path/redis.sock?db=N)";
                return false;
            }

            configuration.EndPoints.Add(new UnixDomainSocketEndPoint(socketPath));
            database ??= 0;
            location = $"unix://{socketPath}?db={database.Value.ToString(CultureInfo.InvariantCulture)}";
        }
        else
        {
            if (!TryHostPort(authority, out string host, out int port, out error))
            {
                return false;
            }

            if (path.Length > 1)
            {
                if (!TryDatabase(path[1..], out int db))
                {
                    error = $"the path '{path}' is not a database number (redis://host:port/N)";
                    return false;
                }

                if (database is { } fromQuery && fromQuery != db)
                {
                    error = $"the database is given twice, differently ({path} and db={fromQuery.ToString(CultureInfo.InvariantCulture)})";
                    return false;
                }

                database = db;
            }

            database ??= 0;
            configuration.EndPoints.Add(host, port);
            if (scheme == "rediss")
            {
                configuration.Ssl = true;
                configuration.SslHost = host;
            }

            string hostText = host.Contains(':', StringComparison.Ordinal) ? $"[{host}]" : host;
            location = $"{scheme}://{hostText}:{port.ToString(CultureInfo.InvariantCulture)}/{database.Value.ToString(CultureInfo.InvariantCulture)}";
        }

        configuration.DefaultDatabase = database;
        address = new RedisServerAddress(configuration, location, ignored);
        error = null;
        return true;
    }

    private static bool TryHostPort(string authority, out string host, out int port, [NotNullWhen(false)] out string? error)
    {
        port = DefaultPort;
        string portText = "";
        if (authority.StartsWith('['))
        {
            int close = authority.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                host = "";
                error = $"the host '{authority}' opens '[' without closing it";
                return false;
            }

            host = authority[1..close];
            string after = authority[(close + 1)..];
            if (after.Length > 0)
            {
                if (!after.StartsWith(':'))
                {
                    error = $"'{after}' after the IPv6 address is not :port";
                    return false;
                }
                portText = after[1..];
            }
        }
        else
        {
            int colon = authority.LastIndexOf(':');
            host = colon < 0 ? authority : authority[..colon];
            portText = colon < 0 ? "" : authority[(colon + 1)..];
        }

        if (host.Length == 0)
        {
            host = "localhost"; // redis-py's default for redis:///0
        }

        if (host.Any(c => char.IsWhiteSpace(c) || c is '/' or '@' or '[' or ']' or ',') || (host.Contains(':', StringComparison.Ordinal) && !IPAddress.TryParse(host, out _)))
        {
            error = $"the host '{host}' is not a host name or IP address";
            return false;
        }

        if (portText.Length > 0 && (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535))
        {
            error = $"the port '{portText}' is not a number from 1 to 65535";
            return false;
        }

        error = null;
        return true;
    }

    private static bool TryParseConfigurationString(string text, [NotNullWhen(true)] out RedisServerAddress? address, [NotNullWhen(false)] out string? error)
    {
        address = null;
        if (text.Any(char.IsWhiteSpace))
        {
            error = "not a redis:// url, and a configuration string (host:port,password=…,defaultDatabase=N) has no spaces";
            return false;
        }

        ConfigurationOptions configuration;
        try
        {
            configuration = ConfigurationOptions.Parse(text);
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or NotSupportedException or PlatformNotSupportedException)
        {
            error = $"not a redis:// url, and not a StackExchange.Redis configuration string ({StateFiles.OneLine(ex.Message)})";
            return false;
        }

        if (configuration.EndPoints.Count == 0)
        {
            error = "it names no server (expected redis://host:port/db or host:port,…)";
            return false;
        }

        if (configuration.DefaultDatabase is < 0)
        {
            error = "defaultDatabase must be 0 or more";
            return false;
        }

        string endpoints = string.Join(",", configuration.EndPoints.Select(Describe));
        string location = $"{endpoints}/{(configuration.DefaultDatabase ?? 0).ToString(CultureInfo.InvariantCulture)}{(configuration.Ssl ? " (tls)" : "")}";
        address = new RedisServerAddress(configuration, location, []);
        error = null;
        return true;
    }

    private static string Describe(EndPoint endpoint) => endpoint switch
    {
        UnixDomainSocketEndPoint unix => "unix://" + unix,
        DnsEndPoint { Port: 0 } dns => $"{dns.Host}:{DefaultPort.ToString(CultureInfo.InvariantCulture)}",
        IPEndPoint { Port: 0 } ip => $"{ip.Address}:{DefaultPort.ToString(CultureInfo.InvariantCulture)}",
        _ => EndPointCollection.ToString(endpoint),
    };

    private static bool TryDatabase(string text, out int database) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out database);

    private static string Decode(string text)
    {
        try
        {
            return Uri.UnescapeDataString(text);
        }
        catch (UriFormatException)
        {
            return text;
        }
    }
}
