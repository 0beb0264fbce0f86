using System.Net;
using Rampart.Core;
using Rampart.Core.Publish;
using Rampart.Hosting.Configuration;
using Rampart.Web.Dashboard;
using YamlDotNet.RepresentationModel;

namespace Rampart.Web;

/// <summary>The <c>serve:</c> section of the publish YAML, validated.</summary>
internal sealed record ServeSettings(
    IReadOnlyList<IPEndPoint> Listen,
    string Certificates,
    string ReportPath,
    long ReportMaxBytes,
    string? StateDir)
{
    /// <summary><c>max_connections</c>: connections open at once; null = the default from the open-files limit.</summary>
    public int? MaxConnections { get; init; }

    /// <summary><c>metrics</c>: where to serve Prometheus <c>/metrics</c> over plain HTTP; null = not served.</summary>
    public IPEndPoint? Metrics { get; init; }

    /// <summary><c>dashboard</c>: the dashboard mounted under a path, behind a credential; null = not mounted.</summary>
    public DashboardMount? Dashboard { get; init; }

    public const long DefaultReportMaxBytes = 1 << 20;

    public const string DefaultCertificates = "/etc/letsencrypt/live";

    /// <summary>Every key at its default: [::]:443, certbot's live directory, /tlsrpt, 1 MiB, the CLI's state directory.</summary>
    public static ServeSettings Default { get; } =
        new([new IPEndPoint(IPAddress.IPv6Any, 443)], DefaultCertificates, "/tlsrpt", DefaultReportMaxBytes, null);
}

/// <summary>The publish YAML: every domain (for <c>publish</c> and <c>serve</c>) and the serve section.</summary>
internal sealed record PublishConfig(string Source, IReadOnlyList<PublishDomain> Domains, ServeSettings Serve);

/// <summary>
/// Reads the publish YAML: one domain at the top level (<c>domain:</c>, <c>mx:</c>, …) or a <c>domains:</c> list, plus
/// an optional <c>serve:</c> section, by the tables below (<see cref="ConfigReader"/>). Unknown keys are errors naming
/// the nearest known key (a typo must not silently drop a setting); all errors are collected and reported as one
/// <see cref="RampartException"/>, each naming the file, line and key. The domain's values are checked by
/// <see cref="PublishDomain.TryFrom"/>.
/// </summary>
internal static class PublishConfigFile
{
    internal const string MtaStsWellKnown = "/.well-known/mta-sts.txt";

    private const long MaxReportBytes = 64L << 20;

    /// <summary>One <c>tlsa:</c> entry.</summary>
    public static readonly ConfigSection<PublishTlsaOptions> Tlsa = new ConfigSection<PublishTlsaOptions>()
        .Key("cert", ConfigTypes.Text, "required", "PEM certificate or chain of the MX host (certbot's fullchain.pem).", (o, v) => Set(o, () => o.Cert = v))
        .Key("next", ConfigTypes.Text, "", "PEM certificate or key published ahead of a rotation.", (o, v) => Set(o, () => o.Next = v))
        .Key("host", ConfigTypes.Text, "the certificate's first name", "The MX host the records are for.", (o, v) => Set(o, () => o.Host = v))
        .Key("port", ConfigTypes.Text, "25", "SMTP port of the TLSA name (_PORT._tcp.host).", (o, v) => Set(o, () => o.Port = v))
        .Key("dane_ta", ConfigTypes.Bool, "false", "Also publish 2 1 1 for the chain's top CA.", (o, v) => Set(o, () => o.DaneTa = v));

    /// <summary>One domain, at the top level or in <c>domains:</c>.</summary>
    public static readonly ConfigSection<PublishDomainOptions> Domain = new ConfigSection<PublishDomainOptions>()
        .Key("domain", ConfigTypes.Text, "required", "The mail domain.", (o, v) => Set(o, () => o.Domain = v))
        .Key("mx", ConfigTypes.TextList, "required unless mode: none", "MX host names or *. patterns for the policy.", (o, v) => Set(o, () => o.Mx.AddRange(v)))
        .Key("mode", ConfigTypes.Text, "testing", "testing, enforce or none.", (o, v) => Set(o, () => o.Mode = v))
        .Key("max_age", ConfigTypes.Text, "86400", "Policy lifetime in seconds (0..31557600).", (o, v) => Set(o, () => o.MaxAge = v))
        .Key("tlsrpt", ConfigTypes.TextList, "", "TLS-RPT report addresses (mailto: or https:).", (o, v) => Set(o, () => o.TlsRpt.AddRange(v)))
        .Key("tlsa", "list of entries", "", "Certificates to publish TLSA records for (below).", ReadTlsa)
        .Key("policy_host", ConfigTypes.Text, "", "Where mta-sts.<domain> points: an IP address or a host name.", (o, v) => Set(o, () => o.PolicyHost = v))
        .Key("cert_name", ConfigTypes.Text, "mta-sts.<domain>", "The certbot lineage holding the policy host's certificate.", (o, v) => Set(o, () => o.CertName = v));

