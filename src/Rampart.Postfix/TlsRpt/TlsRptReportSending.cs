using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Rampart.Core;
using Rampart.Core.Dns;
using Rampart.Core.Tls;
using Rampart.Core.TlsRpt;
using Rampart.Hosting;
using Rampart.Postfix.Config;
using Rampart.Storage.TlsRpt;

namespace Rampart.Postfix.TlsRpt;

/// <summary>
/// What the report sender did, for /metrics: reports built, each rua tried by scheme and outcome, and reports finished
/// by final state.
/// </summary>
internal sealed class TlsRptSendMetrics
{
    private readonly ConcurrentDictionary<(string Scheme, string Result), long> _deliveries = new();
    private readonly ConcurrentDictionary<string, long> _reports = new(StringComparer.Ordinal);
    private long _built;

    public void RecordBuilt(int reports) => Interlocked.Add(ref _built, reports);

    public void Record(TlsRptSendOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        foreach (var attempt in outcome.Attempts)
        {
            var result = attempt.Result?.Status switch
            {
                TlsRptDeliveryStatus.Accepted => "sent",
                TlsRptDeliveryStatus.PermanentFailure => "refused",
                TlsRptDeliveryStatus.TemporaryFailure => "failed",
                _ => "skipped",
            };
            _deliveries.AddOrUpdate((attempt.Rua.Scheme, result), 1, (_, n) => n + 1);
        }
        _reports.AddOrUpdate(SqliteTlsRptOutbox.StateName(outcome.State), 1, (_, n) => n + 1);
    }

    public long Built => Interlocked.Read(ref _built);

    /// <summary>Tries of <paramref name="scheme"/> ruas that ended as <paramref name="result"/> (sent, failed, refused, skipped).</summary>
    public long Deliveries(string scheme, string result) => _deliveries.TryGetValue((scheme, result), out var n) ? n : 0;

    public void Render(PrometheusText text)
    {
        ArgumentNullException.ThrowIfNull(text);
        text.Family("rampart_tlsrpt_reports_built_total", "counter", "TLS-RPT reports built from the day's session counts and queued for sending.");
        text.Sample("rampart_tlsrpt_reports_built_total", Built);
        text.Family("rampart_tlsrpt_report_deliveries_total", "counter",
            "Tries to hand a report to a rua, by scheme (mailto, https) and result: sent, failed (retried), refused (rua suppressed), skipped (suppressed).");
        foreach (var scheme in new[] { "mailto", "https" })
        {
            foreach (var result in new[] { "sent", "failed", "refused", "skipped" })
            {
                text.Sample("rampart_tlsrpt_report_deliveries_total", [("scheme", scheme), ("result", result)], Deliveries(scheme, result));
            }
        }
        text.Family("rampart_tlsrpt_report_outcomes_total", "counter",
            "Send passes over a due report, by the state it was left in: sent, pending (retry later), dropped (no or invalid record, every rua refused), expired.");
        foreach (var state in new[] { "sent", "pending", "dropped", "expired" })
        {
            text.Sample("rampart_tlsrpt_report_outcomes_total", [("state", state)], _reports.TryGetValue(state, out var n) ? n : 0);
        }
    }
}

/// <summary>
/// The report sender with what it needs opened: the session store, the outbox and the deliveries (mail to the local MTA,
/// HTTPS POST), from <c>tlsrpt_reporting</c>. Used by <c>rampart tlsrpt send</c> once and by the daemon on schedule.
/// </summary>
internal sealed partial class TlsRptReportSending : IAsyncDisposable
{
    /// <summary>How often the daemon looks for reports to build and send.</summary>
    public static readonly TimeSpan Period = TimeSpan.FromMinutes(1);

    private readonly ITlsSessionStore? _ownedSessions;
    private readonly ITlsRptOutbox _outbox;
    private readonly TlsRptHttpsDelivery _https;
    private readonly TimeProvider _time;
    private DateOnly? _purgedOn;

    private TlsRptReportSending(TlsRptSender sender, ITlsSessionStore? ownedSessions, ITlsRptOutbox outbox, TlsRptHttpsDelivery https, bool signed, TimeProvider time)
    {
        Sender = sender;
        _ownedSessions = ownedSessions;
        _outbox = outbox;
        _https = https;
        Signed = signed;
        _time = time;
    }

    public TlsRptSender Sender { get; }

    public ITlsRptOutbox Outbox => _outbox;

    /// <summary>True when mailed reports are DKIM-signed.</summary>
    public bool Signed { get; }

