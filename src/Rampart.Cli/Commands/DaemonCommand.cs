using System.CommandLine;
using Rampart.Core.MtaSts;
using Rampart.Core.Policy;
using Rampart.Hosting;
using Rampart.Hosting.Listening;
using Rampart.Postfix.Config;
using Rampart.Postfix.Daemon;
using Rampart.Postfix.Socketmap;

namespace Rampart.Cli.Commands;

/// <summary><c>rampart daemon</c>: the Postfix TLS policy server (socketmap), with no configuration needed.</summary>
internal static class DaemonCommand
{
    public const string DefaultListen = "127.0.0.1:8461";

    private sealed record Options(
        Option<SocketmapEndpoint[]> Listen, Option<string?> StateDir, Option<bool> StrictTesting, Option<bool> NoSni, Option<bool> TlsRpt,
        Option<double> Timeout, Option<System.Net.IPEndPoint?> Metrics, Option<string?> Config, Option<string?> User, Option<string?> Group,
        Option<string?> SocketOwner, Option<string?> LogLevel, Option<int?> MaxConnections, Option<SocketmapEndpoint[]> EximListen);

    public static Command Create()
    {
        var o = new Options(
            OptionValues.List("--listen",
                $"Where to serve the socketmap protocol: IP:PORT, [IPv6]:PORT or unix:/path[:MODE]. Repeatable. Default {DefaultListen}.",
                "ADDRESS", SocketmapEndpoint.Read),
            GlobalOptions.StateDir,
            new Option<bool>("--strict-testing") { Description = "Enforce MTA-STS policies in testing mode too." },
            new Option<bool>("--no-sni") { Description = "Do not add servername=hostname to MTA-STS answers." },
            new Option<bool>("--tlsrpt") { Description = "Add Postfix 3.10's TLSRPT attributes (policy_type, policy_domain, …) to MTA-STS answers." },
            OptionValues.Seconds("--timeout", "Total timeout of an MTA-STS policy fetch, in seconds.", 10),
            OptionValues.Address("--metrics",
                "Serve Prometheus metrics over HTTP at http://IP:PORT/metrics (e.g. 127.0.0.1:9461). Default: off.", "127.0.0.1:9461"),
            GlobalOptions.Config,
            new Option<string?>("--user")
            {
                Description = "Run as this user once the sockets are bound (started as root). The state directory is given to it.",
                HelpName = "USER",
            },
            new Option<string?>("--group") { Description = "Run with this group (default: the user's).", HelpName = "GROUP" },
            new Option<string?>("--socket-owner")
            {
                Description = "Give the Unix sockets of --listen and --exim-listen to USER[:GROUP] (e.g. rampart:postfix), with a mode such as unix:/path:0660.",
                HelpName = "USER[:GROUP]",
            },
            LogLevelOption.Create(),
            MaxConnectionsOption("socketmap, Exim line and /metrics together"),
            OptionValues.List("--exim-listen",
                "Also answer Exim: one line DOMAIN in, one line out (dane-only, dane, secure HOST:HOST…, none, tempfail REASON), " +
                "then close; for Exim's ${readsocket} (docs/exim.md). IP:PORT, [IPv6]:PORT or unix:/path[:MODE]. Repeatable. Default: off.",
                "ADDRESS", SocketmapEndpoint.Read));
        var checkConfig = new Option<bool>("--check-config") { Description = "Read and check the configuration, print what would run, and exit (0 ok, 2 errors)." };
        var command = new Command("daemon",
            "Run the Postfix TLS policy server (a drop-in for postfix-mta-sts-resolver that also does DANE). Point Postfix at it with\n" +
            $"  smtp_tls_policy_maps = socketmap:inet:{DefaultListen}:postfix\n" +
            "Answers OK dane-only / OK dane / OK secure match=… servername=hostname / NOTFOUND / TEMP, from a cache that survives " +
            "restarts (SQLite in the state directory), and refreshes cached policies before they expire. Logs one line per " +
            "decision. With --exim-listen it answers Exim too, from the same decisions (docs/exim.md). " +
            "SIGHUP reloads the configuration (zones, resolver, pinned policies); SIGTERM or Ctrl-C stops it.")
        {
            o.Listen, o.EximListen, o.StrictTesting, o.NoSni, o.TlsRpt, o.Timeout, o.Metrics, o.User, o.Group, o.SocketOwner, o.LogLevel, o.MaxConnections, checkConfig,
        };
        command.WithNetwork(webPki: true).WithSenderPolicies().WithConfig().WithStateDir();
        command.SetAction((parse, ct) => Verb.RunServiceAsync(async () =>
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
                Console.WriteLine($"configuration ok: listen {string.Join(", ", settings.Listen)}; " +
                                  (settings.EximListen.Count > 0 ? $"exim listen {string.Join(", ", settings.EximListen)}; " : "") +
                                  $"state {settings.StateDirectory}; " +
                                  $"resolver {settings.Dns.Endpoint} (DNSSEC {(settings.Dns.TrustAd ? "trusted" : "not trusted")}); " +
                                  $"zones: {string.Join(", ", settings.Zones.Values.Prepend(settings.DefaultZone).Select(z => DescribeZone(z, settings.DefaultZone)))}; " +
                                  $"fetch timeout {settings.DefaultZone.Timeout.TotalSeconds:0.#} s; pinned policies {settings.Pinned?.Count ?? 0}; " +
                                  $"policy cache {(settings.Redis is { } redis ? Rampart.Storage.RedisServerAddress.Parse(redis.Url).Location : "sqlite")}; " +
                                  $"proactive refresh {(settings.Refresh.Enabled ? $"every {settings.Refresh.SweepPeriod.TotalHours:0.##} h" : "off")}" +
                                  (settings.Metrics is { } metrics ? $"; metrics http://{metrics}/metrics" : "") +
                                  $"; max connections {settings.MaxConnections?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? ConnectionLimit.DefaultDoc}" +
                                  (settings.TlsRpt is { } intake ? $"; TLS-RPT datagrams unix:{intake.DatagramSocket}" : "") +
                                  (settings.TlsRptSending is { } reporting ? "; " + reporting.DescribeSending() : "") +
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
        }, ct));
        return command;
    }

    /// <summary><c>--max-connections N</c> of a long-running verb (daemon, serve); <paramref name="what"/> says which listeners it counts.</summary>
    internal static Option<int?> MaxConnectionsOption(string what) => OptionValues.OptionalCount("--max-connections",
        $"Connections open at once, {what}; more are accepted and closed at once. Default: from the open-files limit " +
        "(ulimit -n; docs/security.md).", 1, ConnectionLimit.Most, "connections", "N");

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
    /// The daemon's settings from the command line and the configuration file (read now: at start, and again on SIGHUP),
    /// merged by <see cref="SettingsMerge.Daemon"/> (command-line options win). Faults are messages, never exceptions.
    /// </summary>
    private static DaemonReload Read(ParseResult parse, Options o)
    {
        // Without --config, the installed file when there is one (every key has a default, so none is needed).
        var file = parse.GetValue(o.Config) is { } configPath ? DaemonConfiguration.Load(configPath)
            : File.Exists(DaemonConfiguration.DefaultPath) ? DaemonConfiguration.Load(DaemonConfiguration.DefaultPath) : null;
        var cli = new DaemonCommandLine(
            parse.GetValue(o.Listen) ?? [],
            parse.GetValue(o.StateDir),
            parse.GetValue(o.StrictTesting),
            parse.GetValue(o.NoSni),
            parse.GetValue(o.TlsRpt),
            parse.GetResult(o.Timeout) is { Implicit: false } ? parse.GetValue(o.Timeout) : null,
            parse.GetValue(o.Timeout),
            parse.GetValue(o.Metrics),
            parse.GetValue(o.User),
            parse.GetValue(o.Group),
            parse.GetValue(o.SocketOwner),
            ServiceInputs.From(parse),
            parse.GetValue(o.LogLevel) is not null || parse.GetValue(GlobalOptions.Verbose) ? LogLevelOption.Read(parse, o.LogLevel) : null,
            parse.GetValue(o.MaxConnections),
            parse.GetValue(o.EximListen) ?? []);
        return SettingsMerge.Daemon(file, cli);
    }
}
