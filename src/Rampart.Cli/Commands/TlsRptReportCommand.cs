using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Rampart.Core;
using Rampart.Core.IO;
using Rampart.Core.TlsRpt;
using Rampart.Hosting;
using Rampart.Postfix.Config;
using Rampart.Postfix.TlsRpt;
using Rampart.Storage.TlsRpt;

namespace Rampart.Cli.Commands;

/// <summary>
/// <c>rampart tlsrpt report [--day D] [--json]</c>: the RFC 8460 reports the day's session counts give, and where they
/// would go, without sending; <c>rampart tlsrpt send [--day D] [--json]</c>: builds the finished days' reports and sends
/// what is due, as the daemon does on schedule. Both read the daemon's <c>--config</c> (<c>tlsrpt_reporting</c>,
/// <c>state_dir</c>, <c>resolver</c>, <c>ca_file</c>).
/// </summary>
internal static class TlsRptReportCommand
{
    private static Option<string?> DayOption(string description) => new("--day") { Description = description, HelpName = "YYYY-MM-DD" };

    public static Command Report(Option<string?> store)
    {
        var day = DayOption("The UTC day (default: yesterday). Today's counts so far can be shown too.");
        var json = new Option<bool>("--json")
        {
            Description = "Write {\"day\", \"reports\": [{\"domain\", \"rua\": [..], \"rua_status\", \"rua_detail\", \"report\": <the RFC 8460 JSON>}]}.",
        };
        var command = new Command("report",
            "Show the TLS-RPT reports (RFC 8460 §4) the day's counted sessions give: one per report domain and TLSRPT record, with " +
            "the rua its _smtp._tls record names now. Nothing is sent or changed. organization-name, contact-info and the submitter come " +
            "from tlsrpt_reporting in --config (default: this host's name). Exit 0.")
        {
            day, json,
        };
        command.WithNetwork(webPki: false).WithConfig().WithStateDir();
        command.SetAction((parse, ct) => Verb.RunAsync(async () =>
        {
            RejectStore(parse, store);
            var context = Context.From(parse);
            var chosen = ParseDay(parse.GetValue(day)) ?? context.Today.AddDays(-1);
            var sessions = await TlsRptStores.OpenSessionsAsync(context.Reporting.SharedStore, context.StateDirectory, TimeProvider.System, ct).ConfigureAwait(false);
            await using (sessions.ConfigureAwait(false))
            {
                var reports = TlsRptReportBuilder.Build(chosen, await sessions.ReadDayAsync(chosen, null, ct).ConfigureAwait(false), context.Reporter);
                // One lookup per report domain, 32 at a time (10,000 domains one by one would take minutes on a slow resolver).
                var lookup = new TlsRptRuaLookup(context.Services.Dns);
                var answers = new TlsRptRuaAnswer[reports.Count];
                await Parallel.ForAsync(0, reports.Count, new ParallelOptions { MaxDegreeOfParallelism = 32, CancellationToken = ct },
                    async (i, token) => answers[i] = await lookup.LookupAsync(reports[i].ReportDomain, token).ConfigureAwait(false)).ConfigureAwait(false);
                if (parse.GetValue(json))
                {
                    WriteReportJson(chosen, reports, answers);
                }
                else
                {
                    WriteReportHuman(chosen, sessions.Location, reports, answers);
                }
                return ExitCodes.Ok;
            }
        }, ct));
        return command;
    }

