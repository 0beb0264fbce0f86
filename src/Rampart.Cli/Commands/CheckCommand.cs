using System.CommandLine;
using System.Globalization;
using Rampart.Core;
using Rampart.Core.Check;
using Rampart.Core.Dns;
using Rampart.Core.MtaSts;
using Rampart.Core.Smtp;
using Rampart.Core.Tls;
using Rampart.Hosting;
using Rampart.Postfix.Daemon;
using Rampart.Storage.Check;

namespace Rampart.Cli.Commands;

/// <summary>
/// <c>rampart check DOMAIN... [--json]</c>: the receiving-domain audit (MX, DNSSEC, STARTTLS and certificates, DANE,
/// MTA-STS, TLS-RPT and their consistency), one finding per line, a verdict per domain. Exit 0 ok, 1 warnings,
/// 2 failures (Nagios-style); 2 also for unusable input.
/// </summary>
internal static class CheckCommand
{
    public static Command Create()
    {
        var domains = DomainArgument.MailDomains("domain", "Receiving domains to audit (the part after @).");
        var json = new Option<bool>("--json")
        {
            Description = "Write the reports as JSON: {domain, status, findings: [{id, severity, subject, message, fix, reference}]}; an array for several domains.",
        };
        var timeout = OptionValues.Seconds("--timeout", "Limit of each network step (one DNS question, one SMTP conversation, one policy fetch), in seconds.", 10);
        var concurrency = OptionValues.Count("--concurrency", "Domains checked at once (each MX address still gets one connection at a time).", 4, 1, 256, "domains", "N");
        var rrsigDays = OptionValues.Count("--rrsig-days", "Warn when a DNSSEC signature expires within this many days.", 7, 0, 3650, "days");
        var certDays = OptionValues.Count("--cert-days", "Warn when an MX certificate expires within this many days.", 21, 0, 3650, "days");
        var port = OptionValues.Port("--port", "SMTP port probed on every MX address.", 25);
        var nextCert = new Option<string[]>("--next-cert")
        {
            Description = "Rotation safety: certificates about to be deployed (PEM certificate or chain files, leaf first, or a directory such as " +
                          "certbot's live/NAME/, whose fullchain.pem or cert.pem is used). Says per DANE MX host whether the published TLSA records " +
                          "already cover each one, and which record to publish first; with an MTA-STS policy (testing or enforce), whether MTA-STS senders would accept it " +
                          "(WebPKI: trusted chain, valid, not expiring within --cert-days, names the MX host).",
            HelpName = "FILE|DIR",
            Arity = ArgumentArity.OneOrMore,
            AllowMultipleArgumentsPerToken = true,
        };
        var watch = new Option<string?>("--watch")
        {
            Description = "Monitor: re-check the domains listed in FILE (one per line, # comments) every --interval, remember the findings " +
                          $"({SqliteFindingHistory.FileName} in --state-dir), log the findings that appear and clear, serve --metrics, POST --webhook on change.",
            HelpName = "FILE",
        };
        var interval = OptionValues.Duration("--interval", "With --watch: time between round starts, 10s to 7d (e.g. 15m, 1h). Default 1h.",
            TimeSpan.FromSeconds(10), TimeSpan.FromDays(7));
        var metrics = OptionValues.Address("--metrics",
            "With --watch: serve Prometheus metrics at http://IP:PORT/metrics (rampart_check_findings, rampart_check_status, rampart_check_rounds_total).",
            "127.0.0.1:9462");
        var webhook = OptionValues.HttpUrl("--webhook",
            "With --watch: POST {domain, status, appeared: [findings], cleared: [findings]} as JSON to this http(s) URL for each domain that changed.");
        var stateDir = GlobalOptions.StateDir;
        var logLevel = LogLevelOption.Create();
        logLevel.Description = "With --watch: " + logLevel.Description;
        var testingLimit = OptionValues.OptionalCount("--testing-limit",
            "With --watch: warn (mta-sts.policy.testing-too-long) when a policy has been seen in mode testing for longer than this many days. Default 30.",
            1, 3650, "days", "DAYS");
        var once = new Option<bool>("--once") { Description = "With --watch: run one round and exit (0 ok, 1 warnings, 2 failures), e.g. from cron." };
        var command = new Command("check",
            "Audit receiving domains as a sender sees them: MX, DNSSEC (and RRSIG expiry), STARTTLS, TLS version and certificates on " +
            "every MX address, DANE TLSA (present, usable, matching, rollover-ready), MTA-STS (record, fetch, policy, MX coverage, " +
            "enforce readiness), TLS-RPT and DANE/MTA-STS consistency; with --next-cert, whether TLSA already covers the next certificate and whether MTA-STS senders would accept it. Finding ids are listed in docs/checks.md. " +
            "Exit 0 ok, 1 warnings, 2 failures or unusable input.")
        {
            domains, json, timeout, concurrency, rrsigDays, certDays, port, nextCert, watch, interval, metrics, webhook, testingLimit, once, logLevel,
        };
        command.WithNetwork(webPki: true).WithStateDir();
        command.SetAction((parse, ct) => Verb.RunAsync(async () =>
        {
            var seconds = parse.GetValue(timeout);
            var next = new List<NextCertificate>();
            foreach (var path in parse.GetValue(nextCert) ?? [])
            {
                if (!NextCertificate.TryLoad(path, out var certificate, out var certificateError))
                {
                    return Terminal.Error("--next-cert " + certificateError);
                }
                next.Add(certificate);
            }
            var limitDays = parse.GetValue(testingLimit);
            var settings = new CheckSettings
            {
                TestingLimit = limitDays is { } days ? TimeSpan.FromDays(days) : CheckSettings.DefaultTestingLimit,
                NextCertificates = next,
                Timeout = TimeSpan.FromSeconds(seconds),
                MaxConcurrentDomains = parse.GetValue(concurrency),
                RrsigWarningDays = parse.GetValue(rrsigDays),
                CertificateWarningDays = parse.GetValue(certDays),
                Port = parse.GetValue(port),
            };
            var names = new List<string>();
            foreach (var text in parse.GetValue(domains) ?? [])
            {
                var name = DomainArgument.Normalized(text);
                if (!names.Contains(name))
                {
                    names.Add(name);
                }
            }
            CheckWatchOptions? watching = null;
            List<string>? watched = null;
            if (parse.GetValue(watch) is { } watchFile)
            {
                if (names.Count > 0 || parse.GetValue(json))
                {
                    return Terminal.Error("check --watch FILE: the domains come from FILE; give no domain arguments and no --json");
                }
                if (!CheckWatch.TryReadDomains(watchFile, out watched, out var fileError))
                {
                    return Terminal.Error(fileError);
                }
                watching = new CheckWatchOptions(watchFile, parse.GetValue(interval) ?? TimeSpan.FromHours(1), parse.GetValue(metrics), parse.GetValue(webhook),
                    StateDirectory.Choose(parse.GetValue(stateDir)),
                    parse.GetValue(once), LogLevelOption.Read(parse, logLevel));
            }
            else if (parse.GetValue(interval) is not null || parse.GetValue(metrics) is not null || parse.GetValue(webhook) is not null ||
                     parse.GetValue(stateDir) is not null || parse.GetValue(once) || limitDays is not null || parse.GetValue(logLevel) is not null)
            {
                return Terminal.Error("check: --interval, --metrics, --webhook, --state-dir, --testing-limit, --once and --log-level need --watch FILE");
            }
            else if (names.Count == 0)
            {
                return Terminal.Error("check: give at least one domain, or --watch FILE");
            }
            var services = Services.Create(parse);
            services.WriteWarnings();
            var checker = CreateChecker(services, settings);
            if (watching is not null)
            {
                return await CheckWatch.RunAsync(watching, watched!, checker, services.Time, ct).ConfigureAwait(false);
            }
            var reports = await checker.CheckAsync(names, ct).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                CheckOutput.WriteJson(reports);
            }
            else
            {
                CheckOutput.WriteHuman(reports, parse.GetValue(GlobalOptions.Verbose));
            }
            return CheckOutput.ExitCode(reports);
        }, ct));
        return command;
    }

    /// <summary>Composes the checker: DNS questions, the SMTP probe and the policy fetch all bounded by <see cref="CheckSettings.Timeout"/>.</summary>
    internal static DomainChecker CreateChecker(Services services, CheckSettings settings)
    {
        var limit = settings.Timeout;
        // Two tries of half the limit each, so one DNS question (retry included) ends within the limit.
        var perTry = TimeSpan.FromTicks(Math.Min(limit.Ticks / 2, DnsResolverSettings.MaxTimeout.Ticks));
        var dns = new DnsClientResolver(services.DnsSettings with { Timeout = perTry, Retries = 1 });
        var webPki = new WebPkiValidator(services.Anchors, services.Time);
        var fetch = new MtaStsFetchSettings { TotalTimeout = limit, ConnectTimeout = limit < TimeSpan.FromSeconds(5) ? limit : TimeSpan.FromSeconds(5) };
        var fetcher = new MtaStsPolicyFetcher(dns, webPki, fetch, services.Time);
        var probe = new SmtpTlsProbe(new SmtpProbeSettings { ConnectTimeout = limit, CommandTimeout = limit, TotalTimeout = limit }, services.Time);
        return new DomainChecker(dns, fetcher, probe, webPki, settings, services.Time);
    }
}
