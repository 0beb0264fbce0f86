using System.CommandLine;
using System.Globalization;
using System.Text;
using Rampart.Core;
using Rampart.Core.Check;
using Rampart.Core.Dns;
using Rampart.Core.MtaSts;
using Rampart.Core.Publish;
using Rampart.Core.Smtp;
using Rampart.Core.Tls;
using Rampart.Web;

namespace Rampart.Cli.Commands;

/// <summary>
/// <c>rampart publish --config FILE</c>: from the publish YAML, the policy file and every DNS record of each domain
/// (BIND zone lines, or JSON), after the safety rules of <see cref="PublishReadiness"/>: the policy must cover the
/// domain's current MX (asked through the validating resolver), <c>enforce</c> needs every MX ready (the <c>check</c>
/// engine's MX, STARTTLS and certificate findings), and max_age climbs its ramp. Exit 0 published, 1 refused
/// (nothing written), 2 unusable input.
/// </summary>
internal static class PublishCommand
{
    public static Command Create()
    {
        var config = GlobalOptions.Config;
        var domains = OptionValues.Names("--domain", "Only this domain of the file (repeatable). Default: every domain.", "DOMAIN", DomainName.TryNormalize);
        var mode = OptionValues.Word("--mode", "Publish this mode instead of the file's: testing, enforce (checked for readiness first) or none.", "policy mode",
            ("testing", MtaStsMode.Testing), ("enforce", MtaStsMode.Enforce), ("none", MtaStsMode.None));
        var output = new Option<string?>("--out")
        {
            Description = "Write DIR/<domain>/mta-sts.txt (the policy file, byte for byte what 'rampart serve' serves), records.zone and records.json.",
            HelpName = "DIR",
        };
        var json = new Option<bool>("--json") { Description = "Write the result as JSON: {\"domains\": [{\"domain\", \"ready\", \"policy\", \"records\", \"blockers\", \"warnings\"}]}." };
        var offline = new Option<bool>("--offline")
        {
            Description = "Skip every DNS and network question (MX coverage, the policy published now, enforce readiness): render only.",
        };
        var timeout = OptionValues.Seconds("--timeout", "Seconds for each network question (default 10).", 10);
        var command = new Command("publish",
            "Render what a receiving domain publishes: the MTA-STS policy file, the _mta-sts TXT (id derived from the policy), the mta-sts " +
            "host record, the _smtp._tls TXT and TLSA records (3 1 1 per MX key and next key; 2 1 1 when asked). Refuses a policy that misses " +
            "a current MX or an enforce policy the MX hosts are not ready for. --config FILE is the publish YAML (domain:, mx:, mode:, " +
            "max_age:, tlsrpt:, tlsa:; or a domains: list; docs/publishing.md). Exit 0 published, 1 refused, 2 unusable input.")
        {
            domains, mode, output, json, offline, timeout,
        };
        command.WithNetwork(webPki: true).WithConfig();
        command.SetAction((parse, ct) => Verb.RunAsync(async () =>
        {
            if (parse.GetValue(config) is not { } path)
            {
                return Terminal.Error("publish: give the publish YAML with --config FILE (see docs/publishing.md)");
            }
            var seconds = parse.GetValue(timeout);
            var selected = SettingsMerge.Publish(PublishConfigFile.Load(path), new PublishCommandLine(parse.GetValue(domains) ?? [], parse.GetValue(mode)));
            var plans = selected.Select(PublishPlan.Create).ToList();
            var network = parse.GetValue(offline) ? null : new Network(Services.Create(parse), TimeSpan.FromSeconds(seconds));
            var results = new List<DomainResult>();
            foreach (var plan in plans)
            {
                results.Add(network is null
                    ? new DomainResult(plan, [], ["--offline: MX coverage, the published policy and enforce readiness were not checked"])
                    : await network.JudgeAsync(plan, ct).ConfigureAwait(false));
            }
            var ready = results.All(r => r.Blockers.Count == 0);
            if (ready && parse.GetValue(output) is { } dir)
            {
                foreach (var result in results)
                {
                    Write(dir, result);
                }
            }
            if (parse.GetValue(json))
            {
                WriteJson(results);
            }
            else
            {
                WriteHuman(results, parse.GetValue(output));
            }
            return ready ? ExitCodes.Ok : ExitCodes.Invalid;
        }, ct));
        return command;
    }

