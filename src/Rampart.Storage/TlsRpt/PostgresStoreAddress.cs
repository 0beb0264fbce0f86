using System.Globalization;
using System.Text;
using Npgsql;
using Rampart.Core;

namespace Rampart.Storage.TlsRpt;

/// <summary>
/// Where a PostgreSQL report store lives, parsed from a libpq-style connection URL:
/// <c>postgres://[user[:password]@][host][:port][/database][?param=value&amp;…]</c> (or <c>postgresql://</c>).
/// </summary>
/// <remarks>
/// <para>
/// User, password, host and database are percent-decoded. A host that is an absolute path (<c>%2Frun%2Fpostgresql</c>),
/// or a <c>host=/path</c> parameter, is the directory of a Unix socket. With no host, PGHOST is used, else
/// <c>/var/run/postgresql</c> (Debian's socket directory). With no password, Npgsql reads PGPASSWORD or
/// <c>~/.pgpass</c>, so the password need not appear on a command line. The database defaults to the user name.
/// </para>
/// <para>
/// Parameters: <c>host</c>, <c>port</c>, <c>user</c>, <c>password</c>, <c>dbname</c>, <c>sslmode</c>
/// (disable|allow|prefer|require|verify-ca|verify-full), <c>sslrootcert</c>, <c>connect_timeout</c> (seconds, default
/// 5), <c>application_name</c>, <c>options</c> (server settings for the session, e.g. <c>-c synchronous_commit=off</c>).
/// Anything else is refused, naming the parameter.
/// </para>
/// </remarks>
public sealed class PostgresStoreAddress
{
    /// <summary>PostgreSQL's port when the URL names none.</summary>
    public const int DefaultPort = 5432;

    /// <summary>Seconds to wait for a connection when the URL does not say (<c>connect_timeout</c>).</summary>
    public const int DefaultConnectTimeoutSeconds = 5;

    private static readonly string[] s_schemes = ["postgres://", "postgresql://"];

    private readonly string _connectionString;

    private PostgresStoreAddress(string connectionString, string location, string? password)
    {
        _connectionString = connectionString;
        Location = location;
        Password = password;
    }

    /// <summary>The server, user and database for messages, e.g. <c>postgres://rampart@db1:5432/tlsrpt</c>; never the password.</summary>
    public string Location { get; }

    /// <summary>The password given in the URL, if any (so that messages can be checked never to carry it).</summary>
    internal string? Password { get; }

    /// <summary>The Npgsql connection string (holds the password: never print it).</summary>
    internal string ConnectionString => _connectionString;

    /// <summary>True when <paramref name="store"/> is a PostgreSQL URL (by its scheme) rather than a file path.</summary>
    public static bool IsPostgresUrl(string store) =>
        store is not null && s_schemes.Any(s => store.StartsWith(s, StringComparison.OrdinalIgnoreCase));

    /// <summary>Parses <paramref name="url"/>.</summary>
    /// <exception cref="RampartException">The URL is not usable; the one-line message names it (password hidden) and the rule broken.</exception>
    public static PostgresStoreAddress Parse(string url)
    {
        ArgumentNullException.ThrowIfNull(url);
        var scheme = s_schemes.FirstOrDefault(s => url.StartsWith(s, StringComparison.OrdinalIgnoreCase))
            ?? throw Bad(url, "must start with postgres:// or postgresql://");
        var rest = url[scheme.Length..];
        if (rest.Any(char.IsWhiteSpace) || rest.Any(char.IsControl))
        {
            throw Bad(url, "must not contain spaces or control characters (percent-encode them)");
        }

        string query = "";
        int q = rest.IndexOf('?', StringComparison.Ordinal);
        if (q >= 0)
        {
            query = rest[(q + 1)..];
            rest = rest[..q];
        }
        if (rest.Contains('#', StringComparison.Ordinal))
        {
            throw Bad(url, "must not contain a fragment ('#'; percent-encode it as %23 in a password)");
        }

        string path = "";
        int slash = rest.IndexOf('/', StringComparison.Ordinal);
        if (slash >= 0)
        {
            path = rest[(slash + 1)..];
            rest = rest[..slash];
        }

        string? user = null, password = null;
        int at = rest.LastIndexOf('@');
        if (at >= 0)
        {
            var userInfo = rest[..at];
            rest = rest[(at + 1)..];
            int colon = userInfo.IndexOf(':', StringComparison.Ordinal);
            user = Decode(url, colon >= 0 ? userInfo[..colon] : userInfo, "user");
            password = colon >= 0 ? Decode(url, userInfo[(colon + 1)..], "password") : null;
        }

        string? host = null, port = null;
        if (rest.StartsWith('['))
        {
            int close = rest.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                throw Bad(url, "an IPv6 host needs its closing ']'");
            }
            host = rest[1..close];
            var after = rest[(close + 1)..];
            if (after.Length > 0)
            {
                port = after.StartsWith(':') ? after[1..] : throw Bad(url, "only ':port' may follow an IPv6 host");
            }
        }
        else if (rest.Length > 0)
        {
            if (rest.Contains(',', StringComparison.Ordinal))
            {
                throw Bad(url, "several hosts are not supported; name one server");
            }
            int colon = rest.LastIndexOf(':');
            host = Decode(url, colon >= 0 ? rest[..colon] : rest, "host");
            port = colon >= 0 ? rest[(colon + 1)..] : null;
        }

