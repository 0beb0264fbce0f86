namespace Rampart.Core.TlsRpt;

/// <summary>When reports go out and how long they are retried (<c>tlsrpt_reporting.spread</c> and the fixed rules).</summary>
public sealed record TlsRptSendSettings
{
    /// <summary>Each report is due at a random moment within this time after the UTC midnight that ends its day (RFC 8460 §4.1 asks for a spread).</summary>
    public TimeSpan Spread { get; init; } = TimeSpan.FromHours(4);

    /// <summary>How long after its due time a report is retried before it is given up (RFC 8460 §5: up to a day).</summary>
    public TimeSpan RetryFor { get; init; } = TimeSpan.FromHours(24);

    /// <summary>The wait after the first failed try; each further failure doubles it, up to <see cref="MaxRetryDelay"/>.</summary>
    public TimeSpan FirstRetryDelay { get; init; } = TimeSpan.FromMinutes(5);

    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromHours(4);

    /// <summary>How long a rua that refused for good (SMTP 5xx, HTTP 4xx) gets nothing.</summary>
    public TimeSpan SuppressFor { get; init; } = TimeSpan.FromDays(30);

    /// <summary>
    /// How many finished UTC days of session counts are kept besides today's (<c>tlsrpt_reporting.keep_days</c>); older
    /// ones are purged. At least <see cref="MinKeepDays"/>: yesterday's counts must outlive the spread and the build.
    /// </summary>
    public int KeepDays { get; init; } = 14;

    public const int MinKeepDays = 2;
}

/// <summary>One rua tried (or skipped) for a report.</summary>
/// <param name="Rua">The URI.</param>
/// <param name="Result">The attempt's outcome; null when the rua was skipped (suppressed, or a scheme Rampart cannot deliver).</param>
/// <param name="Skipped">Why it was skipped, or null.</param>
public sealed record TlsRptAttempt(Uri Rua, TlsRptDeliveryResult? Result, string? Skipped = null);

/// <summary>What one send pass did with one due report.</summary>
public sealed record TlsRptSendOutcome(OutgoingTlsRptReport Report, TlsRptOutboxState State, IReadOnlyList<TlsRptAttempt> Attempts, string Detail, DateTimeOffset? NextTry);

/// <summary>
/// Sends the daily reports (RFC 8460 §4–5): builds each finished UTC day's reports from the session store into the
/// outbox, due at a random moment after midnight; when one is due, looks its rua up again (no record: dropped; an
/// invalid record: dropped, never sent; a DNS error: kept), tries the ruas in their order until one accepts (suppressed
/// ruas skipped; a permanent refusal suppresses the rua), and retries with a doubling delay for a day. Every outcome is
/// written to the outbox before the next report is tried, so a restart resumes where it stopped.
/// </summary>
public sealed class TlsRptSender
{
    /// <summary>How long a claimed report is held by the sender trying it (longer than a try's timeouts).</summary>
    public static readonly TimeSpan ClaimLease = TimeSpan.FromMinutes(10);

    private readonly ITlsSessionStore _sessions;
    private readonly ITlsRptOutbox _outbox;
    private readonly TlsRptRuaLookup _lookup;
    private readonly Dictionary<string, ITlsRptDelivery> _deliveries;
    private readonly TlsRptReporter _reporter;
    private readonly TlsRptSendSettings _settings;
    private readonly TimeProvider _time;
    private readonly Random _random;

    public TlsRptSender(ITlsSessionStore sessions, ITlsRptOutbox outbox, TlsRptRuaLookup lookup, IEnumerable<ITlsRptDelivery> deliveries,
        TlsRptReporter reporter, TlsRptSendSettings settings, TimeProvider time, Random? random = null)
    {
        ArgumentNullException.ThrowIfNull(deliveries);
        _sessions = sessions;
        _outbox = outbox;
        _lookup = lookup;
        _deliveries = deliveries.ToDictionary(d => d.Scheme, StringComparer.Ordinal);
        _reporter = reporter;
        _settings = settings;
        _time = time;
        _random = random ?? Random.Shared;
    }

    /// <summary>The reports <paramref name="day"/>'s counts give now (nothing is queued or sent).</summary>
    public async Task<IReadOnlyList<OutgoingTlsRptReport>> BuildAsync(DateOnly day, CancellationToken cancellationToken) =>
        TlsRptReportBuilder.Build(day, await _sessions.ReadDayAsync(day, null, cancellationToken).ConfigureAwait(false), _reporter);

