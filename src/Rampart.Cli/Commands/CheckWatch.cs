using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Rampart.Core;
using Rampart.Core.Check;
using Rampart.Core.IO;
using Rampart.Hosting;
using Rampart.Hosting.Listening;
using Rampart.Hosting.Logging;
using Rampart.Storage.Check;

namespace Rampart.Cli.Commands;

/// <summary>What <c>rampart check --watch</c> was asked to do.</summary>
internal sealed record CheckWatchOptions(string File, TimeSpan Interval, IPEndPoint? Metrics, Uri? Webhook, string StateDirectory, bool Once, LogLevel LogLevel);

/// <summary>
/// <c>rampart check --watch FILE</c>: the monitor. Re-checks the domains of FILE every interval (rounds never overlap),
/// remembers the findings in <c>check-history.sqlite</c> in the state directory, logs one line per finding that appeared
/// or cleared plus a round summary, serves Prometheus metrics and POSTs a webhook per changed domain. A round in which
/// the local resolver itself is down judges no domain: one warning line, one webhook event per outage, the history kept.
/// SIGTERM/SIGINT stop it between or within a round (an interrupted domain keeps its previous state). <c>--once</c> runs
/// one round and exits Nagios-style like <c>rampart check</c> (3 when the resolver is down).
/// </summary>
internal static partial class CheckWatch
{
    private static readonly TimeSpan s_webhookTimeout = TimeSpan.FromSeconds(5);

    /// <summary>Reads the domains file: one domain per line, <c>#</c> starts a comment, blank lines are ignored, duplicates count once.</summary>
    public static bool TryReadDomains(string path, out List<string> domains, out string error)
    {
        domains = [];
        string[] lines;
        try
        {
            lines = Lines(UserFile.ReadAllText(path, "--watch", UserFile.Limits.DomainList));
        }
        catch (UserFileException ex)
        {
            error = ex.Message;
            return false;
        }
        for (var i = 0; i < lines.Length; i++)
        {
            var text = lines[i];
            var hash = text.IndexOf('#', StringComparison.Ordinal);
            text = (hash >= 0 ? text[..hash] : text).Trim();
            if (text.Length == 0)
            {
                continue;
            }
            var where = $"--watch {path}:{(i + 1).ToString(CultureInfo.InvariantCulture)}";
            if (text.Any(char.IsWhiteSpace))
            {
                error = $"{where}: '{text}': one domain per line";
                return false;
            }
            if (!DomainName.TryNormalize(text, out var name, out var why))
            {
                error = $"{where}: '{text}': {why}";
                return false;
            }
            if (!domains.Contains(name))
            {
                domains.Add(name);
            }
        }
        if (domains.Count == 0)
        {
            error = $"--watch {path}: no domains (one domain per line; # comments and blank lines are ignored)";
            return false;
        }
        error = "";
        return true;
    }

    /// <summary>The lines as <see cref="File.ReadAllLines(string)"/> splits them (\n, \r\n or \r).</summary>
    private static string[] Lines(string text)
    {
        var lines = new List<string>();
        using var reader = new StringReader(text);
        while (reader.ReadLine() is { } line)
        {
            lines.Add(line);
        }
        return [.. lines];
    }

    /// <summary>Runs the monitor until a signal (or one round with <see cref="CheckWatchOptions.Once"/>).</summary>
    /// <param name="resolverDown">Given a round's reports, why the local resolver itself is down, or null when it answers (see <see cref="WatchRound"/>).</param>
    public static async Task<int> RunAsync(CheckWatchOptions options, IReadOnlyList<string> domains, DomainChecker checker, TimeProvider time,
        Func<IReadOnlyList<DomainCheckReport>, CancellationToken, Task<string?>> resolverDown, CancellationToken cancellationToken)
    {
        Rampart.Hosting.StateDirectory.RequireWritable(options.StateDirectory);
        var history = await SqliteFindingHistory.OpenInDirectoryAsync(options.StateDirectory, cancellationToken).ConfigureAwait(false);
        await using var historyScope = history.ConfigureAwait(false);
        var round = new WatchRound(checker.CheckAsync, history, time, checker.Settings.TestingLimit, resolverDown);
        var metrics = new WatchMetrics();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        void Stop(PosixSignalContext context)
        {
            context.Cancel = true;
            stop.Cancel();
        }
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);

