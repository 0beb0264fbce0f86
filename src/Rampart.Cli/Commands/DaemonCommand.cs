using System.CommandLine;
using Rampart.Core.MtaSts;
using Rampart.Core.Policy;
using Rampart.Postfix.Config;
using Rampart.Postfix.Daemon;
using Rampart.Postfix.Socketmap;

namespace Rampart.Cli.Commands;

/// <summary><c>rampart daemon</c>: the Postfix TLS policy server (socketmap), with no configuration needed.</summary>
internal static class DaemonCommand
{
    public const string DefaultListen = "127.0.0.1:8461";

    public static Command Create()
    {
        var listen = new Option<string[]>("--listen")
        {
            Description = $"Where to serve the socketmap protocol: IP:PORT, [IPv6]:PORT or unix:/path[:MODE]. Repeatable. Default {DefaultListen}.",
            HelpName = "ADDRESS",
        };
        var stateDir = new Option<string?>("--state-dir")
        {
            Description = $"Directory of the SQLite policy cache. Default {StateDirectory.Default()}.",
            HelpName = "DIR",
        };
        var strictTesting = new Option<bool>("--strict-testing") { Description = "Enforce MTA-STS policies in testing mode too." };
        var noSni = new Option<bool>("--no-sni") { Description = "Do not add servername=hostname to MTA-STS answers." };
        var timeout = new Option<double>("--timeout")
        {
            Description = "Total timeout of an MTA-STS policy fetch, in seconds.",
            DefaultValueFactory = _ => 10,
        };
        var metrics = new Option<string?>("--metrics")
        {
            Description = "Serve Prometheus metrics over HTTP at http://ADDRESS/metrics (IP:PORT, e.g. 127.0.0.1:9461). Default: off.",
            HelpName = "ADDRESS",
        };
        var config = new Option<string?>("--config")
        {
            Description = "Configuration file: Rampart's YAML, or postfix-mta-sts-resolver's /etc/mta-sts-daemon.yml as it is. Command-line options win.",
            HelpName = "FILE",
        };
        var checkConfig = new Option<bool>("--check-config") { Description = "Read and check the configuration, print what would run, and exit (0 ok, 2 errors)." };
        var command = new Command("daemon",
            "Run the Postfix TLS policy server (a drop-in for postfix-mta-sts-resolver that also does DANE). Point Postfix at it with\n" +
            $"  smtp_tls_policy_maps = socketmap:inet:{DefaultListen}:postfix\n" +
            "Answers OK dane-only / OK dane / OK secure match=… servername=hostname / NOTFOUND / TEMP, from a cache that survives " +
            "restarts (SQLite in the state directory). Logs one line per decision. Stops on SIGTERM or Ctrl-C.")
        {
            listen, stateDir, strictTesting, noSni, timeout, metrics, config, checkConfig,
        };
        command.SetAction((parse, ct) => Verb.RunAsync(async () =>
        {
            DaemonConfiguration? file = null;
            if (parse.GetValue(config) is { } configPath)
            {
                var loaded = DaemonConfiguration.Load(configPath);
                foreach (var warning in loaded.Warnings)
                {
                    Console.Error.WriteLine("rampart: warning: " + warning);
                }
                if (!loaded.Succeeded)
                {
                    foreach (var error in loaded.Errors)
                    {
                        Console.Error.WriteLine("rampart: " + error);
                    }
                    return ExitCodes.InputError;
                }
                file = loaded.Configuration;
            }
            var endpoints = new List<SocketmapEndpoint>();
            if (parse.GetValue(listen) is not { Length: > 0 } && file is not null)
            {
                endpoints.AddRange(file.Listen);
            }
            foreach (var text in parse.GetValue(listen) is { Length: > 0 } given ? given : file is null ? [DefaultListen] : [])
            {
                if (!SocketmapEndpoint.TryParse(text, out var endpoint, out var error))
                {
                    return Terminal.Error($"--listen '{text}': {error}");
                }
                endpoints.Add(endpoint);
            }
            var seconds = parse.GetResult(timeout) is not { Implicit: false } && file is not null ? file.DefaultZone.Timeout.TotalSeconds : parse.GetValue(timeout);
            if (seconds is <= 0 or > 600)
            {
                return Terminal.Error($"--timeout {seconds}: must be between 0 and 600 seconds");
            }
            System.Net.IPEndPoint? metricsEndpoint = null;
            if (parse.GetValue(metrics) is { } metricsText && !System.Net.IPEndPoint.TryParse(metricsText, out metricsEndpoint))
            {
                return Terminal.Error($"--metrics '{metricsText}': expected IP:PORT, e.g. 127.0.0.1:9461");
            }
            var services = Services.Create(parse, file is null ? null : new ServiceDefaults(file.Resolver, file.CaFile, file.Overrides, file.PolicyList));
            var defaultZone = file?.DefaultZone.Settings ?? new SenderPolicySettings();
            var settings = new DaemonSettings(
                endpoints,
                parse.GetValue(stateDir) ?? file?.EffectiveStateDirectory ?? StateDirectory.Default(),
                services.DnsSettings,
                services.Anchors,
                defaultZone with
                {
                    StrictTesting = parse.GetValue(strictTesting) || defaultZone.StrictTesting,
                    RequireSni = !parse.GetValue(noSni) && defaultZone.RequireSni,
                },
                new MtaStsFetchSettings { TotalTimeout = TimeSpan.FromSeconds(seconds), ConnectTimeout = TimeSpan.FromSeconds(Math.Min(5, seconds)) })
            {
                Metrics = metricsEndpoint ?? file?.Metrics,
                Pinned = services.Pinned,
                Zones = file?.Zones.ToDictionary(z => z.Key, z => z.Value.Settings, StringComparer.Ordinal) ?? new Dictionary<string, SenderPolicySettings>(),
                Cache = file is null ? new SenderPolicyCacheSettings() : new SenderPolicyCacheSettings { FreshFor = file.CacheGrace, MaxEntries = file.Cache.InternalSize },
            };
            if (parse.GetValue(checkConfig))
            {
                Console.WriteLine($"configuration ok: listen {string.Join(", ", settings.Listen)}; state {settings.StateDirectory}; " +
                                  $"resolver {settings.Dns.Endpoint} (DNSSEC {(settings.Dns.TrustAd ? "trusted" : "not trusted")}); " +
                                  $"zones: default{string.Concat(settings.Zones.Keys.Select(k => ", " + k))}; " +
                                  $"fetch timeout {settings.Fetch.TotalTimeout.TotalSeconds:0.#} s; pinned policies {services.Pinned?.Count ?? 0}");
                return ExitCodes.Ok;
            }
            foreach (var warning in services.Warnings.Where(w => w != services.DnsSettings.Warning))
            {
                Console.Error.WriteLine("rampart: warning: " + warning);
            }
            try
            {
                await DaemonHost.RunAsync(settings, ct).ConfigureAwait(false);
            }
            catch (IOException ex)
            {
                return Terminal.Error($"daemon: cannot listen on {string.Join(", ", endpoints)}: {ex.Message}");
            }
            catch (InvalidOperationException ex)
            {
                return Terminal.Error($"daemon: {ex.Message}");
            }
            return ExitCodes.Ok;
        }));
        return command;
    }
}