    /// <summary>The <c>serve.dashboard:</c> section: where the dashboard is mounted and who may read it.</summary>
    public static readonly ConfigSection<DashboardMount> DashboardSection = new ConfigSection<DashboardMount>()
        .Key("path", "absolute URL path", DashboardMount.Default.Path, "Where the dashboard answers on every hosted name (--dashboard).", ReadDashboardPath)
        .Key("token_file", ConfigTypes.Text, "", "Require 'Authorization: Bearer TOKEN', TOKEN being the file's first line (16 characters at least; --dashboard-token-file).",
            (d, v) => d with { TokenFile = v })
        .Key("basic_user", ConfigTypes.Text, "", "Require HTTP basic authentication as this user (with password_hash).", (d, v) => d with { BasicUser = v })
        .Key("password_hash", ConfigTypes.Text, "", "The hash of basic_user's password, as 'rampart dashboard --hash-password' prints it.",
            (d, v) => d with { PasswordHash = v })
        .Key("max_credential_failures", ConfigTypes.Int(1, CredentialFailureLimits.MostFailures), Text(CredentialFailureLimits.Default.MaxFailures),
            "Wrong credentials an address may send within credential_failure_window; then it gets 429 until the window ends (docs/dashboard.md).",
            (d, v) => d with { FailureLimits = d.FailureLimits with { MaxFailures = v } })
        .Key("credential_failure_window", ConfigTypes.Int(1, CredentialFailureLimits.MostWindowSeconds), Text((int)CredentialFailureLimits.Default.Window.TotalSeconds),
            "Seconds, counted from an address's first wrong credential, over which max_credential_failures apply and the refusal lasts.",
            (d, v) => d with { FailureLimits = d.FailureLimits with { Window = TimeSpan.FromSeconds(v) } })
        .Key("credential_failure_addresses", ConfigTypes.Int(CredentialFailureLimits.FewestAddresses, CredentialFailureLimits.MostAddresses),
            Text(CredentialFailureLimits.Default.MaxAddresses),
            "Client addresses (IPv6: /64 networks) counted at once; when full, ended windows and then the oldest addresses not refused are dropped.",
            (d, v) => d with { FailureLimits = d.FailureLimits with { MaxAddresses = v } });

    /// <summary>The <c>serve:</c> section (rampart serve).</summary>
    public static readonly ConfigSection<ServeSettings> Serve = new ConfigSection<ServeSettings>()
        .Key("listen", "IP:PORT or a list", "[::]:443", "Addresses to serve HTTPS on.", ReadListen)
        .Key("certificates", ConfigTypes.Text, ServeSettings.DefaultCertificates, "Directory of certbot lineages (NAME/fullchain.pem, NAME/privkey.pem).",
            (s, v) => s with { Certificates = v })
        .Key("report_path", "absolute URL path", "/tlsrpt", "TLS-RPT POST path on every hosted name.", ReadReportPath)
        .Key("report_max_bytes", ConfigTypes.Int(1024, (int)MaxReportBytes), ServeSettings.DefaultReportMaxBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "Larger reports are refused (413).", (s, v) => s with { ReportMaxBytes = v })
        .Key("state_dir", ConfigTypes.Text, "the CLI's default", "Directory of the TLS-RPT report store.", (s, v) => s with { StateDir = v })
        .Key("max_connections", ConfigTypes.Int(1, Hosting.Listening.ConnectionLimit.Most), Hosting.Listening.ConnectionLimit.DefaultDoc,
            "Connections open at once, all addresses together; more are closed at once (--max-connections; docs/security.md).",
            (s, v) => s with { MaxConnections = v })
        .Key("metrics", ConfigTypes.Reference("IP:PORT", (r, n, p) => r.EndPoint(n, p, "e.g. 127.0.0.1:9462")), "off",
            "Serve Prometheus metrics over plain HTTP at http://IP:PORT/metrics: connections admitted and refused, responses by kind and status (--metrics; keep it on loopback).",
            (s, v) => s with { Metrics = v })
        .Section("dashboard", DashboardSection, "The read-only dashboard under a path of every hosted name, behind a credential (docs/dashboard.md).",
            s => s.Dashboard ?? DashboardMount.Default, (s, v) => s with { Dashboard = v });

    /// <summary>The top level: <c>domains:</c>, <c>serve:</c>, or one domain's keys.</summary>
    private static readonly ConfigSection<PublishFile> s_root = new ConfigSection<PublishFile>()
        .Key("domains", "list of domains", "", "Every domain, each a mapping of the domain keys.", ReadDomains)
        .Section("serve", Serve, "rampart serve's settings.", f => f.Serve, (f, v) => f with { Serve = v })
        .Include(Domain, f => f.TopLevel, (f, _) => f);

    /// <summary>What the top level holds while it is read.</summary>
    private sealed record PublishFile(PublishDomainOptions TopLevel, List<(PublishDomainOptions Options, YamlNode Node, string Where)> Domains, ServeSettings Serve);

