using Rampart.Core;
using Rampart.Core.MtaSts;
using Rampart.Core.Policy;
using Rampart.Core.Publish;
using Rampart.Hosting;
using Rampart.Postfix.Config;
using Rampart.Postfix.Daemon;
using Rampart.Postfix.Socketmap;
using Rampart.Web;

namespace Rampart.Cli;

/// <summary>What <c>rampart daemon</c>'s command line gave; null (or false, or empty) where it gave nothing.</summary>
/// <param name="Timeout">Seconds given with <c>--timeout</c>, or null; <paramref name="DefaultTimeout"/> applies when neither the command line nor the file gives one.</param>
internal sealed record DaemonCommandLine(
    IReadOnlyList<SocketmapEndpoint> Listen,
    string? StateDir,
    bool StrictTesting,
    bool NoSni,
    bool TlsRpt,
    double? Timeout,
    double DefaultTimeout,
    System.Net.IPEndPoint? Metrics,
    string? User,
    string? Group,
    string? SocketOwner,
    ServiceInputs Services,
    Microsoft.Extensions.Logging.LogLevel? LogLevel = null,
    int? MaxConnections = null,
    IReadOnlyList<SocketmapEndpoint>? EximListen = null);

/// <summary>What <c>rampart serve</c>'s command line gave.</summary>
internal sealed record ServeCommandLine(IReadOnlyList<System.Net.IPEndPoint> Listen, string? Certificates, string? StateDir, string? Store, int? MaxConnections = null,
    System.Net.IPEndPoint? Metrics = null, string? DashboardPath = null, string? DashboardTokenFile = null);

/// <summary><c>rampart serve</c>'s settings: the publish file with the command line applied, and where reports are kept.</summary>
/// <param name="Store">A report store named by <c>--store</c>, or null.</param>
/// <param name="StoreStateDir">The state directory of the report store (with <see cref="Store"/>, only one from the command line, so both is an error).</param>
internal sealed record ServeRun(PublishConfig Config, string? Store, string? StoreStateDir);

/// <summary>What <c>rampart publish</c>'s command line gave: the domains to publish (normalised; none = all) and a mode to force.</summary>
internal sealed record PublishCommandLine(IReadOnlyList<string> Domains, MtaStsMode? Mode);