    /// <summary>
    /// Builds and queues the reports of every finished UTC day with counts that is not queued yet, each due at midnight
    /// plus a random part of the spread; or of <paramref name="day"/> only, due now. Returns the reports queued.
    /// </summary>
    public async Task<IReadOnlyList<OutgoingTlsRptReport>> QueueAsync(DateOnly? day, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var today = DateOnly.FromDateTime(now.UtcDateTime);
        var days = day is { } only ? [only] : (await _sessions.DaysAsync(cancellationToken).ConfigureAwait(false)).Where(d => d < today).ToList();
        var queued = new List<OutgoingTlsRptReport>();
        foreach (var d in days)
        {
            if (await _outbox.IsDayQueuedAsync(d, cancellationToken).ConfigureAwait(false))
            {
                continue;
            }
            var reports = await BuildAsync(d, cancellationToken).ConfigureAwait(false);
            var midnight = new DateTimeOffset(d.AddDays(1).ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
            var due = reports.Select(r => (r, day is null ? midnight + _random.NextDouble() * _settings.Spread : now)).ToList();
            if (await _outbox.QueueDayAsync(d, due, cancellationToken).ConfigureAwait(false))
            {
                queued.AddRange(reports);
            }
        }
        return queued;
    }

    /// <summary>
    /// Deletes the session counts of the days before the last <see cref="TlsRptSendSettings.KeepDays"/> finished ones
    /// (their reports were built long ago, or will never be: RFC 8460 reports are due within a day). Returns the first day
    /// kept and how many policy rows went.
    /// </summary>
    public async Task<(DateOnly Kept, int Purged)> PurgeOldDaysAsync(CancellationToken cancellationToken)
    {
        var kept = DateOnly.FromDateTime(_time.GetUtcNow().UtcDateTime).AddDays(-Math.Max(_settings.KeepDays, TlsRptSendSettings.MinKeepDays));
        return (kept, await _sessions.PurgeBeforeAsync(kept, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>Tries every report that is due now; each outcome is in the outbox before the next report is tried.</summary>
    public async Task<IReadOnlyList<TlsRptSendOutcome>> SendDueAsync(CancellationToken cancellationToken)
    {
        var outcomes = new List<TlsRptSendOutcome>();
        foreach (var entry in await _outbox.DueAsync(_time.GetUtcNow(), cancellationToken).ConfigureAwait(false))
        {
            // Another sender beside this one (the daemon and 'rampart tlsrpt send') may have taken it meanwhile.
            if (await _outbox.ClaimAsync(entry.Id, entry.NextTry, _time.GetUtcNow() + ClaimLease, cancellationToken).ConfigureAwait(false))
            {
                outcomes.Add(await SendAsync(entry, cancellationToken).ConfigureAwait(false));
            }
        }
        return outcomes;
    }

    private async Task<TlsRptSendOutcome> SendAsync(TlsRptOutboxEntry entry, CancellationToken cancellationToken)
    {
        var report = entry.Report;
        var attempts = new List<TlsRptAttempt>();
        var answer = await _lookup.LookupAsync(report.ReportDomain, cancellationToken).ConfigureAwait(false);
        switch (answer.Status)
        {
            case TlsRptRuaStatus.NoRecord:
            case TlsRptRuaStatus.Invalid:
                return await FinishAsync(entry, TlsRptOutboxState.Dropped, attempts, answer.Detail, null, cancellationToken).ConfigureAwait(false);
            case TlsRptRuaStatus.LookupError:
                return await RetryAsync(entry, attempts, answer.Detail, cancellationToken).ConfigureAwait(false);
        }
        var permanent = 0;
        foreach (var rua in answer.Record!.Rua)
        {
            var key = rua.OriginalString;
            if (!_deliveries.TryGetValue(rua.Scheme, out var delivery))
            {
                attempts.Add(new TlsRptAttempt(rua, null, $"no {rua.Scheme}: delivery configured"));
                permanent++;
                continue;
            }
            if (await _outbox.SuppressionAsync(key, _time.GetUtcNow(), cancellationToken).ConfigureAwait(false) is { } suppressed)
            {
                attempts.Add(new TlsRptAttempt(rua, null, $"suppressed until {suppressed.Until:yyyy-MM-dd HH:mm}Z ({suppressed.Reason})"));
                permanent++;
                continue;
            }
            var result = await delivery.DeliverAsync(rua, report, cancellationToken).ConfigureAwait(false);
            attempts.Add(new TlsRptAttempt(rua, result));
            if (result.Status == TlsRptDeliveryStatus.Accepted)
            {
                return await FinishAsync(entry, TlsRptOutboxState.Sent, attempts, result.Detail, key, cancellationToken).ConfigureAwait(false);
            }
            if (result.Status == TlsRptDeliveryStatus.PermanentFailure)
            {
                permanent++;
                await _outbox.SuppressAsync(new TlsRptSuppression(key, _time.GetUtcNow() + _settings.SuppressFor, result.Detail), cancellationToken).ConfigureAwait(false);
            }
        }
        var detail = string.Join("; ", attempts.Select(a => a.Result?.Detail ?? $"{a.Rua}: {a.Skipped}"));
        return permanent == attempts.Count
            ? await FinishAsync(entry, TlsRptOutboxState.Dropped, attempts, "no rua can take it: " + detail, null, cancellationToken).ConfigureAwait(false)
            : await RetryAsync(entry, attempts, detail, cancellationToken).ConfigureAwait(false);
    }

    private async Task<TlsRptSendOutcome> RetryAsync(TlsRptOutboxEntry entry, List<TlsRptAttempt> attempts, string detail, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var delay = _settings.FirstRetryDelay * Math.Pow(2, Math.Min(entry.Attempts, 20));
        var next = now + (delay > _settings.MaxRetryDelay ? _settings.MaxRetryDelay : delay);
        if (next > entry.DueAt + _settings.RetryFor)
        {
            return await FinishAsync(entry, TlsRptOutboxState.Expired, attempts, $"given up {_settings.RetryFor.TotalHours:0} h after it was due: {detail}", null, cancellationToken).ConfigureAwait(false);
        }
        await _outbox.UpdateAsync(entry.Id, TlsRptOutboxState.Pending, next, entry.Attempts + 1, detail, null, cancellationToken).ConfigureAwait(false);
        return new TlsRptSendOutcome(entry.Report, TlsRptOutboxState.Pending, attempts, detail, next);
    }

    private async Task<TlsRptSendOutcome> FinishAsync(TlsRptOutboxEntry entry, TlsRptOutboxState state, List<TlsRptAttempt> attempts, string detail, string? sentTo, CancellationToken cancellationToken)
    {
        await _outbox.UpdateAsync(entry.Id, state, entry.NextTry, entry.Attempts + 1, detail, sentTo, cancellationToken).ConfigureAwait(false);
        return new TlsRptSendOutcome(entry.Report, state, attempts, detail, null);
    }
}