        string? database = path.Length > 0 ? Decode(url, path, "database") : null;
        if (database is not null && database.Contains('/', StringComparison.Ordinal))
        {
            throw Bad(url, $"database name '{database}' must not contain '/'");
        }
        string? sslMode = null, sslRootCert = null, connectTimeout = null, applicationName = null, options = null;
        foreach (var pair in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = pair.IndexOf('=', StringComparison.Ordinal);
            var key = Decode(url, eq >= 0 ? pair[..eq] : pair, "parameter name");
            var value = eq >= 0 ? Decode(url, pair[(eq + 1)..], $"parameter {key}") : "";
            switch (key)
            {
                case "host": host = value; break;
                case "port": port = value; break;
                case "user": user = value; break;
                case "password": password = value; break;
                case "dbname": database = value; break;
                case "sslmode": sslMode = value; break;
                case "sslrootcert": sslRootCert = value; break;
                case "connect_timeout": connectTimeout = value; break;
                case "application_name": applicationName = value; break;
                case "options": options = value; break;
                default:
                    throw Bad(url, $"unknown parameter '{key}' (known: host, port, user, password, dbname, sslmode, sslrootcert, connect_timeout, application_name, options)");
            }
        }

        if (string.IsNullOrEmpty(host))
        {
            host = Environment.GetEnvironmentVariable("PGHOST") is { Length: > 0 } envHost ? envHost : "/var/run/postgresql";
        }
        int portNumber = DefaultPort;
        if (!string.IsNullOrEmpty(port)
            && (!int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out portNumber) || portNumber is < 1 or > 65535))
        {
            throw Bad(url, $"port '{port}' must be a number from 1 to 65535");
        }
        int timeout = DefaultConnectTimeoutSeconds;
        if (connectTimeout is not null
            && (!int.TryParse(connectTimeout, NumberStyles.None, CultureInfo.InvariantCulture, out timeout) || timeout is < 1 or > 600))
        {
            throw Bad(url, $"connect_timeout '{connectTimeout}' must be a number of seconds from 1 to 600");
        }

        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = host,
            Port = portNumber,
            Timeout = timeout,
            CommandTimeout = 120,
            ApplicationName = string.IsNullOrEmpty(applicationName) ? "rampart" : applicationName,
            // The store's few statements run once per report: prepare them on the server after two uses, and keep the
            // session as it is between reports (the store changes no session state), saving a parse and a reset each time.
            MaxAutoPrepare = 16,
            AutoPrepareMinUsages = 2,
            NoResetOnClose = true,
        };
        if (!string.IsNullOrEmpty(user))
        {
            builder.Username = user;
        }
        if (password is not null)
        {
            builder.Password = password;
        }
        if (!string.IsNullOrEmpty(database))
        {
            builder.Database = database;
        }
        if (sslMode is not null)
        {
            builder.SslMode = sslMode switch
            {
                "disable" => SslMode.Disable,
                "allow" => SslMode.Allow,
                "prefer" => SslMode.Prefer,
                "require" => SslMode.Require,
                "verify-ca" => SslMode.VerifyCA,
                "verify-full" => SslMode.VerifyFull,
                _ => throw Bad(url, $"sslmode '{sslMode}' must be one of disable, allow, prefer, require, verify-ca, verify-full"),
            };
        }
        if (!string.IsNullOrEmpty(options))
        {
            builder.Options = options;
        }
        if (!string.IsNullOrEmpty(sslRootCert))
        {
            builder.RootCertificate = sslRootCert;
        }

        var location = new StringBuilder("postgres://");
        if (!string.IsNullOrEmpty(user))
        {
            location.Append(user).Append('@');
        }
        location.Append(host.Contains(':', StringComparison.Ordinal) ? $"[{host}]" : host)
            .Append(':').Append(portNumber.ToString(CultureInfo.InvariantCulture))
            .Append('/').Append(database ?? user ?? "");
        return new PostgresStoreAddress(builder.ConnectionString, location.ToString(), string.IsNullOrEmpty(password) ? null : password);
    }

    /// <summary><paramref name="url"/> with the password (in the user info or a parameter) replaced by <c>***</c>.</summary>
    public static string Redact(string url)
    {
        ArgumentNullException.ThrowIfNull(url);
        var text = url;
        int schemeEnd = url.IndexOf("://", StringComparison.Ordinal);
        if (schemeEnd >= 0)
        {
            var scheme = url[..(schemeEnd + 3)];
            var rest = url[scheme.Length..];
            int end = rest.IndexOfAny(['/', '?']);
            var authority = end >= 0 ? rest[..end] : rest;
            int at = authority.LastIndexOf('@');
            int colon = at >= 0 ? authority.IndexOf(':', StringComparison.Ordinal) : -1;
            if (colon >= 0 && colon < at)
            {
                text = scheme + authority[..(colon + 1)] + "***" + rest[at..];
            }
        }
        int password = text.IndexOf("password=", StringComparison.Ordinal);
        if (password >= 0 && (password == 0 || text[password - 1] is '?' or '&'))
        {
            int stop = text.IndexOf('&', password);
            text = text[..(password + "password=".Length)] + "***" + (stop >= 0 ? text[stop..] : "");
        }
        return text;
    }

    private static string Decode(string url, string text, string what)
    {
        try
        {
            return Uri.UnescapeDataString(text);
        }
        catch (UriFormatException)
        {
            throw Bad(url, $"the {what} is not properly percent-encoded");
        }
    }

    private static RampartException Bad(string url, string rule) => new($"PostgreSQL store URL '{Redact(url)}' is not usable: {rule}");
}