/// <summary>
/// The one place where a configuration file and the command line meet, one function per host. The rule is the same
/// everywhere: <b>a value given on the command line wins over the file's, and the file's over the default</b>. Flags
/// that switch something on (<c>--strict-testing</c>, <c>--tlsrpt</c>) or off (<c>--no-sni</c>) can only move the
/// file's setting their way; lists (<c>--listen</c>) replace the file's list, never add to it.
/// </summary>
internal static class SettingsMerge
{
    /// <summary>
    /// The daemon's settings from its file (read just now: at start and on SIGHUP; null without <c>--config</c>) and its
    /// command line. The file's warnings are passed on; any error leaves the settings null. Nothing throws.
    /// </summary>
    /// <param name="environment">The process environment (<c>$STATE_DIRECTORY</c>); tests pass their own.</param>
    public static DaemonReload Daemon(DaemonConfigLoadResult? loaded, DaemonCommandLine cli, Func<string, string?>? environment = null)
    {
        ArgumentNullException.ThrowIfNull(cli);
        environment ??= Environment.GetEnvironmentVariable;
        var warnings = new List<string>(loaded?.Warnings ?? []);
        if (loaded is { Succeeded: false })
        {
            return new(null, warnings, loaded.Errors);
        }
        var file = loaded?.Configuration;
        DaemonReload Failed(string error) => new(null, warnings, [error]);

        SocketmapEndpoint Owned(SocketmapEndpoint e) => cli.SocketOwner is { } owner && e.UnixSocketPath is not null ? e with { UnixSocketOwner = owner } : e;
        var endpoints = new List<SocketmapEndpoint>();
        if (cli.Listen.Count > 0 || file is null)
        {
            foreach (var endpoint in cli.Listen.Count > 0 ? cli.Listen : [SocketmapEndpoint.Parse(DaemonConfiguration.DefaultListen)])
            {
                endpoints.Add(Owned(endpoint));
            }
        }
        else
        {
            endpoints.AddRange(file.Listen);
        }
        // --exim-listen replaces exim_listen; --socket-owner gives its Unix sockets away as well (Exim's user must connect).
        var exim = cli.EximListen is { Count: > 0 } eximCli
            ? eximCli.Select(Owned).ToList()
            : file?.EximListen ?? [];
        foreach (var owner in endpoints.Concat(exim).Select(e => e.UnixSocketOwner).OfType<string>().Distinct())
        {
            if (!UnixAccount.TryResolve(owner, null, out _, out var ownerError))
            {
                return Failed($"socket owner '{owner}': {ownerError}");
            }
        }

        // Both were checked where they were read: the command line's by OptionValues, the file's by its schema.
        var seconds = cli.Timeout ?? file?.DefaultZone.Timeout.TotalSeconds ?? cli.DefaultTimeout;
        var metrics = cli.Metrics ?? file?.Metrics;
        UnixAccount? runAs = null;
        var group = cli.Group ?? file?.Group;
        if ((cli.User ?? file?.User) is { } userName)
        {
            if (!UnixAccount.TryResolve(userName, group, out runAs, out var userError))
            {
                return Failed($"--user '{userName}': {userError}");
            }
        }
        else if (group is not null)
        {
            return Failed("--group needs --user");
        }

        Services services;
        try
        {
            services = Services.Create(cli.Services with
            {
                Resolver = cli.Services.Resolver ?? file?.Resolver,
                CaFile = cli.Services.CaFile ?? file?.CaFile,
                Overrides = cli.Services.Overrides ?? file?.Overrides,
                PolicyList = cli.Services.PolicyList ?? file?.PolicyList,
            });
        }
        catch (RampartException ex)
        {
            return Failed(ex.Message);
        }
        warnings.AddRange(services.Warnings.Where(w => w != services.DnsSettings.Warning));
        if (services.Pinned is { } pinned && SocketmapPolicyReply.TooLongForPostfix(pinned) is { Count: > 0 } tooLong)
        {
            return new(null, warnings, tooLong);
        }

        var fileZone = file?.DefaultZone ?? DaemonZone.Default(SocketmapZone.DefaultName);
        var zone = fileZone.Settings;
        var defaultZone = new DaemonZone(
            fileZone.Zone with
            {
                Settings = zone with
                {
                    StrictTesting = cli.StrictTesting || zone.StrictTesting,
                    RequireSni = !cli.NoSni && zone.RequireSni,
                    TlsRpt = cli.TlsRpt || zone.TlsRpt,
                },
            },
            TimeSpan.FromSeconds(seconds));
        string stateDirectory;
        var notes = new List<string>
        {
            file is null ? $"no configuration file ({DaemonConfiguration.DefaultPath} not found): every setting at its default" : $"configuration {file.SourceName}",
        };
        try
        {
            stateDirectory = StateDirectory.Choose(cli.StateDir, file?.EffectiveStateDirectory,
                file?.StateDirectory is not null ? "state_dir" : $"cache.options.filename ({file?.CacheFile})", environment, out var stateNote);
            if (stateNote is not null)
            {
                notes.Add(stateNote);
            }
        }
        catch (StartupException ex)
        {
            return Failed(ex.Message);
        }
        var settings = new DaemonSettings(
            endpoints,
            stateDirectory,
            services.DnsSettings,
            services.Anchors,
            defaultZone)
        {
            EximListen = exim,
            Metrics = metrics,
            MaxConnections = cli.MaxConnections ?? file?.MaxConnections,
            Pinned = services.Pinned,
            Zones = file?.Zones ?? new Dictionary<string, DaemonZone>(StringComparer.Ordinal),
            Cache = file is null ? new SenderPolicyCacheSettings() : new SenderPolicyCacheSettings { FreshFor = file.CacheGrace, MaxEntries = file.Cache.InternalSize },
            Refresh = file?.ProactiveFetching ?? new MtaStsRefreshSettings(),
            Redis = file?.Cache.RedisOptions,
            TlsRpt = file?.TlsRptReporting?.Intake,
            TlsRptLog = file?.TlsRptReporting?.LogSource,
            TlsRptStore = file?.TlsRptReporting?.SharedStore,
            TlsRptSending = file?.TlsRptReporting is { SenderAddress: not null } sending ? sending : null,
            RunAs = runAs,
            LogLevel = cli.LogLevel ?? file?.LogLevel ?? Microsoft.Extensions.Logging.LogLevel.Information,
            StartNotes = notes,
        };
        return new(settings, warnings, []);
    }