    private static string Text(int value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);

    public static PublishConfig Load(string path) =>
        ConfigReader.ReadFile(path, "publish YAML file", out var error) is { } text ? Parse(text, path) : throw new RampartException(error!);

    public static PublishConfig Parse(string yaml, string source)
    {
        var reader = new ConfigReader(source);
        var domains = new List<PublishDomain>();
        var serve = ServeSettings.Default;
        if (reader.Parse(yaml, "domains: ..., serve: ...") is { } root)
        {
            var file = s_root.Read(reader, root, "", new PublishFile(new PublishDomainOptions(), [], ServeSettings.Default));
            serve = file.Serve;
            var domainKeys = Domain.Keys.Select(k => k.Name).ToHashSet(StringComparer.Ordinal);
            if (reader.Entries(root, "").FirstOrDefault(e => domainKeys.Contains(e.Name)) is { } first)
            {
                file.Domains.Insert(0, (file.TopLevel, first.KeyNode, "domain"));
            }
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (options, node, where) in file.Domains)
            {
                PublishDomain.TryFrom(options, where, out var domain, out var domainErrors);
                foreach (var domainError in domainErrors)
                {
                    reader.Error(node, "", domainError);
                }
                if (domain is not null && !seen.Add(domain.Domain))
                {
                    reader.Error(node, where, $"domain {domain.Domain} is listed twice");
                }
                else if (domain is not null)
                {
                    domains.Add(domain);
                }
            }
            if (file.Domains.Count == 0)
            {
                reader.Error("no domain: give domain: (one domain) or domains: (a list)");
            }
        }
        var errors = reader.Errors;
        if (errors.Count > 0)
        {
            throw new RampartException(errors.Count == 1 ? errors[0] : $"{errors.Count} errors: " + string.Join("; ", errors));
        }
        return new PublishConfig(source, domains, serve);
    }

    private static T Set<T>(T options, Action set)
    {
        set();
        return options;
    }

    private static PublishFile ReadDomains(ConfigReader reader, ConfigEntry entry, PublishFile file)
    {
        if (entry.Value is not YamlSequenceNode list)
        {
            reader.Error(entry.Value, entry.Path, $"must be a list of domains, not {ConfigReader.Describe(entry.Value)}");
            return file;
        }
        for (var i = 0; i < list.Children.Count; i++)
        {
            var item = list.Children[i];
            var where = $"domains[{i}]";
            if (item is YamlMappingNode)
            {
                file.Domains.Add((Domain.Read(reader, item, where, new PublishDomainOptions()), item, where));
            }
            else
            {
                reader.Error(item, where, "must be a mapping (domain: …, mx: …)");
            }
        }
        return file;
    }

    private static PublishDomainOptions ReadTlsa(ConfigReader reader, ConfigEntry entry, PublishDomainOptions options)
    {
        if (entry.Value is not YamlSequenceNode list)
        {
            reader.Error(entry.Value, entry.Path, "must be a list of entries (- cert: FILE)");
            return options;
        }
        for (var i = 0; i < list.Children.Count; i++)
        {
            var where = $"{entry.Path}[{i}]";
            if (list.Children[i] is YamlMappingNode)
            {
                options.Tlsa.Add(Tlsa.Read(reader, list.Children[i], where, new PublishTlsaOptions()));
            }
            else
            {
                reader.Error(list.Children[i], where, "must be a mapping (cert: FILE, next: FILE, dane_ta: true)");
            }
        }
        return options;
    }

    private static ServeSettings ReadListen(ConfigReader reader, ConfigEntry entry, ServeSettings settings)
    {
        var listen = new List<IPEndPoint>();
        foreach (var address in reader.TextList(entry.Value, entry.Path) ?? [])
        {
            if (ConfigReader.TryEndPoint(address, out var endPoint))
            {
                listen.Add(endPoint);
            }
            else
            {
                reader.Error(entry.Value, entry.Path, $"'{address}' is not IP:PORT ([IPv6]:PORT)");
            }
        }
        return listen.Count == 0 ? settings : settings with { Listen = listen };
    }

    private static DashboardMount ReadDashboardPath(ConfigReader reader, ConfigEntry entry, DashboardMount mount)
    {
        if (reader.Text(entry.Value, entry.Path) is not { } path)
        {
            return mount;
        }
        if (!DashboardMount.IsValidPath(path, out var error))
        {
            reader.Error(entry.Value, entry.Path, error);
            return mount;
        }
        return mount with { Path = path };
    }

    private static ServeSettings ReadReportPath(ConfigReader reader, ConfigEntry entry, ServeSettings settings)
    {
        if (reader.Text(entry.Value, entry.Path) is not { } path)
        {
            return settings;
        }
        if (!path.StartsWith('/') || path == MtaStsWellKnown)
        {
            reader.Error(entry.Value, entry.Path, $"'{path}' must be an absolute path other than {MtaStsWellKnown}");
            return settings;
        }
        return settings with { ReportPath = path };
    }
}
