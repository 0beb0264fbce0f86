using System.CommandLine;
using Rampart.Core;
using Rampart.Core.IO;
using Rampart.Core.TlsRpt;
using Rampart.Hosting;
using Rampart.Postfix.Config;
using Rampart.Postfix.TlsRpt;
using Rampart.Storage.TlsRpt;

namespace Rampart.Cli.Commands;

/// <summary>
/// <c>rampart tlsrpt ingest-log FILE…</c>: replays Postfix (before 3.10) mail logs through the log source's reader into
/// the TLS-RPT session store: a backfill, a test, or (with <c>--dry-run</c>) "what would my report have said".
/// </summary>
internal static class TlsRptIngestLogCommand
{
    /// <param name="reportStore"><c>tlsrpt --store</c> (recursive): it names the report store, not this one, so it is refused here.</param>
    public static Command Create(Option<string?> reportStore)
    {
        var files = new Argument<string[]>("file")
        {
            Description = "Postfix log files (syslog or journalctl -o short-iso text; gzip-compressed rotations too), oldest first.",
            Arity = ArgumentArity.OneOrMore,
        };
        var json = new Option<bool>("--json")
        {
            Description = "Write the outcome as JSON (keys: store, files, lines, sessions, own_reports, not_reportable, counted, already_counted, " +
                          "by_result, by_day; with --dry-run also results[]).",
        };
        var dryRun = new Option<bool>("--dry-run") { Description = "Print the session results without storing them (nothing is written)." };
        var sender = new Option<string?>("--sender-address")
        {
            Description = "Envelope sender of our own TLS-RPT reports: their sessions are not counted. Default: tlsrpt_reporting.sender_address of --config.",
            HelpName = "ADDRESS",
        };
        var command = new Command("ingest-log",
            "Count the TLS sessions a Postfix 3.7 (before 3.10) mail log shows, as the daemon's postfix_log follower does (smtp_tls_loglevel = 1): " +
            "TLS lines joined to delivery lines per smtp process, counted where the daemon counts them (the state directory, or tlsrpt_reporting.store of --config as tlsrpt_reporting.host),  each session under the policy the daemon answered for its domain " +
            $"({SqliteTlsPolicyAnswerStore.FileName} in the state directory; no-policy-found without it). Reading a line again never counts it " +
            "twice, so replaying a file, or one the daemon follows, is harmless. Exit 0 when read, 2 when a file cannot be read.")
        {
            files, json, dryRun, sender,
        };
        command.WithStateDir().WithConfig();
        command.SetAction((parse, ct) => Verb.RunAsync(async () =>
        {
            if (parse.GetValue(reportStore) is not null)
            {
                throw new RampartException("ingest-log: --store names the store of received reports; the sessions of our own deliveries are counted in --state-dir (or the state_dir of --config, or a fleet's tlsrpt_reporting.store)");
            }
            var paths = parse.GetValue(files)!;
            foreach (var path in paths)
            {
                UserFile.CheckIsRegularFile(path, "log file", PostfixLogReplay.MaxFileBytes);
            }
            var config = parse.GetValue(GlobalOptions.Config) is { } configPath ? DaemonConfiguration.Load(configPath) : null;
            if (config is { Errors.Count: > 0 })
            {
                throw new RampartException(config.Errors[0]);
            }
            var reporting = config?.Configuration.TlsRptReporting;
            var directory = StateDirectory.Choose(parse.GetValue(GlobalOptions.StateDir) ?? config?.Configuration.EffectiveStateDirectory);
            var reader = new PostfixTlsLogReader(parse.GetValue(sender) ?? reporting?.SenderAddress);
            var outcome = new PostfixLogReplayOutcome();
            var dry = parse.GetValue(dryRun);
            var answersPath = SqliteTlsPolicyAnswerStore.PathIn(directory);
            ITlsPolicyAnswerStore? answers = null;
            ITlsSessionStore? store = null;
            try
            {
                if (File.Exists(answersPath))
                {
                    answers = await SqliteTlsPolicyAnswerStore.OpenAsync(answersPath, ct).ConfigureAwait(false);
                }
                if (!dry)
                {
                    if (reporting?.SharedStore is null)
                    {
                        StateDirectory.RequireWritable(directory);
                    }
                    store = await TlsRptStores.OpenSessionsAsync(reporting?.SharedStore, directory, TimeProvider.System, ct).ConfigureAwait(false);
                }
                foreach (var path in paths)
                {
                    var stream = OpenLog(path);
                    await using var streamScope = stream.ConfigureAwait(false);
                    // A traditional timestamp's year: that of the file's last write (its newest line).
                    var reference = new DateTimeOffset(File.GetLastWriteTimeUtc(path), TimeSpan.Zero);
                    await PostfixLogReplay.ReadAsync(stream, reference, reader, answers, store, outcome, ct).ConfigureAwait(false);
                }
            }
            finally
            {
                if (store is not null)
                {
                    await store.DisposeAsync().ConfigureAwait(false);
                }
                if (answers is not null)
                {
                    await answers.DisposeAsync().ConfigureAwait(false);
                }
            }
            if (parse.GetValue(json))
            {
                WriteJson(store?.Location, outcome, dry);
            }
            else
            {
                WriteHuman(store?.Location, outcome, dry);
            }
            return ExitCodes.Ok;
        }, ct));
        return command;
    }