    internal sealed record DomainResult(PublishPlan Plan, IReadOnlyList<string> Blockers, IReadOnlyList<string> Warnings);

    /// <summary>The network questions publish asks: current MX, the policy published now, and (for enforce) the check engine.</summary>
    private sealed class Network(Services services, TimeSpan limit)
    {
        private readonly DnsClientResolver _dns = new(services.DnsSettings with
        {
            Timeout = TimeSpan.FromTicks(Math.Min(limit.Ticks / 2, DnsResolverSettings.MaxTimeout.Ticks)),
            Retries = 1,
        });

        public async Task<DomainResult> JudgeAsync(PublishPlan plan, CancellationToken ct)
        {
            var domain = plan.Domain;
            var blockers = new List<string>();
            var warnings = new List<string>(plan.Notes);
            var mx = await _dns.QueryMxAsync(domain.Domain, ct).ConfigureAwait(false);
            switch (mx.Outcome)
            {
                case DnsOutcome.Records:
                    foreach (var host in PublishReadiness.UncoveredMx(domain, mx.Records.Select(r => r.Exchange)))
                    {
                        blockers.Add($"MX {host} of {domain.Domain} is not in the policy's mx list: senders in enforce would refuse it (RFC 8461 §4.1); add it to mx:");
                    }
                    break;
                case DnsOutcome.LookupError:
                    blockers.Add($"MX lookup for {domain.Domain} failed ({mx.Describe()}): cannot prove the policy covers every MX; retry, or use --offline to render only");
                    break;
                default:
                    warnings.Add($"{domain.Domain} has no MX records now ({mx.Describe()}): nothing to check the mx list against");
                    break;
            }
            var webPki = new WebPkiValidator(services.Anchors, services.Time);
            var fetch = new MtaStsFetchSettings { TotalTimeout = limit, ConnectTimeout = limit < TimeSpan.FromSeconds(5) ? limit : TimeSpan.FromSeconds(5) };
            using var fetcher = new MtaStsPolicyFetcher(_dns, webPki, fetch, services.Time);
            var current = await fetcher.FetchAsync(domain.Domain, ct).ConfigureAwait(false);
            var currentPolicy = current is { IsSuccess: true, Body: { } body } ? MtaStsPolicyParser.Parse(body).Policy : null;
            warnings.AddRange(PublishReadiness.RampWarnings(domain, currentPolicy));
            if (domain.Mode == MtaStsMode.Enforce)
            {
                var checker = CheckCommand.CreateChecker(services, new CheckSettings { Timeout = limit });
                var report = await checker.CheckAsync(domain.Domain, ct).ConfigureAwait(false);
                var verdict = PublishReadiness.EnforceReadiness(report);
                blockers.AddRange(verdict.Blockers.Select(b => "not ready for enforce: " + b));
                warnings.AddRange(verdict.Warnings);
            }
            return new DomainResult(plan, blockers, warnings);
        }
    }

    private static string ZoneText(PublishPlan plan)
    {
        var text = new StringBuilder();
        text.Append("; rampart publish: ").Append(plan.Domain.Domain).Append(", mode ").Append(MtaStsPolicy.ModeName(plan.Domain.Mode))
            .Append(", max_age ").Append(plan.Domain.MaxAge.ToString(CultureInfo.InvariantCulture)).Append('\n');
        foreach (var record in plan.Records)
        {
            text.Append("; ").Append(record.Comment).Append('\n').Append(record.ZoneLine).Append('\n');
        }
        return text.ToString();
    }

