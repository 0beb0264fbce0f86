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
/// 2 failures (Nagios-style), 3 unknown (unusable input, or the local resolver down; see <see cref="CheckOutput.WriteNagios"/>).
/// </summary>
internal static class CheckCommand
{
    public static Command Create()
    {
        var domains = DomainArgument.MailDomains("domain", "Receiving domains to audit (the part after @).");
        var json = new Option<bool>("--json")
        {
            Description = "Write the reports as JSON, one shape for one domain or many: {status, domains: [{domain, status, findings: [{id, severity, subject, message, fix, reference, docs, records, detail}]}]}; fix is one sentence, records the zone-file lines to publish, detail the rest.",
        };
        var nagios = new Option<bool>("--nagios")
        {
            Description = "Run as a Nagios/Icinga plugin: print one line 'STATUS - text | perfdata' and exit 0 OK, 1 WARNING, 2 CRITICAL, " +
                          "3 UNKNOWN (unusable input, or the local resolver does not answer, so no domain is blamed for it).",
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
                          $"({SqliteFindingHistory.FileName} in --state-dir), log the findings that appear and clear, serve --metrics, POST --webhook on change. " +
                          "A round in which the local resolver itself does not answer judges no domain: one warning line, the history kept.",
            HelpName = "FILE",
        };
        var interval = OptionValues.Duration("--interval", "With --watch: time between round starts, 10s to 7d (e.g. 15m, 1h). Default 1h.",
            TimeSpan.FromSeconds(10), TimeSpan.FromDays(7));
        var metrics = OptionValues.Address("--metrics",
            "With --watch: serve Prometheus metrics at http://IP:PORT/metrics (rampart_check_findings, rampart_check_status, rampart_check_rounds_total).",
            "127.0.0.1:9462");
        var webhook = OptionValues.HttpUrl("--webhook",
            "With --watch: POST {event: change, domain, status, appeared: [findings], cleared: [findings]} as JSON to this http(s) URL for each domain " +
            "that changed, and {event: resolver-down|resolver-up, ...} when the local resolver stops or starts answering.");
        var stateDir = GlobalOptions.StateDir;
        var logLevel = LogLevelOption.Create();
        logLevel.Description = "With --watch: " + logLevel.Description;
        var testingLimit = OptionValues.OptionalCount("--testing-limit",
            "With --watch: warn (mta-sts.policy.testing-too-long) when a policy has been seen in mode testing for longer than this many days. Default 30.",
            1, 3650, "days", "DAYS");
        var once = new Option<bool>("--once") { Description = "With --watch: run one round and exit (0 ok, 1 warnings, 2 failures, 3 when the local resolver does not answer), e.g. from cron." };
        var command = new Command("check",
            "Audit receiving domains as a sender sees them: MX, DNSSEC (and RRSIG expiry), STARTTLS, TLS version and certificates on " +
            "every MX address, DANE TLSA (present, usable, matching, rollover-ready), MTA-STS (record, fetch, policy, MX coverage, " +
            "enforce readiness), TLS-RPT and DANE/MTA-STS consistency; with --next-cert, whether TLSA already covers the next certificate and whether MTA-STS senders would accept it. Finding ids are listed in docs/checks.md. " +
            "Shows failures and warnings (each with a one-sentence fix, the docs/checks.md section and any records to publish), hides ok and info lines unless -v " +
            "(which also prints each finding's detail), and ends with " +
            "one line across domains. Exit 0 ok, 1 warnings, 2 failures, 3 unknown (unusable input, or the local resolver does not answer).")
        {
            domains, json, nagios, timeout, concurrency, rrsigDays, certDays, port, nextCert, watch, interval, metrics, webhook, testingLimit, once, logLevel,
        };
        command.WithNetwork(webPki: true).WithStateDir();
        command.SetAction((parse, ct) => Verb.RunAsync(async () =>
        {
            var plugin = parse.GetValue(nagios);
            // Input check cannot use is UNKNOWN (3): the plugin line on stdout, the reason on stderr.
            int Unknown(string message)
            {
                if (plugin)
                {
                    Console.WriteLine("UNKNOWN - " + DisplayText.Sanitize(message, 500).Replace('|', '/'));
                }
                return Terminal.Error(message, ExitCodes.Unknown);
            }
            try
            {
                return await RunAsync(parse, Unknown, ct).ConfigureAwait(false);
            }
            catch (RampartException ex)
            {
                return Unknown(ex.Message);
            }
            catch (FormatException ex)
            {
                return Unknown(ex.Message);
            }
        }, ct));
        return command;

        async Task<int> RunAsync(ParseResult parse, Func<string, int> unusable, CancellationToken ct)
        {
            var seconds = parse.GetValue(timeout);
            var next = new List<NextCertificate>();
            foreach (var path in parse.GetValue(nextCert) ?? [])
            {
                if (!NextCertificate.TryLoad(path, out var certificate, out var certificateError))
                {
                    return unusable("--next-cert " + certificateError);
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
                if (names.Count > 0 || parse.GetValue(json) || parse.GetValue(nagios))
                {
                    return unusable("check --watch FILE: the domains come from FILE; give no domain arguments and no --json or --nagios");
                }
                if (!CheckWatch.TryReadDomains(watchFile, out watched, out var fileError))
                {
                    return unusable(fileError);
                }
                watching = new CheckWatchOptions(watchFile, parse.GetValue(interval) ?? TimeSpan.FromHours(1), parse.GetValue(metrics), parse.GetValue(webhook),
                    StateDirectory.Choose(parse.GetValue(stateDir)),
                    parse.GetValue(once), LogLevelOption.Read(parse, logLevel));
            }
            else if (parse.GetValue(interval) is not null || parse.GetValue(metrics) is not null || parse.GetValue(webhook) is not null ||
                     parse.GetValue(stateDir) is not null || parse.GetValue(once) || limitDays is not null || parse.GetValue(logLevel) is not null)
            {
                return unusable("check: --interval, --metrics, --webhook, --state-dir, --testing-limit, --once and --log-level need --watch FILE");
            }
            else if (names.Count == 0)
            {
                return unusable("check: give at least one domain, or --watch FILE");
            }
            var services = Services.Create(parse);
            services.WriteWarnings();
            var checker = CreateChecker(services, settings);
            if (watching is not null)
            {
                return await CheckWatch.RunAsync(watching, watched!, checker, services.Time,
                    (reports, token) => ResolverDownAsync(services, settings.Timeout, reports, token), ct).ConfigureAwait(false);
            }
            if (parse.GetValue(json) && parse.GetValue(nagios))
            {
                return unusable("check: --json and --nagios are two outputs; give one");
            }
            var reports = await checker.CheckAsync(names, ct).ConfigureAwait(false);
            var unknown = await ResolverDownAsync(services, settings.Timeout, reports, ct).ConfigureAwait(false);
            if (parse.GetValue(nagios))
            {
                return CheckOutput.WriteNagios(reports, unknown);
            }
            if (parse.GetValue(json))
            {
                CheckOutput.WriteJson(reports, unknown);
            }
            else
            {
                CheckOutput.WriteHuman(reports, parse.GetValue(GlobalOptions.Verbose), unknown);
            }
            return unknown is not null ? ExitCodes.Unknown : CheckOutput.ExitCode(reports);
        }
    }

    /// <summary>
    /// When some domain's DNS failed, asks the same resolver about a name it must be able to answer: that domain's
    /// top-level domain (<c>org</c> for <c>mx.example.org</c>; an answer, even NXDOMAIN, shows the resolver works). If
    /// that fails too, the resolver itself is down and the verdicts blame no domain. Returns the reason, or null when
    /// the resolver answers (the failures are the domains' own) or nothing failed in DNS.
    /// </summary>
    internal static async Task<string?> ResolverDownAsync(Services services, TimeSpan limit, IReadOnlyList<DomainCheckReport> reports, CancellationToken ct)
    {
        if (reports.FirstOrDefault(r => r.Findings.Any(f => f.Id.EndsWith("lookup-error", StringComparison.Ordinal))) is not { } failed)
        {
            return null;
        }
        var known = failed.Domain.TrimEnd('.').Split('.')[^1];
        var probe = await Resolver(services, limit).QueryMxAsync(known, ct).ConfigureAwait(false);
        return probe.IsLookupError
            ? $"the local resolver {services.DnsSettings.Endpoint} does not answer for '{known}' either ({probe.ErrorMessage ?? probe.Error.ToString()}): no domain is judged"
            : null;
    }

    /// <summary>Composes the checker: DNS questions, the SMTP probe and the policy fetch all bounded by <see cref="CheckSettings.Timeout"/>.</summary>
    internal static DomainChecker CreateChecker(Services services, CheckSettings settings)
    {
        var limit = settings.Timeout;
        var dns = Resolver(services, limit);
        var webPki = new WebPkiValidator(services.Anchors, services.Time);
        var fetch = new MtaStsFetchSettings { TotalTimeout = limit, ConnectTimeout = limit < TimeSpan.FromSeconds(5) ? limit : TimeSpan.FromSeconds(5) };
        var fetcher = new MtaStsPolicyFetcher(dns, webPki, fetch, services.Time);
        var probe = new SmtpTlsProbe(new SmtpProbeSettings { ConnectTimeout = limit, CommandTimeout = limit, TotalTimeout = limit }, services.Time);
        return new DomainChecker(dns, fetcher, probe, webPki, settings, services.Time);
    }

    /// <summary>Two tries of half the limit each, so one DNS question (retry included) ends within <paramref name="limit"/>.</summary>
    private static DnsClientResolver Resolver(Services services, TimeSpan limit) =>
        new(services.DnsSettings with { Timeout = TimeSpan.FromTicks(Math.Min(limit.Ticks / 2, DnsResolverSettings.MaxTimeout.Ticks)), Retries = 1 });
}
