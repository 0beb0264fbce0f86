using System.CommandLine;
using Microsoft.Extensions.Logging;
using Rampart.Core;
using Rampart.Core.TlsRpt;
using Rampart.Hosting;
using Rampart.Hosting.Logging;
using Rampart.Postfix.Daemon;
using Rampart.Storage.TlsRpt;
using Rampart.Web;
using Rampart.Web.Dashboard;

namespace Rampart.Cli.Commands;

/// <summary>
/// <c>rampart serve --config FILE</c>: the HTTPS policy host for every domain of the publish YAML plus the TLS-RPT HTTPS
/// receiver (<see cref="PolicyServer"/>). Runs until SIGTERM/SIGINT. A missing or unusable certificate or an address
/// that cannot be bound is one line naming it, exit 2. With <c>serve.dashboard</c> (or <c>--dashboard</c>) the dashboard
/// answers under its path, behind a credential that must be there (<see cref="DashboardMount.Access"/>).
/// </summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var config = GlobalOptions.Config;
        var listen = OptionValues.Addresses("--listen", "Listen on IP:PORT ([IPv6]:PORT), repeatable; replaces serve.listen (default [::]:443).", "[::]:443",
            ArgumentArity.ZeroOrMore);
        var certificates = new Option<string?>("--certificates")
        {
            Description = "Directory of certbot lineages (NAME/fullchain.pem + NAME/privkey.pem, NAME = mta-sts.<domain> or cert_name:); replaces serve.certificates.",
            HelpName = "DIR",
        };
        var stateDir = GlobalOptions.StateDir;
        var store = new Option<string?>("--store")
        {
            Description = "Where received TLS-RPT reports are kept instead of the state directory: a postgres:// URL or a SQLite file " +
                          "(as rampart tlsrpt --store).",
            HelpName = "URL|FILE",
        };
        var noReports = new Option<bool>("--no-reports") { Description = "Do not accept TLS-RPT reports (the report path answers 404)." };
        var check = new Option<bool>("--check") { Description = "Load the configuration and every certificate, print what would be served, and exit." };
        var user = new Option<string?>("--user")
        {
            Description = "Run as this user once the addresses are bound (started as root, e.g. for port 443). The report store is given to it; " +
                          "the certificate files must stay readable by it for renewals to apply.",
            HelpName = "USER",
        };
        var group = new Option<string?>("--group") { Description = "Run with this group (default: the user's).", HelpName = "GROUP" };
        var logLevel = LogLevelOption.Create();
        var maxConnections = DaemonCommand.MaxConnectionsOption("all addresses together");
        var metrics = OptionValues.Address("--metrics",
            "Serve Prometheus metrics over plain HTTP at http://IP:PORT/metrics (keep it on loopback, e.g. 127.0.0.1:9462): connections " +
            "admitted and refused, responses by kind and status; replaces serve.metrics. Default: off.", "127.0.0.1:9462");
        var dashboard = new Option<string?>("--dashboard")
        {
            Description = "Mount the read-only dashboard (as rampart dashboard shows it) under PATH on every hosted name, e.g. /dashboard; replaces " +
                          "serve.dashboard.path. It needs a credential, as this listener is public: --dashboard-token-file, or serve.dashboard's " +
                          "token_file or basic_user with password_hash (docs/dashboard.md).",
            HelpName = "PATH",
        };
        var dashboardToken = new Option<string?>("--dashboard-token-file")
        {
            Description = "The mounted dashboard requires 'Authorization: Bearer TOKEN', TOKEN being the first line of FILE (at least 16 characters); " +
                          "replaces serve.dashboard's credential and mounts it at serve.dashboard.path (default /dashboard).",
            HelpName = "FILE",
        };
        var command = new Command("serve",
            "HTTPS policy host for many domains at once: /.well-known/mta-sts.txt by Host and SNI (text/plain), certificates per host from " +
            "certbot's layout reloaded when they change, /healthz, and TLS-RPT reports by HTTPS POST (application/tlsrpt+gzip or +json, size-capped). " +
            $"--config FILE is the publish YAML (its domains and its serve: section; docs/publishing.md); --state-dir replaces serve.state_dir and holds the report store ({SqliteTlsReportStore.FileName}).")
        {
            listen, certificates, store, noReports, check, user, group, logLevel, maxConnections, metrics, dashboard, dashboardToken,
        };
        command.WithConfig().WithStateDir();
        command.SetAction((parse, ct) => Verb.RunServiceAsync(async () =>
        {
            if (parse.GetValue(config) is not { } path)
            {
                return Terminal.Error("serve: give the publish YAML with --config FILE (see docs/publishing.md)");
            }
            var run = SettingsMerge.Serve(PublishConfigFile.Load(path),
                new ServeCommandLine(parse.GetValue(listen) ?? [], parse.GetValue(certificates), parse.GetValue(stateDir), parse.GetValue(store),
                    parse.GetValue(maxConnections), parse.GetValue(metrics), parse.GetValue(dashboard), parse.GetValue(dashboardToken)));
            var file = run.Config;
            var serve = file.Serve;
            UnixAccount? runAs = null;
            if (parse.GetValue(user) is { } userName)
            {
                if (!UnixAccount.TryResolve(userName, parse.GetValue(group), out runAs, out var userError))
                {
                    return Terminal.Error($"serve: --user '{userName}': {userError}");
                }
            }
            else if (parse.GetValue(group) is not null)
            {
                return Terminal.Error("serve: --group needs --user");
            }
            var dashboardAccess = serve.Dashboard?.Access(serve.ReportPath); // before anything is opened: a missing credential is one line
            using var loggers = HostLogging.CreateFactory(LogLevelOption.Read(parse, logLevel));
            if (parse.GetValue(check))
            {
                var probe = PolicyServer.Create(file, null, loggers);
                await probe.DisposeAsync().ConfigureAwait(false);
                foreach (var domain in file.Domains)
                {
                    Console.WriteLine($"https://{domain.PolicyHostName}/.well-known/mta-sts.txt  certificate {Path.Combine(serve.Certificates, domain.CertName)}");
                }
                if (serve.Dashboard is { } mount)
                {
                    Console.WriteLine($"https://{file.Domains[0].PolicyHostName}{mount.Path}/  dashboard (on every hosted name), credential required");
                }
                return ExitCodes.Ok;
            }
            // The dashboard reads the report store even when the receiver is off (--no-reports).
            ITlsReportStore? reports = parse.GetValue(noReports) && dashboardAccess is null
                ? null
                : await TlsRptCommand.OpenStoreAsync(run.Store, run.StoreStateDir, ct).ConfigureAwait(false);
            DashboardStateStores? dashboardStores = null;
            try
            {
                DashboardPages? pages = null;
                if (dashboardAccess is not null)
                {
                    dashboardStores = await DashboardStateStores.OpenAsync(StateDirectory.Choose(serve.StateDir), TimeProvider.System, ct).ConfigureAwait(false);
                    pages = new DashboardPages(dashboardStores.Sources(reports!, TimeProvider.System), dashboardAccess, serve.Dashboard!.Path, serve.Dashboard.FailureLimits);
                }
                var server = PolicyServer.Create(file, parse.GetValue(noReports) ? null : reports, loggers, dashboard: pages);
                await using var serverScope = server.ConfigureAwait(false);
                try
                {
                    await server.StartAsync(ct).ConfigureAwait(false);
                }
                catch (StartupException ex)
                {
                    return Terminal.Error("serve: " + ex.Message);
                }
                if (runAs is not null)
                {
                    if (UnixAccount.IsRoot && reports is SqliteTlsReportStore sqlite && Path.GetDirectoryName(sqlite.Location) is { } directory)
                    {
                        runAs.OwnDirectoryAndFiles(directory, Path.GetFileName(sqlite.Location)); // opened as root: its files exist now
                    }
                    server.RunAs(runAs);
                }
                await Verb.ServeUntilStoppedAsync($"serving {string.Join(", ", server.BoundEndPoints.Select(e => $"https://{e}"))}",
                    server.StopAsync, ct).ConfigureAwait(false);
                return ExitCodes.Ok;
            }
            finally
            {
                if (dashboardStores is not null)
                {
                    await dashboardStores.DisposeAsync().ConfigureAwait(false);
                }
                if (reports is not null)
                {
                    await reports.DisposeAsync().ConfigureAwait(false);
                }
            }
        }, ct));
        return command;
    }
}