    private static void Write(string dir, DomainResult result)
    {
        var plan = result.Plan;
        var target = Path.Combine(dir, plan.Domain.Domain);
        try
        {
            Directory.CreateDirectory(target);
            WriteAtomically(Path.Combine(target, "mta-sts.txt"), plan.Policy.Bytes);
            WriteAtomically(Path.Combine(target, "records.zone"), Encoding.UTF8.GetBytes(ZoneText(plan)));
            using var json = new MemoryStream();
            using (var w = new System.Text.Json.Utf8JsonWriter(json, new System.Text.Json.JsonWriterOptions { Indented = true }))
            {
                WriteDomain(w, result);
            }
            json.WriteByte((byte)'\n');
            WriteAtomically(Path.Combine(target, "records.json"), json.ToArray());
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new RampartException($"--out {dir}: cannot write ({ex.Message})", ex);
        }
    }

    private static void WriteAtomically(string path, byte[] content)
    {
        var temporary = path + ".tmp";
        File.WriteAllBytes(temporary, content);
        File.Move(temporary, path, overwrite: true);
    }

    private static void WriteHuman(List<DomainResult> results, string? dir)
    {
        foreach (var result in results)
        {
            var plan = result.Plan;
            if (result.Blockers.Count > 0)
            {
                Console.Error.WriteLine($"rampart: {ConsoleReport.Failure("refused")} {plan.Domain.Domain}: nothing written");
                foreach (var blocker in result.Blockers)
                {
                    Console.Error.WriteLine("rampart:   " + blocker);
                }
            }
            foreach (var warning in result.Warnings)
            {
                Console.Error.WriteLine($"rampart: {ConsoleReport.Warning("warning")}: {plan.Domain.Domain}: {warning}");
            }
            if (result.Blockers.Count > 0)
            {
                continue;
            }
            Console.WriteLine($"; policy file https://{plan.Domain.PolicyHostName}{MtaStsPolicyFetcher.WellKnownPath}{(dir is null ? "" : $" (written to {Path.Combine(dir, plan.Domain.Domain, "mta-sts.txt")})")}:");
            foreach (var line in plan.Policy.Text.Split("\r\n", StringSplitOptions.RemoveEmptyEntries))
            {
                Console.WriteLine(";   " + line);
            }
            Console.Write(ZoneText(plan));
        }
    }

    private static void WriteJson(List<DomainResult> results) => JsonShapes.WriteStdout(w =>
    {
        w.WriteStartObject();
        w.WriteStartArray("domains");
        foreach (var result in results)
        {
            WriteDomain(w, result);
        }
        w.WriteEndArray();
        w.WriteEndObject();
    });

    private static void WriteDomain(System.Text.Json.Utf8JsonWriter w, DomainResult result)
    {
        var plan = result.Plan;
        w.WriteStartObject();
        w.WriteString("domain", plan.Domain.Domain);
        w.WriteBoolean("ready", result.Blockers.Count == 0);
        w.WriteStartObject("policy");
        w.WriteString("text", plan.Policy.Text);
        w.WriteString("id", plan.Policy.Id);
        w.WriteString("mode", MtaStsPolicy.ModeName(plan.Domain.Mode));
        w.WriteNumber("max_age", plan.Domain.MaxAge);
        ConsoleReport.WriteStrings(w, "mx", plan.Domain.Mx.Select(mx => mx.Value));
        w.WriteString("url", $"https://{plan.Domain.PolicyHostName}{MtaStsPolicyFetcher.WellKnownPath}");
        w.WriteEndObject();
        w.WriteStartArray("records");
        foreach (var record in plan.Records)
        {
            w.WriteStartObject();
            w.WriteString("name", record.Name);
            w.WriteString("type", record.Type);
            w.WriteString("data", record.Data);
            w.WriteString("zone_line", record.ZoneLine);
            w.WriteBoolean("advice_only", record.IsAdvice);
            w.WriteString("comment", record.Comment);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        ConsoleReport.WriteStrings(w, "blockers", result.Blockers);
        ConsoleReport.WriteStrings(w, "warnings", result.Warnings);
        w.WriteEndObject();
    }
}
