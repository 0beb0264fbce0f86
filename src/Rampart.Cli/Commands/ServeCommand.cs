using Rampart.Hosting;
using System.CommandLine;
using Microsoft.Extensions.Logging;
using Rampart.Core;
using Rampart.Core.TlsRpt;
using Rampart.Postfix.Daemon;
using Rampart.Storage.TlsRpt;
using Rampart.Web;

namespace Rampart.Cli.Commands;

/// <summary>
/// <c>rampart serve --config FILE</c>: the HTTPS policy host for every domain of the publish YAML plus the TLS-RPT HTTPS
/// receiver (<see cref="PolicyServer"/>). Runs until SIGTERM/SIGINT. A missing or unusable certificate or an address
/// that cannot be bound is one line naming it, exit 2.
/// </summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var config = new Option<string?>("--config")
        {
            Description = "The publish YAML (its domains and its serve: section). See docs/publishing.md.",
            HelpName = "FILE",
        };
        var listen = new Option<string[]>("--listen")
        {
            Description = "Listen on IP:PORT ([IPv6]:PORT), repeatable; replaces serve.listen (default [::]:443).",
            HelpName = "IP:PORT",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var certificates = new Option<string?>("--certificates")
        {
            Description = "Directory of certbot lineages (NAME/fullchain.pem + NAME/privkey.pem, NAME = mta-sts.<domain> or cert_name:); replaces serve.certificates.",
            HelpName = "DIR",
        };
        var stateDir = new Option<string?>("--state-dir")
        {
            Description = $"Directory of the TLS-RPT report store ({SqliteTlsReportStore.FileName}); replaces serve.state_dir. Default {StateDirectory.Default()}.",
            HelpName = "DIR",
        };
        var store = new Option<string?>("--store")
        {
            Description = "Where received TLS-RPT reports are kept instead of the state directory: a postgres:// URL or a SQLite file " +
                          "(as rampart tlsrpt --store).",
            HelpName = "URL|FILE",
        };
        var noReports = new Option<bool>("--no-reports") { Description = "Do not accept TLS-RPT reports (the report path answers 404)." };
        var check = new Option<bool>("--check") { Description = "Load the configuration and every certificate, print what would be served, and exit." };
        var command = new Command("serve",
            "HTTPS policy host for many domains at once: /.well-known/mta-sts.txt by Host and SNI (text/plain), certificates per host from " +
            "certbot's layout reloaded when they change, /healthz, and TLS-RPT reports by HTTPS POST (application/tlsrpt+gzip or +json, size-capped).")
        {
            config, listen, certificates, stateDir, store, noReports, check,
        };
        command.SetAction((parse, ct) => Verb.RunAsync(async () =>
        {
            if (parse.GetValue(config) is not { } path)
            {
                return Terminal.Error("serve: give the publish YAML with --config FILE (see docs/publishing.md)");
            }
            var run = SettingsMerge.Serve(PublishConfigFile.Load(path),
                new ServeCommandLine(parse.GetValue(listen) ?? [], parse.GetValue(certificates), parse.GetValue(stateDir), parse.GetValue(store)));
            var file = run.Config;
            var serve = file.Serve;
            using var loggers = LoggerFactory.Create(b => b
                .SetMinimumLevel(parse.GetValue(GlobalOptions.Verbose) ? LogLevel.Debug : LogLevel.Information)
                .AddFilter("Microsoft", LogLevel.Warning)
                .AddSimpleConsole(o => o.SingleLine = true)
                .AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace));
            if (parse.GetValue(check))
            {
                var probe = PolicyServer.Create(file, null, loggers);
                await probe.DisposeAsync().ConfigureAwait(false);
                foreach (var domain in file.Domains)
                {
                    Console.WriteLine($"https://{domain.PolicyHostName}/.well-known/mta-sts.txt  certificate {Path.Combine(serve.Certificates, domain.CertName)}");
                }
                return ExitCodes.Ok;
            }
            ITlsReportStore? reports = parse.GetValue(noReports)
                ? null
                : await TlsRptCommand.OpenStoreAsync(run.Store, run.StoreStateDir, ct).ConfigureAwait(false);
            try
            {
                var server = PolicyServer.Create(file, reports, loggers);
                await using var serverScope = server.ConfigureAwait(false);
                await server.StartAsync(ct).ConfigureAwait(false);
                Console.Error.WriteLine($"rampart: serving {file.Domains.Count} domain(s) on {string.Join(", ", server.BoundEndPoints)}" +
                                        (reports is null ? "" : $"; TLS-RPT reports at {serve.ReportPath} into {reports.Location}"));
                try
                {
                    await Task.Delay(Timeout.Infinite, ct).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (ct.IsCancellationRequested)
                {
                }
                using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await server.StopAsync(grace.Token).ConfigureAwait(false);
                return ExitCodes.Ok;
            }
            finally
            {
                if (reports is not null)
                {
                    await reports.DisposeAsync().ConfigureAwait(false);
                }
            }
        }));
        return command;
    }
}