    /// <summary>
    /// Opens the outbox in <paramref name="stateDirectory"/> and builds the deliveries; <paramref name="sessions"/> is the
    /// session store to read (null: opened here, in the state directory, and closed with this).
    /// </summary>
    /// <exception cref="RampartException">No <c>sender_address</c>; the DKIM key unusable; a store that cannot be opened.</exception>
    public static async Task<TlsRptReportSending> OpenAsync(TlsRptReportingConfig config, string stateDirectory, ITlsSessionStore? sessions,
        IDnsResolver dns, TrustAnchors anchors, TimeProvider time, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.Mail is not { } mail)
        {
            throw new RampartException("tlsrpt_reporting.sender_address is not set: reports have no sender (docs/tlsrpt-sending.md)");
        }
        var mailer = new TlsRptMailDelivery(mail, time);
        var https = new TlsRptHttpsDelivery(dns, new WebPkiValidator(anchors, time), TimeSpan.FromMinutes(2));
        ITlsSessionStore? owned = null;
        ITlsRptOutbox? outbox = null;
        try
        {
            if (sessions is null)
            {
                sessions = owned = await TlsRptStores.OpenSessionsAsync(config.SharedStore, stateDirectory, time, cancellationToken).ConfigureAwait(false);
            }
            outbox = await TlsRptStores.OpenOutboxAsync(config.SharedStore, stateDirectory, cancellationToken).ConfigureAwait(false);
            var sender = new TlsRptSender(sessions, outbox, new TlsRptRuaLookup(dns), [mailer, https], config.Reporter(mail.Sender.Domain),
                new TlsRptSendSettings { Spread = config.Spread, KeepDays = config.KeepDays }, time);
            return new TlsRptReportSending(sender, owned, outbox, https, mail.Dkim is not null, time);
        }
        catch
        {
            https.Dispose();
            if (owned is not null)
            {
                await owned.DisposeAsync().ConfigureAwait(false);
            }
            if (outbox is not null)
            {
                await outbox.DisposeAsync().ConfigureAwait(false);
            }
            throw;
        }
    }

    /// <summary>
    /// One pass: queue the finished days (or <paramref name="day"/>), then send what is due, each outcome logged and
    /// counted; then, on the first pass of each UTC day, purge the session counts older than <c>keep_days</c>.
    /// </summary>
    public async Task<(IReadOnlyList<OutgoingTlsRptReport> Queued, IReadOnlyList<TlsRptSendOutcome> Outcomes)> RunOnceAsync(
        DateOnly? day, TlsRptSendMetrics metrics, ILogger log, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        var queued = await Sender.QueueAsync(day, cancellationToken).ConfigureAwait(false);
        metrics.RecordBuilt(queued.Count);
        foreach (var day_ in queued.GroupBy(r => r.Day))
        {
            LogQueued(log, day_.Count(), day_.Key.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture));
        }
        var outcomes = await Sender.SendDueAsync(cancellationToken).ConfigureAwait(false);
        foreach (var outcome in outcomes)
        {
            metrics.Record(outcome);
            var id = outcome.Report.Report.ReportId;
            switch (outcome.State)
            {
                case TlsRptOutboxState.Sent:
                    LogSent(log, id, outcome.Report.ReportDomain, outcome.Attempts[^1].Rua.ToString(), outcome.Detail);
                    break;
                case TlsRptOutboxState.Pending:
                    LogRetry(log, id, outcome.Report.ReportDomain, outcome.NextTry!.Value.ToString("u", System.Globalization.CultureInfo.InvariantCulture), outcome.Detail);
                    break;
                default:
                    LogGivenUp(log, id, outcome.Report.ReportDomain, SqliteTlsRptOutbox.StateName(outcome.State), outcome.Detail);
                    break;
            }
        }
        var today = DateOnly.FromDateTime(_time.GetUtcNow().UtcDateTime);
        if (_purgedOn != today)
        {
            var (kept, purged) = await Sender.PurgeOldDaysAsync(cancellationToken).ConfigureAwait(false);
            _purgedOn = today;
            if (purged > 0)
            {
                LogPurged(log, purged, kept.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture));
            }
        }
        return (queued, outcomes);
    }

    /// <summary>The daemon's loop: a pass every <see cref="Period"/> until <paramref name="stop"/>; a store fault is logged and tried again.</summary>
    public async Task RunPeriodicallyAsync(TlsRptSendMetrics metrics, ILogger log, TimeProvider time, CancellationToken stop)
    {
        using var timer = new PeriodicTimer(Period, time);
        try
        {
            do
            {
                try
                {
                    await RunOnceAsync(null, metrics, log, stop).ConfigureAwait(false);
                }
                catch (RampartException ex)
                {
                    LogFault(log, ex.Message);
                }
            }
            while (await timer.WaitForNextTickAsync(stop).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        _https.Dispose();
        await _outbox.DisposeAsync().ConfigureAwait(false);
        if (_ownedSessions is not null)
        {
            await _ownedSessions.DisposeAsync().ConfigureAwait(false);
        }
    }

    [LoggerMessage(EventId = 380, Level = LogLevel.Information, Message = "TLS-RPT: {Count} report(s) of {Day} built and queued")]
    private static partial void LogQueued(ILogger logger, int count, string day);

    [LoggerMessage(EventId = 381, Level = LogLevel.Information, Message = "TLS-RPT report {ReportId} for {Domain} sent to {Rua}: {Detail}")]
    private static partial void LogSent(ILogger logger, string reportId, string domain, string rua, string detail);

    [LoggerMessage(EventId = 382, Level = LogLevel.Warning, Message = "TLS-RPT report {ReportId} for {Domain} not sent, next try {NextTry}: {Detail}")]
    private static partial void LogRetry(ILogger logger, string reportId, string domain, string nextTry, string detail);

    [LoggerMessage(EventId = 383, Level = LogLevel.Warning, Message = "TLS-RPT report {ReportId} for {Domain} {State}: {Detail}")]
    private static partial void LogGivenUp(ILogger logger, string reportId, string domain, string state, string detail);

    [LoggerMessage(EventId = 385, Level = LogLevel.Information, Message = "TLS-RPT: session counts of {Rows} policy row(s) before {Kept} purged (keep_days)")]
    private static partial void LogPurged(ILogger logger, int rows, string kept);

    [LoggerMessage(EventId = 384, Level = LogLevel.Error, Message = "TLS-RPT reports cannot be built or sent now, trying again in a minute: {Message}")]
    private static partial void LogFault(ILogger logger, string message);
}