    /// <summary>
    /// <c>rampart serve</c>: <c>--listen</c> replaces <c>serve.listen</c>, <c>--certificates</c>, <c>--state-dir</c> and
    /// <c>--max-connections</c> replace theirs; <c>--dashboard PATH</c> mounts the dashboard (replacing <c>serve.dashboard.path</c>) and
    /// <c>--dashboard-token-file</c> replaces <c>serve.dashboard</c>'s credential (either one mounts it); <c>--store</c> replaces the file's <c>state_dir</c> for reports (with <c>--state-dir</c> too, opening the store
    /// says to give only one).
    /// </summary>
    public static ServeRun Serve(PublishConfig file, ServeCommandLine cli)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(cli);
        var serve = file.Serve;
        if (cli.Listen.Count > 0)
        {
            serve = serve with { Listen = cli.Listen };
        }
        serve = serve with
        {
            Certificates = cli.Certificates ?? serve.Certificates,
            StateDir = cli.StateDir ?? serve.StateDir,
            MaxConnections = cli.MaxConnections ?? serve.MaxConnections,
            Metrics = cli.Metrics ?? serve.Metrics,
        };
        if (cli.DashboardPath is not null || cli.DashboardTokenFile is not null)
        {
            var mount = serve.Dashboard ?? Rampart.Web.Dashboard.DashboardMount.Default;
            mount = mount with { Path = cli.DashboardPath ?? mount.Path };
            serve = serve with
            {
                Dashboard = cli.DashboardTokenFile is { } tokenFile ? mount with { TokenFile = tokenFile, BasicUser = null, PasswordHash = null } : mount,
            };
        }
        return new ServeRun(file with { Serve = serve }, cli.Store, cli.Store is null ? serve.StateDir : cli.StateDir);
    }

    /// <summary>
    /// <c>rampart publish</c>: the file's domains, only those <c>--domain</c> names (in that order) when given, each with
    /// <c>--mode</c>'s mode when given.
    /// </summary>
    /// <exception cref="RampartException">A <c>--domain</c> not in the file; a forced mode that needs mx: entries a domain lacks.</exception>
    public static IReadOnlyList<PublishDomain> Publish(PublishConfig file, PublishCommandLine cli)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(cli);
        var selected = new List<PublishDomain>();
        foreach (var name in cli.Domains)
        {
            selected.Add(file.Domains.FirstOrDefault(d => d.Domain == name) ?? throw new RampartException($"--domain {name}: not in {file.Source}"));
        }
        if (cli.Domains.Count == 0)
        {
            selected.AddRange(file.Domains);
        }
        if (cli.Mode is not { } forced)
        {
            return selected;
        }
        selected = selected.Select(d => d with { Mode = forced }).ToList();
        if (forced != MtaStsMode.None && selected.FirstOrDefault(d => d.Mx.Count == 0) is { } bare)
        {
            throw new RampartException($"{file.Source}: {bare.Domain}: --mode {MtaStsPolicy.ModeName(forced)} needs mx: entries");
        }
        return selected;
    }
}