        WebApplication? server = null;
        if (options.Metrics is { } endpoint && !options.Once)
        {
            try
            {
                server = await StartMetricsAsync(endpoint, metrics, stop.Token).ConfigureAwait(false);
            }
            catch (StartupException ex)
            {
                return Terminal.Error("check --watch: " + ex.Message);
            }
        }
        using var loggers = HostLogging.CreateFactory(options.LogLevel);
        var log = loggers.CreateLogger(LogComponents.Watch);
        using var webhook = options.Webhook is null ? null : new HttpClient { Timeout = s_webhookTimeout };
        try
        {
            LogStarted(log, domains.Count, options.File, history.Location, options.Once ? "once" : FormatInterval(options.Interval),
                options.Metrics is { } m && !options.Once ? $"http://{m}/metrics" : "off", options.Webhook?.ToString() ?? "off");
            var number = 0;
            var completed = 0;
            var lastJudged = 0;
            var downRounds = 0;
            while (true)
            {
                number++;
                var started = time.GetTimestamp();
                WatchRoundOutcome? outcome;
                try
                {
                    outcome = await round.RunAsync(domains, stop.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    break;
                }
                catch (RampartException ex) when (!options.Once)
                {
                    LogRoundFailed(log, number, ex.Message);
                    outcome = null;
                }
                if (outcome is { ResolverDown: { } down })
                {
                    // The machine's own resolver, not the domains: one line, one event per outage, nothing compared or saved.
                    LogResolverDown(log, number, down, lastJudged > 0 ? $"round {lastJudged}" : "the history as it stands");
                    if (downRounds++ == 0 && webhook is not null)
                    {
                        await PostAsync(webhook, options.Webhook!, ResolverEventBody(ResolverDownEvent, number, down, 0), ResolverDownEvent, log, stop.Token).ConfigureAwait(false);
                    }
                }
                else if (outcome is { Results: var results })
                {
                    if (downRounds > 0)
                    {
                        LogResolverBack(log, number, downRounds, lastJudged > 0 ? $"round {lastJudged}" : "the history as it stands");
                        if (webhook is not null)
                        {
                            await PostAsync(webhook, options.Webhook!, ResolverEventBody(ResolverUpEvent, number, null, downRounds), ResolverUpEvent, log, stop.Token).ConfigureAwait(false);
                        }
                        downRounds = 0;
                    }
                    lastJudged = number;
                    completed++;
                    metrics.RecordRound(results, time.GetUtcNow());
                    Report(log, number, results, time.GetElapsedTime(started));
                    if (webhook is not null)
                    {
                        foreach (var changed in results.Where(r => r.Changed))
                        {
                            await PostAsync(webhook, options.Webhook!, WebhookBody(changed), changed.Domain, log, stop.Token).ConfigureAwait(false);
                        }
                    }
                }
                if (options.Once)
                {
                    var reports = outcome?.Reports ?? [];
                    CheckOutput.WriteHuman(reports, verbose: false, outcome?.ResolverDown);
                    return outcome?.ResolverDown is not null ? ExitCodes.Unknown : CheckOutput.ExitCode(reports);
                }
                var wait = options.Interval - time.GetElapsedTime(started);
                try
                {
                    if (wait > TimeSpan.Zero)
                    {
                        await Task.Delay(wait, time, stop.Token).ConfigureAwait(false);
                    }
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    break;
                }
                // The file is read again each round, so edits apply without a restart; a broken file keeps the last good list.
                if (TryReadDomains(options.File, out var again, out var error))
                {
                    domains = again;
                }
                else
                {
                    LogFileKept(log, error);
                }
            }
            LogStopped(log, completed);
            return ExitCodes.Ok;
        }
        finally
        {
            if (server is not null)
            {
                await server.StopAsync(CancellationToken.None).ConfigureAwait(false);
                await server.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private static void Report(ILogger log, int number, IReadOnlyList<DomainWatchResult> results, TimeSpan elapsed)
    {
        foreach (var result in results)
        {
            foreach (var a in result.Appeared)
            {
                // Round 1 states the problems only (a fresh history would list every ok and info finding as appeared);
                // from round 2 every change is logged. A failure is logged at warning level, so it reaches a quiet log.
                if (a.Finding.Severity == CheckSeverity.Failure)
                {
                    LogAppearedFailure(log, result.Domain, CheckFinding.SeverityName(a.Finding.Severity), a.Finding.Id, a.Finding.Subject, a.Finding.Message);
                }
                else if (number > 1 || a.Finding.Severity == CheckSeverity.Warning)
                {
                    LogAppeared(log, result.Domain, CheckFinding.SeverityName(a.Finding.Severity), a.Finding.Id, a.Finding.Subject, a.Finding.Message);
                }
            }
            foreach (var p in result.Persists)
            {
                LogPersists(log, result.Domain, CheckFinding.SeverityName(p.Finding.Severity), p.Finding.Id, p.Finding.Subject, ConsoleReport.Stamp(p.FirstSeen));
            }
            foreach (var c in result.Cleared)
            {
                LogCleared(log, result.Domain, CheckFinding.SeverityName(c.Finding.Severity), c.Finding.Id, c.Finding.Subject, ConsoleReport.Stamp(c.FirstSeen));
            }
        }
        LogRound(log, number, results.Count,
            results.Count(r => r.Report.Status == CheckStatus.Ok), results.Count(r => r.Report.Status == CheckStatus.Warning),
            results.Count(r => r.Report.Status == CheckStatus.Failure),
            results.Sum(r => r.Appeared.Count), results.Sum(r => r.Persists.Count), results.Sum(r => r.Cleared.Count),
            elapsed.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture));
    }

    /// <summary>The webhook event of a domain whose findings changed.</summary>
    internal const string ChangeEvent = "change";

    /// <summary>The webhook event of the first round of an outage of the local resolver.</summary>
    internal const string ResolverDownEvent = "resolver-down";

    /// <summary>The webhook event of the first round the resolver answers again after an outage.</summary>
    internal const string ResolverUpEvent = "resolver-up";

    /// <summary>The webhook body: {"event":"change","domain","status","appeared":[findings],"cleared":[findings]}; each finding with its first_seen time.</summary>
    internal static byte[] WebhookBody(DomainWatchResult result) => Json(w =>
    {
        w.WriteString("event", ChangeEvent);
        w.WriteString("domain", result.Domain);
        w.WriteString("status", DomainCheckReport.StatusName(result.Report.Status));
        WriteFindings(w, "appeared", result.Appeared);
        WriteFindings(w, "cleared", result.Cleared);
    });

    /// <summary>
    /// The webhook body of a resolver event: {"event":"resolver-down","round","status":"unknown","reason"} or
    /// {"event":"resolver-up","round","down_rounds"}.
    /// </summary>
    internal static byte[] ResolverEventBody(string kind, int round, string? reason, int downRounds) => Json(w =>
    {
        w.WriteString("event", kind);
        w.WriteNumber("round", round);
        if (reason is not null)
        {
            w.WriteString("status", "unknown");
            w.WriteString("reason", reason);
        }
        else
        {
            w.WriteNumber("down_rounds", downRounds);
        }
    });

    /// <summary>One JSON object as unescaped UTF-8 (a webhook reader sees ', &lt; and § as they are).</summary>
    private static byte[] Json(Action<Utf8JsonWriter> properties)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            properties(w);
            w.WriteEndObject();
        }
        return buffer.ToArray();
    }

