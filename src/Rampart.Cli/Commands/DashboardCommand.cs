using System.CommandLine;
using Rampart.Hosting;
using Rampart.Hosting.Logging;
using Rampart.Web.Dashboard;

namespace Rampart.Cli.Commands;

/// <summary>
/// <c>rampart dashboard</c>: the read-only web UI over the TLS-RPT report store and the check --watch history
/// (<see cref="DashboardPages"/>). Loopback only unless TLS and a credential are given (<see cref="DashboardSettings.Validate"/>).
/// <c>--hash-password</c> reads a password on standard input and prints the hash <c>--password-hash</c> takes.
/// </summary>
internal static class DashboardCommand
{
    public static Command Create()
    {
        var stateDir = GlobalOptions.StateDir;
        var listen = OptionValues.Addresses("--listen",
            $"Listen on IP:PORT ([IPv6]:PORT), repeatable (default {DashboardSettings.DefaultListen}). An address other than loopback needs --tls-cert/--tls-key and a credential.",
            "127.0.0.1:8460", ArgumentArity.ZeroOrMore);
        var store = new Option<string?>("--store")
        {
            Description = "The report store to show instead of the state directory's: a postgres:// URL or a SQLite file (as rampart tlsrpt --store).",
            HelpName = "URL|FILE",
        };
        var certificate = new Option<string?>("--tls-cert") { Description = "Serve HTTPS with this PEM certificate chain (with --tls-key).", HelpName = "FILE" };
        var key = new Option<string?>("--tls-key") { Description = "The PEM private key of --tls-cert.", HelpName = "FILE" };
        var tokenFile = new Option<string?>("--token-file")
        {
            Description = "Require 'Authorization: Bearer TOKEN', TOKEN being the first line of FILE (at least 16 characters).",
            HelpName = "FILE",
        };
        var basicUser = new Option<string?>("--basic-user") { Description = "Require HTTP basic authentication as this user (with --password-hash).", HelpName = "NAME" };
        var passwordHash = new Option<string?>("--password-hash")
        {
            Description = $"The hash of --basic-user's password, as --hash-password prints it ({PasswordHash.Scheme}$…); never the password itself.",
            HelpName = "HASH",
        };
        var hashPassword = new Option<bool>("--hash-password") { Description = "Read a password from standard input, print its hash for --password-hash, and exit." };
        var defaults = CredentialFailureLimits.Default;
        var maxFailures = OptionValues.Count("--max-credential-failures",
            "With a credential: wrong ones an address may send within --credential-failure-window; then it gets 429 until the window ends.",
            defaults.MaxFailures, 1, CredentialFailureLimits.MostFailures, "failures", "N");
        var failureWindow = OptionValues.Count("--credential-failure-window",
            "Seconds, from an address's first wrong credential, over which --max-credential-failures apply and the refusal lasts.",
            (int)defaults.Window.TotalSeconds, 1, CredentialFailureLimits.MostWindowSeconds, "seconds", "SECONDS");
        var failureAddresses = OptionValues.Count("--credential-failure-addresses",
            "Client addresses (IPv6: /64 networks) whose wrong credentials are counted at once; the memory bound of the count.",
            defaults.MaxAddresses, CredentialFailureLimits.FewestAddresses, CredentialFailureLimits.MostAddresses, "addresses", "N");
        var logLevel = LogLevelOption.Create();
        var command = new Command("dashboard",
            "Read-only web UI over the same stores as 'tlsrpt summary' and 'check --watch': TLS-RPT reports received per policy domain " +
            "(sessions and failure rate per day, failures by result type, reporter, receiving MX and sending IP, each report, findings), " +
            "the monitored domains (verdict, findings with first-seen times, appeared/cleared timeline), and our own deliveries per destination " +
            "(sessions ok and failed per day and why, from TLS-RPT sending's session store). Server-rendered HTML and SVG, " +
            "no script. Listens on 127.0.0.1:8460 by default; any other address is refused unless it has TLS and a credential. docs/dashboard.md.")
        {
            listen, store, certificate, key, tokenFile, basicUser, passwordHash, hashPassword, maxFailures, failureWindow, failureAddresses, logLevel,
        };
        command.WithStateDir();
        command.SetAction((parse, ct) => Verb.RunServiceAsync(async () =>
        {
            if (parse.GetValue(hashPassword))
            {
                var password = Console.In.ReadLine();
                if (string.IsNullOrEmpty(password))
                {
                    return Terminal.Error("dashboard --hash-password: give the password on standard input (one line)");
                }
                Console.WriteLine(PasswordHash.Create(password));
                return ExitCodes.Ok;
            }
            var settings = new DashboardSettings(
                parse.GetValue(listen) is { Length: > 0 } addresses ? addresses : [DashboardSettings.DefaultListen],
                parse.GetValue(certificate), parse.GetValue(key),
                DashboardAccess.From(parse.GetValue(tokenFile), parse.GetValue(basicUser), parse.GetValue(passwordHash), DashboardAccess.CommandLineKeys))
            {
                FailureLimits = new CredentialFailureLimits(parse.GetValue(maxFailures), TimeSpan.FromSeconds(parse.GetValue(failureWindow)), parse.GetValue(failureAddresses)),
            };
            settings.Validate();
            var stateDirectory = parse.GetValue(stateDir);
            var storeAddress = parse.GetValue(store);
            var reports = await TlsRptCommand.OpenStoreAsync(storeAddress, storeAddress is null ? stateDirectory : null, ct).ConfigureAwait(false);
            await using var reportsScope = reports.ConfigureAwait(false);
            var stores = await DashboardStateStores.OpenAsync(StateDirectory.Choose(stateDirectory), TimeProvider.System, ct).ConfigureAwait(false);
            await using var storesScope = stores.ConfigureAwait(false);
            using var loggers = HostLogging.CreateFactory(LogLevelOption.Read(parse, logLevel));
            var sources = stores.Sources(reports, TimeProvider.System);
            var server = DashboardServer.Create(settings, sources, loggers);
            await using var serverScope = server.ConfigureAwait(false);
            await server.StartAsync(ct).ConfigureAwait(false);
            var scheme = server.Https ? "https" : "http";
            Console.Error.WriteLine($"rampart dashboard on {string.Join(", ", server.BoundEndPoints.Select(e => $"{scheme}://{e}/"))} " +
                                    $"(reports {reports.Location}; monitored domains {stores.WatchLocation})");
            await Verb.WaitForStopAsync(server.StopAsync, ct).ConfigureAwait(false);
            return ExitCodes.Ok;
        }, ct));
        return command;
    }
}
