using System.CommandLine;
using Rampart.Core.MtaSts;
using Rampart.Core.Policy;
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
        var command = new Command("daemon",
            "Run the Postfix TLS policy server (a drop-in for postfix-mta-sts-resolver that also does DANE). Point Postfix at it with\n" +
            $"  smtp_tls_policy_maps = socketmap:inet:{DefaultListen}:postfix\n" +
            "Answers OK dane-only / OK dane / OK secure match=… servername=hostname / NOTFOUND / TEMP, from a cache that survives " +
            "restarts (SQLite in the state directory). Logs one line per decision. Stops on SIGTERM or Ctrl-C.")
        {
            listen, stateDir, strictTesting, noSni, timeout, metrics,
        };
        command.SetAction((parse, ct) => Verb.RunAsync(async () =>
        {
            var endpoints = new List<SocketmapEndpoint>();
            foreach (var text in parse.GetValue(listen) is { Length: > 0 } given ? given : [DefaultListen])
            {
                if (!SocketmapEndpoint.TryParse(text, out var endpoint, out var error))
                {
                    return Terminal.Error($"--listen '{text}': {error}");
                }
                endpoints.Add(endpoint);
            }
            var seconds = parse.GetValue(timeout);
            if (seconds is <= 0 or > 600)
            {
                return Terminal.Error($"--timeout {seconds}: must be between 0 and 600 seconds");
            }
            System.Net.IPEndPoint? metricsEndpoint = null;
            if (parse.GetValue(metrics) is { } metricsText && !System.Net.IPEndPoint.TryParse(metricsText, out metricsEndpoint))
            {
                return Terminal.Error($"--metrics '{metricsText}': expected IP:PORT, e.g. 127.0.0.1:9461");
            }
            var services = Services.Create(parse);
            var settings = new DaemonSettings(
                endpoints,
                parse.GetValue(stateDir) ?? StateDirectory.Default(),
                services.DnsSettings,
                services.Anchors,
                new SenderPolicySettings { StrictTesting = parse.GetValue(strictTesting), RequireSni = !parse.GetValue(noSni) },
                new MtaStsFetchSettings { TotalTimeout = TimeSpan.FromSeconds(seconds), ConnectTimeout = TimeSpan.FromSeconds(Math.Min(5, seconds)) })
            {
                Metrics = metricsEndpoint,
                Pinned = services.Pinned,
            };
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