    private static FileStream OpenLog(string path)
    {
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.SequentialScan);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new UserFileException($"log file {path}: cannot be read ({ex.Message})");
        }
    }

    private static void WriteHuman(string? location, PostfixLogReplayOutcome o, bool dry)
    {
        if (dry)
        {
            foreach (var r in o.Results)
            {
                var failure = r.Failures.Count > 0 ? r.Failures[0] : null;
                Console.WriteLine($"{ConsoleReport.Stamp(r.At)} {DisplayText.Sanitize(r.ReportDomain)} {r.Policy.PolicyType} " +
                                  (r.Succeeded ? ConsoleReport.Ok("success") : ConsoleReport.Failure(failure?.ResultType ?? "failure")) +
                                  (failure is null ? "" : $" {DisplayText.Sanitize(failure.ReceivingMxHostname ?? "")}[{DisplayText.Sanitize(failure.ReceivingIp ?? "")}]" +
                                                          (failure.FailureReasonCode is { } code ? " " + DisplayText.Sanitize(code) : "")));
            }
        }
        var counts = string.Join(", ", o.ByResult.Select(kv => $"{kv.Value} {kv.Key}"));
        Console.WriteLine($"{o.Files} file(s), {o.Lines} lines: {o.Sessions} TLS sessions ({(counts.Length > 0 ? counts : "none")}); " +
                          $"{o.OwnReports} delivering our own reports and {o.NotReportable} policy lookup errors not counted" +
                          (dry ? " (dry run: nothing stored)" : $"; {ConsoleReport.Ok($"{o.Counted} counted")}, {o.AlreadyCounted} counted before (store {location})"));
        if (o.OversizedLines > 0)
        {
            Console.WriteLine($"  {ConsoleReport.Note("note")} {o.OversizedLines} line(s) longer than {LogLineSplitter.MaxLineBytes} bytes skipped");
        }
    }

    private static void WriteJson(string? location, PostfixLogReplayOutcome o, bool dry)
    {
        JsonShapes.WriteStdout(w =>
        {
            w.WriteStartObject();
            if (location is null)
            {
                w.WriteNull("store");
            }
            else
            {
                w.WriteString("store", location);
            }
            w.WriteBoolean("dry_run", dry);
            w.WriteNumber("files", o.Files);
            w.WriteNumber("lines", o.Lines);
            w.WriteNumber("oversized_lines", o.OversizedLines);
            w.WriteNumber("sessions", o.Sessions);
            w.WriteNumber("own_reports", o.OwnReports);
            w.WriteNumber("not_reportable", o.NotReportable);
            w.WriteNumber("counted", o.Counted);
            w.WriteNumber("already_counted", o.AlreadyCounted);
            w.WriteStartObject("by_result");
            foreach (var (label, n) in o.ByResult)
            {
                w.WriteNumber(label, n);
            }
            w.WriteEndObject();
            w.WriteStartObject("by_day");
            foreach (var (day, n) in o.ByDay)
            {
                w.WriteNumber(day.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture), n);
            }
            w.WriteEndObject();
            if (dry)
            {
                w.WriteStartArray("results");
                foreach (var r in o.Results)
                {
                    w.WriteStartObject();
                    w.WriteString("at", ConsoleReport.Stamp(r.At));
                    w.WriteString("report_domain", r.ReportDomain);
                    w.WriteString("policy_type", r.Policy.PolicyType);
                    if (r.Policy.PolicyDomain is { } policyDomain)
                    {
                        w.WriteString("policy_domain", policyDomain);
                    }
                    ConsoleReport.WriteStrings(w, "policy_string", r.Policy.PolicyStrings);
                    ConsoleReport.WriteStrings(w, "mx_host", r.Policy.MxHostPatterns);
                    w.WriteBoolean("succeeded", r.Succeeded);
                    w.WriteStartArray("failures");
                    foreach (var f in r.Failures)
                    {
                        w.WriteStartObject();
                        w.WriteString("result_type", f.ResultType);
                        WriteOptional(w, "receiving_mx_hostname", f.ReceivingMxHostname);
                        WriteOptional(w, "receiving_ip", f.ReceivingIp);
                        WriteOptional(w, "failure_reason_code", f.FailureReasonCode);
                        w.WriteEndObject();
                    }
                    w.WriteEndArray();
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            }
            w.WriteEndObject();
        });
    }

    private static void WriteOptional(System.Text.Json.Utf8JsonWriter w, string name, string? value)
    {
        if (value is not null)
        {
            w.WriteString(name, value);
        }
    }
}
