using System.CommandLine;
using Rampart.Core.MtaSts;
using Rampart.Core.Policy;
using Rampart.Hosting;
using Rampart.Postfix.Config;
using Rampart.Postfix.Daemon;
using Rampart.Postfix.Socketmap;

namespace Rampart.Cli.Commands;

/// <summary><c>rampart daemon</c>: the Postfix TLS policy server (socketmap), with no configuration needed.</summary>
internal static class DaemonCommand
{
    public const string DefaultListen = "127.0.0.1:8461";

    private sealed record Options(
        Option<string[]> Listen, Option<string?> StateDir, Option<bool> StrictTesting, Option<bool> NoSni, Option<bool> TlsRpt,
        Option<double> Timeout, Option<string?> Metrics, Option<string?> Config, Option<string?> User, Option<string?> Group,
        Option<string?> SocketOwner, Option<string?> LogLevel);

    public static Command Create()
    {
        var o = new Options(
            new Option<string[]>("--listen")
            {
                Description = $"Where to serve the socketmap protocol: IP:PORT, [IPv6]:PORT or unix:/path[:MODE]. Repeatable. Default {DefaultListen}.",
                HelpName = "ADDRESS",
            },
            GlobalOptions.StateDir,
            new Option<bool>("--strict-testing") { Description = "Enforce MTA-STS policies in testing mode too." },
            new Option<bool>("--no-sni") { Description = "Do not add servername=hostname to MTA-STS answers." },
            new Option<bool>("--tlsrpt") { Description = "Add Postfix 3.10's TLSRPT attributes (policy_type, policy_domain, …) to MTA-STS answers." },
            OptionValues.Seconds("--timeout", "Total timeout of an MTA-STS policy fetch, in seconds.", 10),
            new Option<string?>("--metrics")
            {
                Description = "Serve Prometheus metrics over HTTP at http://ADDRESS/metrics (IP:PORT, e.g. 127.0.0.1:9461). Default: off.",
                HelpName = "ADDRESS",
            },
            GlobalOptions.Config,
            new Option<string?>("--user")
            {
                Description = "Run as this user once the sockets are bound (started as root). The state directory is given to it.",
                HelpName = "USER",
            },
            new Option<string?>("--group") { Description = "Run with this group (default: the user's).", HelpName = "GROUP" },
            new Option<string?>("--socket-owner")
            {
                Description = "Give the Unix sockets of --listen to USER[:GROUP] (e.g. rampart:postfix), with a mode such as unix:/path:0660.",
                HelpName = "USER[:GROUP]",
            },
            LogLevelOption.Create());
        var checkConfig = new Option<bool>("--check-config") { Description = "Read and check the configuration, print what would run, and exit (0 ok, 2 errors)." };
        var command = new Command("daemon",
            "Run the Postfix TLS policy server (a drop-in for postfix-mta-sts-resolver that also does DANE). Point Postfix at it with\n" +
            $"  smtp_tls_policy_maps = socketmap:inet:{DefaultListen}:postfix\n" +
            "Answers OK dane-only / OK dane / OK secure match=… servername=hostname / NOTFOUND / TEMP, from a cache that survives " +
            "restarts (SQLite in the state directory), and refreshes cached policies before they expire. Logs one line per " +
            "decision. SIGHUP reloads the configuration (zones, resolver, pinned policies); SIGTERM or Ctrl-C stops it.")
        {
            o.Listen, o.StrictTesting, o.NoSni, o.TlsRpt, o.Timeout, o.Metrics, o.User, o.Group, o.SocketOwner, o.LogLevel, checkConfig,
        };
        command.WithNetwork(webPki: true).WithSenderPolicies().WithConfig().WithStateDir();
        command.SetAction((parse, ct) => Verb.RunAsync(async () =>
        {
            var first = Read(parse, o);
            foreach (var warning in first.Warnings)
            {
                Console.Error.WriteLine("rampart: warning: " + warning);
            }
            if (first.Settings is not { } settings)
            {
                foreach (var error in first.Errors)
                {
                    Console.Error.WriteLine("rampart: " + error);
                }
                return ExitCodes.InputError;
            }
            if (parse.GetValue(checkConfig))
            {
                Console.WriteLine($"configuration ok: listen {string.Join(", ", settings.Listen)}; state {settings.StateDirectory}; " +
                                  $"resolver {settings.Dns.Endpoint} (DNSSEC {(settings.Dns.TrustAd ? "trusted" : "not trusted")}); " +
                                  $"zones: {string.Join(", ", settings.Zones.Values.Prepend(settings.DefaultZone).Select(z => DescribeZone(z, settings.DefaultZone)))}; " +
                                  $"fetch timeout {settings.DefaultZone.Timeout.TotalSeconds:0.#} s; pinned policies {settings.Pinned?.Count ?? 0}; " +
                                  $"policy cache {(settings.Redis is { } redis ? Rampart.Storage.RedisServerAddress.Parse(redis.Url).Location : "sqlite")}; " +
                                  $"proactive refresh {(settings.Refresh.Enabled ? $"every {settings.Refresh.SweepPeriod.TotalHours:0.##} h" : "off")}" +
                                  (settings.Metrics is { } metrics ? $"; metrics http://{metrics}/metrics" : "") +
                                  (settings.RunAs is { } user ? $"; run as {user}" : ""));
                return ExitCodes.Ok;
            }
            try
            {
                await DaemonHost.RunAsync(settings, () => Read(parse, o), ct).ConfigureAwait(false);
            }
            catch (StartupException ex)
            {
                return Terminal.Error("daemon: " + ex.Message);
            }
            catch (IOException ex)
            {
                return Terminal.Error($"daemon: {ex.Message.ReplaceLineEndings(" ")}");
            }
            catch (InvalidOperationException ex)
            {
                return Terminal.Error($"daemon: {ex.Message}");
            }
            return ExitCodes.Ok;
        }));
        return command;
    }

    /// <summary>"default", or "NAME (strict_testing, require_sni off, tlsrpt, timeout 10 s)" with what differs from the defaults.</summary>
    private static string DescribeZone(DaemonZone zone, DaemonZone defaultZone)
    {
        var name = ReferenceEquals(zone, defaultZone) ? "default" : zone.Name;
        var notes = new List<string>();
        if (zone.Settings.StrictTesting)
        {
            notes.Add("strict_testing");
        }
        if (!zone.Settings.RequireSni)
        {
            notes.Add("require_sni off");
        }
        if (zone.Settings.TlsRpt)
        {
            notes.Add("tlsrpt");
        }
        if (zone.Timeout != defaultZone.Timeout)
        {
            notes.Add($"timeout {zone.Timeout.TotalSeconds:0.#} s");
        }
        return notes.Count == 0 ? name : $"{name} ({string.Join(", ", notes)})";
    }

    /// <summary>
    /// The daemon's settings from the command line and the configuration file (read now: at start, and again on SIGHUP).
    /// Command-line options win over the file. Faults are messages, never exceptions.
    /// </summary>
    private static DaemonReload Read(ParseResult parse, Options o)
    {
        var warnings = new List<string>();
        var errors = new List<string>();
        DaemonReload Failed(string error) => new(null, warnings, [.. errors, error]);

        DaemonConfiguration? file = null;
        if (parse.GetValue(o.Config) is { } configPath)
        {
            var loaded = DaemonConfiguration.Load(configPath);
            warnings.AddRange(loaded.Warnings);
            if (!loaded.Succeeded)
            {
                return new(null, warnings, loaded.Errors);
            }
            file = loaded.Configuration;
        }

        var endpoints = new List<SocketmapEndpoint>();
        var given = parse.GetValue(o.Listen) is { Length: > 0 } listen ? listen : null;
        if (given is null && file is not null)
        {
            endpoints.AddRange(file.Listen);
        }
        foreach (var text in given ?? (file is null ? [DefaultListen] : []))
        {
            if (!SocketmapEndpoint.TryParse(text, out var endpoint, out var error))
            {
                return Failed($"--listen '{text}': {error}");
            }
            endpoints.Add(parse.GetValue(o.SocketOwner) is { } owner && endpoint.UnixSocketPath is not null ? endpoint with { UnixSocketOwner = owner } : endpoint);
        }
        foreach (var owner in endpoints.Select(e => e.UnixSocketOwner).OfType<string>().Distinct())
        {
            if (!UnixAccount.TryResolve(owner, null, out _, out var ownerError))
            {
                return Failed($"socket owner '{owner}': {ownerError}");
            }
        }

        var seconds = parse.GetResult(o.Timeout) is not { Implicit: false } && file is not null ? file.DefaultZone.Timeout.TotalSeconds : parse.GetValue(o.Timeout);
        if (seconds is <= 0 or > 600)
        {
            return Failed($"--timeout {seconds}: must be between 0 and 600 seconds");
        }
        System.Net.IPEndPoint? metricsEndpoint = null;
        if (parse.GetValue(o.Metrics) is { } metricsText && !System.Net.IPEndPoint.TryParse(metricsText, out metricsEndpoint))
        {
            return Failed($"--metrics '{metricsText}': expected IP:PORT, e.g. 127.0.0.1:9461");
        }
        UnixAccount? runAs = null;
        if ((parse.GetValue(o.User) ?? file?.User) is { } userName)
        {
            if (!UnixAccount.TryResolve(userName, parse.GetValue(o.Group) ?? file?.Group, out runAs, out var userError))
            {
                return Failed($"--user '{userName}': {userError}");
            }
        }
        else if ((parse.GetValue(o.Group) ?? file?.Group) is not null)
        {
            return Failed("--group needs --user");
        }

        Services services;
        try
        {
            services = Services.Create(parse, file is null ? null : new ServiceDefaults(file.Resolver, file.CaFile, file.Overrides, file.PolicyList));
        }
        catch (Core.RampartException ex)
        {
            return Failed(ex.Message);
        }
        warnings.AddRange(services.Warnings.Where(w => w != services.DnsSettings.Warning));

        var defaultZone = file?.DefaultZone ?? DaemonZone.Default(SocketmapZone.DefaultName);
        var zoneSettings = defaultZone.Settings;
        defaultZone = new DaemonZone(
            defaultZone.Zone with
            {
                Settings = zoneSettings with
                {
                    StrictTesting = parse.GetValue(o.StrictTesting) || zoneSettings.StrictTesting,
                    RequireSni = !parse.GetValue(o.NoSni) && zoneSettings.RequireSni,
                    TlsRpt = parse.GetValue(o.TlsRpt) || zoneSettings.TlsRpt,
                },
            },
            TimeSpan.FromSeconds(seconds));
        string stateDirectory;
        try
        {
            stateDirectory = StateDirectory.Choose(parse.GetValue(o.StateDir) ?? file?.EffectiveStateDirectory);
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
            Metrics = metricsEndpoint ?? file?.Metrics,
            Pinned = services.Pinned,
            Zones = file?.Zones ?? new Dictionary<string, DaemonZone>(StringComparer.Ordinal),
            Cache = file is null ? new SenderPolicyCacheSettings() : new SenderPolicyCacheSettings { FreshFor = file.CacheGrace, MaxEntries = file.Cache.InternalSize },
            Refresh = file?.ProactiveFetching ?? new MtaStsRefreshSettings(),
            Redis = file?.Cache.RedisOptions,
            RunAs = runAs,
            LogLevel = LogLevelOption.Read(parse, o.LogLevel),
        };
        return new(settings, warnings, []);
    }
}