    private static void WriteFindings(Utf8JsonWriter w, string name, IReadOnlyList<RememberedFinding> findings)
    {
        w.WriteStartArray(name);
        foreach (var r in findings)
        {
            w.WriteStartObject();
            ConsoleReport.WriteFinding(w, r.Finding);
            w.WriteString("first_seen", ConsoleReport.Stamp(r.FirstSeen));
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    /// <summary>POSTs <paramref name="body"/>; a failure is logged naming <paramref name="about"/> (the domain or the event) and never thrown.</summary>
    private static async Task PostAsync(HttpClient client, Uri url, byte[] body, string about, ILogger log, CancellationToken stop)
    {
        try
        {
            using var content = new ByteArrayContent(body);
            content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
            using var response = await client.PostAsync(url, content, stop).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                LogWebhookFailed(log, url.ToString(), about, $"HTTP {(int)response.StatusCode}");
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or IOException)
        {
            var why = ex is OperationCanceledException ? $"no answer within {s_webhookTimeout.TotalSeconds:0} s" : ex.Message.ReplaceLineEndings(" ");
            LogWebhookFailed(log, url.ToString(), about, why);
        }
    }

    /// <summary>Serves /metrics; an address that cannot be bound is a <see cref="StartupException"/> naming it, the cause and the fix.</summary>
    private static async Task<WebApplication> StartMetricsAsync(IPEndPoint endpoint, WatchMetrics metrics, CancellationToken cancellationToken)
    {
        var builder = RampartWebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(endpoint));
        AdmittingListenerFactory.Install(builder.Services);
        var app = builder.Build();
        var admission = app.Services.GetRequiredService<ConnectionAdmission>();
        app.MapGet("/metrics", () => Results.Text(WatchMetricsText.Render(metrics.Snapshot()) + admission.RenderMetrics(), PrometheusText.ContentType, Encoding.UTF8));
        try
        {
            await ListenerStartup.StartAsync(app, _ => new ListenerRole("--metrics", "another exporter, or a second rampart check --watch?"), cancellationToken).ConfigureAwait(false);
            return app;
        }
        catch
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private static string FormatInterval(TimeSpan interval) => interval.TotalSeconds.ToString("0", CultureInfo.InvariantCulture) + " s";

    [LoggerMessage(EventId = 400, Level = LogLevel.Information,
        Message = "rampart check --watch: {Domains} domains from {File}; history {History}; interval {Interval}; metrics {Metrics}; webhook {Webhook}")]
    private static partial void LogStarted(ILogger logger, int domains, string file, string history, string interval, string metrics, string webhook);

    [LoggerMessage(EventId = 401, Level = LogLevel.Information, Message = "{Domain}: appeared {Severity} {Id} [{Subject}] {Message}")]
    private static partial void LogAppeared(ILogger logger, string domain, string severity, string id, string subject, string message);

    [LoggerMessage(EventId = 409, Level = LogLevel.Warning, Message = "{Domain}: appeared {Severity} {Id} [{Subject}] {Message}")]
    private static partial void LogAppearedFailure(ILogger logger, string domain, string severity, string id, string subject, string message);

    [LoggerMessage(EventId = 402, Level = LogLevel.Debug, Message = "{Domain}: persists {Severity} {Id} [{Subject}] since {FirstSeen}")]
    private static partial void LogPersists(ILogger logger, string domain, string severity, string id, string subject, string firstSeen);

    [LoggerMessage(EventId = 403, Level = LogLevel.Information, Message = "{Domain}: cleared {Severity} {Id} [{Subject}] (seen since {FirstSeen})")]
    private static partial void LogCleared(ILogger logger, string domain, string severity, string id, string subject, string firstSeen);

    [LoggerMessage(EventId = 404, Level = LogLevel.Information,
        Message = "round {Round}: {Domains} domains ({Ok} ok, {Warning} warning, {Failure} failure); {Appeared} appeared, {Persisting} persist, {Cleared} cleared; {Seconds} s")]
    private static partial void LogRound(ILogger logger, int round, int domains, int ok, int warning, int failure, int appeared, int persisting, int cleared, string seconds);

    [LoggerMessage(EventId = 405, Level = LogLevel.Warning, Message = "webhook {Url} for {Domain} failed: {Error}; the monitor goes on")]
    private static partial void LogWebhookFailed(ILogger logger, string url, string domain, string error);

    [LoggerMessage(EventId = 406, Level = LogLevel.Error, Message = "round {Round} failed: {Error}; trying again next round")]
    private static partial void LogRoundFailed(ILogger logger, int round, string error);

    [LoggerMessage(EventId = 407, Level = LogLevel.Warning, Message = "{Error}; keeping the previous list of domains")]
    private static partial void LogFileKept(ILogger logger, string error);

    [LoggerMessage(EventId = 408, Level = LogLevel.Information, Message = "rampart check --watch stopped after {Rounds} rounds")]
    private static partial void LogStopped(ILogger logger, int rounds);

    [LoggerMessage(EventId = 410, Level = LogLevel.Warning,
        Message = "round {Round}: {Reason}; nothing appeared or cleared, the history is kept and the next round compares with {LastJudged}")]
    private static partial void LogResolverDown(ILogger logger, int round, string reason, string lastJudged);

    [LoggerMessage(EventId = 411, Level = LogLevel.Information,
        Message = "round {Round}: the local resolver answers again after {DownRounds} round(s) down; compared with {LastJudged}")]
    private static partial void LogResolverBack(ILogger logger, int round, int downRounds, string lastJudged);
}