    public static Command Send(Option<string?> store)
    {
        var day = DayOption("Build and send this UTC day's reports now, whatever the spread (default: every finished day not yet built; what is due is sent).");
        var json = new Option<bool>("--json")
        {
            Description = "Write {\"queued\": n, \"reports\": [{\"domain\", \"report_id\", \"state\", \"sent_to\", \"next_try\", \"detail\", \"attempts\": [{\"rua\", \"result\", \"detail\"}]}]}.",
        };
        var command = new Command("send",
            "Build the reports of every finished UTC day not yet built (each due at a random moment within tlsrpt_reporting.spread after " +
            "midnight) and send those that are due: the rua is looked up again (no record: dropped; invalid: dropped; DNS error: kept), " +
            "mailto: ruas get a DKIM-signed multipart/report submitted to tlsrpt_reporting.submit, https: ruas a POST; the first rua " +
            "that accepts counts; failures are retried with backoff for 24 h, and a rua that refuses for good is suppressed for 30 days. " +
            "State is kept in the state directory (tlsrpt-outbox.sqlite; a fleet's in tlsrpt_reporting.store), so running it again never sends a report twice. Needs " +
            "tlsrpt_reporting.sender_address in --config. Exit 0 when every report tried was sent (or none was due), 1 when some was not.")
        {
            day, json,
        };
        command.WithNetwork(webPki: true).WithConfig().WithStateDir();
        command.SetAction((parse, ct) => Verb.RunAsync(async () =>
        {
            RejectStore(parse, store);
            var context = Context.From(parse);
            var chosen = ParseDay(parse.GetValue(day));
            if (chosen is { } d && d >= context.Today)
            {
                Console.Error.WriteLine($"rampart: warning: {d:yyyy-MM-dd} is not over; its reports are built from the sessions counted so far, and later ones of that day are never reported");
            }
            var sending = await TlsRptReportSending.OpenAsync(context.Reporting, context.StateDirectory, null, context.Services.Dns,
                context.Services.Anchors, TimeProvider.System, ct).ConfigureAwait(false);
            await using (sending.ConfigureAwait(false))
            {
                if (!sending.Signed)
                {
                    Console.Error.WriteLine("rampart: warning: tlsrpt_reporting.dkim is not set: mailed reports are not DKIM-signed, and receivers may discard them (RFC 8460 §5.3)");
                }
                var (queued, outcomes) = await sending.RunOnceAsync(chosen, new TlsRptSendMetrics(), NullLogger.Instance, ct).ConfigureAwait(false);
                if (parse.GetValue(json))
                {
                    WriteSendJson(queued.Count, outcomes);
                }
                else
                {
                    WriteSendHuman(queued.Count, outcomes);
                }
                return outcomes.All(o => o.State == TlsRptOutboxState.Sent) ? ExitCodes.Ok : ExitCodes.Invalid;
            }
        }, ct));
        return command;
    }

    public static Command Suppressed(Option<string?> store)
    {
        var clear = new Option<string?>("--clear")
        {
            Description = "Lift the suppression of RUA (as listed), so that the next report due tries it again.", HelpName = "RUA",
        };
        var json = new Option<bool>("--json")
        {
            Description = "Write {\"suppressed\": [{\"rua\", \"until\", \"reason\"}]}; with --clear, {\"rua\", \"cleared\": true|false}.",
        };
        var command = new Command("suppressed",
            "List the ruas our reports are not sent to: each refused one for good (SMTP 5xx from tlsrpt_reporting.submit, HTTP 4xx from " +
            "the https: rua) and is skipped for 30 days from then; a report whose every rua is suppressed is dropped. The list is in " +
            "tlsrpt-outbox.sqlite in the state directory (from --state-dir or --config), or a fleet's tlsrpt_reporting.store. --clear RUA lifts one at once, once the " +
            "receiver has fixed its side. Exit 0; with --clear, 1 when RUA was not suppressed.")
        {
            clear, json,
        };
        command.WithConfig().WithStateDir();
        command.SetAction((parse, ct) => Verb.RunAsync(async () =>
        {
            RejectStore(parse, store);
            var (outbox, path) = await OpenExistingOutboxAsync(parse, ct).ConfigureAwait(false);
            var now = DateTimeOffset.UtcNow;
            var rua = parse.GetValue(clear);
            try
            {
                if (rua is not null)
                {
                    var cleared = outbox is not null && await outbox.ClearSuppressionAsync(rua, now, ct).ConfigureAwait(false);
                    if (parse.GetValue(json))
                    {
                        JsonShapes.WriteStdout(w =>
                        {
                            w.WriteStartObject();
                            w.WriteString("rua", rua);
                            w.WriteBoolean("cleared", cleared);
                            w.WriteEndObject();
                        });
                    }
                    else if (cleared)
                    {
                        Console.WriteLine($"{Shown(rua)}: no longer suppressed; the next report due tries it");
                    }
                    else
                    {
                        Console.Error.WriteLine($"rampart: {Shown(rua)} is not suppressed (rampart tlsrpt suppressed lists the ruas that are, exactly as to be given)");
                    }
                    return cleared ? ExitCodes.Ok : ExitCodes.Invalid;
                }
                IReadOnlyList<TlsRptSuppression> list = outbox is null ? [] : await outbox.SuppressionsAsync(now, ct).ConfigureAwait(false);
                if (parse.GetValue(json))
                {
                    JsonShapes.WriteStdout(w =>
                    {
                        w.WriteStartObject();
                        w.WriteStartArray("suppressed");
                        foreach (var s in list)
                        {
                            w.WriteStartObject();
                            w.WriteString("rua", s.Rua);
                            w.WriteString("until", s.Until.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture));
                            w.WriteString("reason", s.Reason);
                            w.WriteEndObject();
                        }
                        w.WriteEndArray();
                        w.WriteEndObject();
                    });
                    return ExitCodes.Ok;
                }
                Console.WriteLine(list.Count == 0 ? $"no rua is suppressed ({path})" : $"{list.Count} rua(s) suppressed ({path}):");
                foreach (var s in list)
                {
                    Console.WriteLine($"  {Shown(s.Rua)} until {s.Until.UtcDateTime:yyyy-MM-dd HH:mm}Z: {Shown(s.Reason, 300)}");
                }
                return ExitCodes.Ok;
            }
            finally
            {
                if (outbox is not null)
                {
                    await outbox.DisposeAsync().ConfigureAwait(false);
                }
            }
        }, ct));
        return command;
    }

    public static Command Bounce(Option<string?> store)
    {
        var files = new Argument<string[]>("MESSAGE")
        {
            Description = "Bounce messages, one per file (a Maildir file, a saved .eml); '-' or none reads one from standard input.",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var json = new Option<bool>("--json")
        {
            Description = "Write {\"messages\": [{\"message\", \"kind\", \"report_id\", \"report_domain\", \"detail\", \"recipients\": " +
                          "[{\"address\", \"status\", \"diagnostic\", \"suppressed_rua\", \"requeued\"}]}]}; kind is bounced, no-permanent-failure, " +
                          "not-our-report or not-a-delivery-status.",
        };
        var command = new Command("bounce",
            "Read bounces of our mailed reports (RFC 3464 delivery status notifications sent back to tlsrpt_reporting.sender_address, " +
            "e.g. piped in by a Postfix pipe transport: docs/tlsrpt-sending.md#bounces). For each recipient refused for good (5.x.x) that " +
            "a report of ours was accepted for, its mailto: rua is suppressed for 30 days (as `tlsrpt suppressed` lists) and the report " +
            "goes back into the queue for the record's next rua. Anything else (a delay notice, another message, a bounce naming a rua " +
            "we never sent to) is left alone. Exit 0 when every message was read, 2 when one could not be, 75 (try again later) when " +
            "the outbox in the state directory cannot be written.")
        {
            files, json,
        };
        command.WithConfig().WithStateDir();
        command.SetAction((parse, ct) => Verb.RunAsync(async () =>
        {
            RejectStore(parse, store);
            var names = parse.GetValue(files) is { Length: > 0 } given ? given : [UserFile.StandardInput];
            var read = new List<(string Name, TlsRptBounce Bounce)>();
            foreach (var name in names)
            {
                var bytes = await UserFile.ReadAllBytesOrStdinAsync(name, "bounce message", TlsRptBounceReader.MaxBytes, ct).ConfigureAwait(false);
                using var input = new MemoryStream(bytes, writable: false);
                try
                {
                    read.Add((name == UserFile.StandardInput ? "(stdin)" : name, await TlsRptBounceReader.ReadAsync(input, ct).ConfigureAwait(false)));
                }
                catch (FormatException ex)
                {
                    throw new RampartException($"{Shown(name)}: {ex.Message}");
                }
            }
            var outcomes = new IReadOnlyList<TlsRptBounceOutcome>[read.Count];
            if (read.Any(r => r.Bounce.Kind == TlsRptBounceKind.Bounced))
            {
                try
                {
                    // Nothing was ever sent from here when there is no outbox: no bounce can be about a report of ours.
                    var (outbox, _) = await OpenExistingOutboxAsync(parse, ct).ConfigureAwait(false);
                    if (outbox is not null)
                    {
                        await using (outbox.ConfigureAwait(false))
                        {
                            var handler = new TlsRptBounceHandler(outbox, TimeProvider.System, new TlsRptSendSettings().SuppressFor);
                            for (var i = 0; i < read.Count; i++)
                            {
                                outcomes[i] = await handler.ApplyAsync(read[i].Bounce, ct).ConfigureAwait(false);
                            }
                        }
                    }
                }
                catch (RampartException ex)
                {
                    Console.Error.WriteLine("rampart: " + ex.Message + " (exit 75: a pipe transport tries again later)");
                    return ExitCodes.TempFail;
                }
            }
            if (parse.GetValue(json))
            {
                WriteBounceJson(read, outcomes);
            }
            else
            {
                WriteBounceHuman(read, outcomes);
            }
            return ExitCodes.Ok;
        }, ct));
        return command;
    }

    private static string KindName(TlsRptBounceKind kind) => kind switch
    {
        TlsRptBounceKind.Bounced => "bounced",
        TlsRptBounceKind.NoPermanentFailure => "no-permanent-failure",
        TlsRptBounceKind.NotOurReport => "not-our-report",
        _ => "not-a-delivery-status",
    };

    private static void WriteBounceJson(List<(string Name, TlsRptBounce Bounce)> read, IReadOnlyList<TlsRptBounceOutcome>?[] outcomes)
    {
        JsonShapes.WriteStdout(w =>
        {
            w.WriteStartObject();
            w.WriteStartArray("messages");
            for (var i = 0; i < read.Count; i++)
            {
                var bounce = read[i].Bounce;
                w.WriteStartObject();
                w.WriteString("message", read[i].Name);
                w.WriteString("kind", KindName(bounce.Kind));
                w.WriteString("report_id", bounce.ReportId);
                w.WriteString("report_domain", bounce.ReportDomain);
                w.WriteString("detail", bounce.Detail);
                w.WriteStartArray("recipients");
                foreach (var recipient in bounce.Recipients)
                {
                    var outcome = outcomes[i]?.FirstOrDefault(o => o.Recipient == recipient);
                    w.WriteStartObject();
                    w.WriteString("address", recipient.Address);
                    w.WriteString("status", recipient.Status);
                    w.WriteString("diagnostic", recipient.Diagnostic);
                    w.WriteString("suppressed_rua", outcome?.Rua);
                    w.WriteBoolean("requeued", outcome?.Requeued ?? false);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        });
    }

    private static void WriteBounceHuman(List<(string Name, TlsRptBounce Bounce)> read, IReadOnlyList<TlsRptBounceOutcome>?[] outcomes)
    {
        for (var i = 0; i < read.Count; i++)
        {
            var (name, bounce) = read[i];
            if (bounce.Kind != TlsRptBounceKind.Bounced)
            {
                Console.WriteLine($"{Shown(name)}: {Shown(bounce.Detail, 300)}; nothing to do");
                continue;
            }
            foreach (var recipient in bounce.Recipients)
            {
                var outcome = outcomes[i]?.FirstOrDefault(o => o.Recipient == recipient);
                var why = $"{Shown(recipient.Status)}" + (recipient.Diagnostic is { } d ? $" ({Shown(d, 200)})" : "");
                Console.WriteLine(outcome?.Rua is { } rua
                    ? $"{Shown(name)}: {Shown(recipient.Address)} bounced {why}: {Shown(rua)} suppressed for 30 days" +
                      (outcome.Requeued ? $"; report {Shown(bounce.ReportId)} queued again for the record's next rua" : "")
                    : $"{Shown(name)}: {Shown(recipient.Address)} bounced {why}, but no report of ours was accepted for it: nothing suppressed");
            }
        }
    }

    /// <summary>
    /// The outbox a sender left: the fleet's shared one (tlsrpt_reporting.store in --config), or the state directory's
    /// file when it exists; null when nothing was ever sent from here (no outbox is created just to say so). Also the
    /// state directory's file path, for messages.
    /// </summary>
    private static async Task<(ITlsRptOutbox? Outbox, string Path)> OpenExistingOutboxAsync(ParseResult parse, CancellationToken ct)
    {
        var config = LoadConfig(parse);
        var path = SqliteTlsRptOutbox.PathIn(Rampart.Hosting.StateDirectory.Choose(parse.GetValue(GlobalOptions.StateDir) ?? config?.EffectiveStateDirectory));
        ITlsRptOutbox? outbox = config?.TlsRptReporting?.SharedStore is { } shared ? await TlsRptStores.OpenOutboxAsync(shared, "", ct).ConfigureAwait(false)
            : File.Exists(path) ? await SqliteTlsRptOutbox.OpenAsync(path, ct).ConfigureAwait(false) : null;
        return (outbox, path);
    }

    /// <summary>The daemon's file named by --config, its warnings written; null without --config.</summary>
    private static DaemonConfiguration? LoadConfig(ParseResult parse)
    {
        if (parse.GetValue(GlobalOptions.Config) is not { } path)
        {
            return null;
        }
        var loaded = DaemonConfiguration.Load(path);
        foreach (var warning in loaded.Warnings)
        {
            Console.Error.WriteLine("rampart: warning: " + warning);
        }
        return loaded.Succeeded ? loaded.Configuration : throw new RampartException(string.Join(Environment.NewLine + "rampart: ", loaded.Errors));
    }

    /// <summary>What both verbs take from the command line and --config.</summary>
    private sealed record Context(string StateDirectory, TlsRptReportingConfig Reporting, TlsRptReporter Reporter, Services Services, DateOnly Today)
    {
        public static Context From(ParseResult parse)
        {
            var file = LoadConfig(parse);
            var inputs = ServiceInputs.From(parse);
            var services = Services.Create(inputs with { Resolver = inputs.Resolver ?? file?.Resolver, CaFile = inputs.CaFile ?? file?.CaFile });
            var stateDirectory = Rampart.Hosting.StateDirectory.Choose(parse.GetValue(GlobalOptions.StateDir) ?? file?.EffectiveStateDirectory);
            var reporting = file?.TlsRptReporting ?? new TlsRptReportingConfig();
            return new Context(stateDirectory, reporting, reporting.Reporter(HostDomain()), services, DateOnly.FromDateTime(DateTime.UtcNow));
        }

        private static string HostDomain()
        {
            try
            {
                return System.Net.Dns.GetHostName().ToLowerInvariant();
            }
            catch (System.Net.Sockets.SocketException)
            {
                return "localhost";
            }
        }
    }

    /// <summary><c>--store</c> (recursive on <c>tlsrpt</c>) names the received reports' store; these verbs read the session store.</summary>
    private static void RejectStore(ParseResult parse, Option<string?> store)
    {
        if (parse.GetValue(store) is not null)
        {
            throw new RampartException("--store names the store of received reports; report and send read our own sessions in the state directory (--state-dir)");
        }
    }

    private static DateOnly? ParseDay(string? text)
    {
        if (text is null)
        {
            return null;
        }
        return DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day)
            ? day
            : throw new RampartException($"--day '{DisplayText.Sanitize(text, 40)}': not a day as YYYY-MM-DD (UTC)");
    }

    private static string RuaStatus(TlsRptRuaStatus status) => status switch
    {
        TlsRptRuaStatus.Found => "found",
        TlsRptRuaStatus.NoRecord => "no-record",
        TlsRptRuaStatus.Invalid => "invalid",
        _ => "lookup-error",
    };

    private static void WriteReportJson(DateOnly day, IReadOnlyList<OutgoingTlsRptReport> reports, TlsRptRuaAnswer[] answers)
    {
        JsonShapes.WriteStdout(w =>
        {
            w.WriteStartObject();
            w.WriteString("day", day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
            w.WriteStartArray("reports");
            for (var i = 0; i < reports.Count; i++)
            {
                w.WriteStartObject();
                w.WriteString("domain", reports[i].ReportDomain);
                ConsoleReport.WriteStrings(w, "rua", answers[i].Record?.Rua.Select(u => u.OriginalString) ?? []);
                w.WriteString("rua_status", RuaStatus(answers[i].Status));
                w.WriteString("rua_detail", answers[i].Detail);
                if (reports[i].TlsRptRecord is { } record)
                {
                    w.WriteString("tlsrpt_record", record);
                }
                w.WritePropertyName("report");
                TlsRptReportWriter.Write(w, reports[i].Report);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        });
    }

    private static void WriteReportHuman(DateOnly day, string location, IReadOnlyList<OutgoingTlsRptReport> reports, TlsRptRuaAnswer[] answers)
    {
        if (reports.Count == 0)
        {
            Console.WriteLine($"{day:yyyy-MM-dd}: no sessions counted in {location}, so no reports");
            return;
        }
        Console.WriteLine($"{day:yyyy-MM-dd}: {reports.Count} report(s) from {Shown(reports[0].Report.OrganizationName)} ({Shown(reports[0].Report.ContactInfo)})");
        for (var i = 0; i < reports.Count; i++)
        {
            var r = reports[i];
            var where = answers[i].Status == TlsRptRuaStatus.Found
                ? "to " + string.Join(", ", answers[i].Record!.Rua.Select(u => Shown(u.OriginalString)))
                : ConsoleReport.Failure("not sent") + ": " + Shown(answers[i].Detail, 300);
            Console.WriteLine($"  {Shown(r.ReportDomain)}: {r.Successful} ok, {r.Failed} failed in {r.Report.Policies.Count} polic{(r.Report.Policies.Count == 1 ? "y" : "ies")}; {where}");
            Console.WriteLine($"    report-id {Shown(r.Report.ReportId)}");
            foreach (var policy in r.Report.Policies)
            {
                var failures = policy.FailureDetails.GroupBy(f => f.ResultType).Select(g => $"{Shown(g.Key)} {g.Sum(f => f.FailedSessionCount)}");
                Console.WriteLine($"    {policy.PolicyType} {Shown(policy.PolicyDomain)}: {policy.TotalSuccessfulSessionCount} ok, {policy.TotalFailureSessionCount} failed" +
                                  (policy.FailureDetails.Count > 0 ? $" ({string.Join(", ", failures)})" : ""));
            }
        }
    }

    private static string ResultName(TlsRptAttempt attempt) => attempt.Result?.Status switch
    {
        TlsRptDeliveryStatus.Accepted => "accepted",
        TlsRptDeliveryStatus.TemporaryFailure => "temporary-failure",
        TlsRptDeliveryStatus.PermanentFailure => "permanent-failure",
        _ => "skipped",
    };

    private static void WriteSendJson(int queued, IReadOnlyList<TlsRptSendOutcome> outcomes)
    {
        JsonShapes.WriteStdout(w =>
        {
            w.WriteStartObject();
            w.WriteNumber("queued", queued);
            w.WriteStartArray("reports");
            foreach (var outcome in outcomes)
            {
                w.WriteStartObject();
                w.WriteString("domain", outcome.Report.ReportDomain);
                w.WriteString("report_id", outcome.Report.Report.ReportId);
                w.WriteString("state", SqliteTlsRptOutbox.StateName(outcome.State));
                w.WriteString("sent_to", outcome.State == TlsRptOutboxState.Sent ? outcome.Attempts[^1].Rua.OriginalString : null);
                w.WriteString("next_try", outcome.NextTry is { } next ? ConsoleReport.Stamp(next) : null);
                w.WriteString("detail", outcome.Detail);
                w.WriteStartArray("attempts");
                foreach (var attempt in outcome.Attempts)
                {
                    w.WriteStartObject();
                    w.WriteString("rua", attempt.Rua.OriginalString);
                    w.WriteString("result", ResultName(attempt));
                    w.WriteString("detail", attempt.Result?.Detail ?? attempt.Skipped);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        });
    }

    private static void WriteSendHuman(int queued, IReadOnlyList<TlsRptSendOutcome> outcomes)
    {
        Console.WriteLine($"{queued} report(s) built; {outcomes.Count} due: {outcomes.Count(o => o.State == TlsRptOutboxState.Sent)} sent");
        foreach (var outcome in outcomes)
        {
            var state = SqliteTlsRptOutbox.StateName(outcome.State);
            Console.WriteLine($"  {(outcome.State == TlsRptOutboxState.Sent ? ConsoleReport.Ok(state) : ConsoleReport.Failure(state))} " +
                              $"{Shown(outcome.Report.ReportDomain)} {Shown(outcome.Report.Report.ReportId)}" +
                              (outcome.NextTry is { } next ? $" (next try {ConsoleReport.Stamp(next)})" : "") + $": {Shown(outcome.Detail, 500)}");
        }
    }

    /// <summary>DNS and report text as the terminal may show it.</summary>
    private static string Shown(string? value, int maxLength = DisplayText.DefaultMaxLength) => DisplayText.Sanitize(value, maxLength);
}
