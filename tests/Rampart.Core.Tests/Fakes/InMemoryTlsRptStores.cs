using Rampart.Core.TlsRpt;

namespace Rampart.Core.Tests.Fakes;

/// <summary>A session store holding fixed day rows (the sender only reads days and counts).</summary>
internal sealed class FixedTlsSessionStore(IEnumerable<TlsSessionDayPolicy> rows) : ITlsSessionStore
{
    private readonly List<TlsSessionDayPolicy> _rows = [.. rows];

    public string Location => "memory";

    public Task<int> AddAsync(string source, IReadOnlyList<TlsSessionEntry> entries, string? cursor, CancellationToken cancellationToken) =>
        throw new NotSupportedException();

    public Task<string?> ReadCursorAsync(string source, CancellationToken cancellationToken) => Task.FromResult<string?>(null);

    public Task<IReadOnlyList<DateOnly>> DaysAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<DateOnly>>([.. _rows.Select(r => r.Day).Distinct().Order()]);

    public Task<IReadOnlyList<TlsSessionDayPolicy>> ReadDayAsync(DateOnly day, string? reportDomain, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<TlsSessionDayPolicy>>([.. _rows.Where(r => r.Day == day && (reportDomain is null || r.ReportDomain == reportDomain))]);

    public Task<int> PurgeBeforeAsync(DateOnly day, CancellationToken cancellationToken) => Task.FromResult(_rows.RemoveAll(r => r.Day < day));

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

/// <summary>An outbox in memory, with the SQLite outbox's semantics (tests of the sender's decisions).</summary>
internal sealed class InMemoryTlsRptOutbox : ITlsRptOutbox
{
    private readonly HashSet<DateOnly> _days = [];
    private readonly Dictionary<string, TlsRptSuppression> _suppressed = new(StringComparer.Ordinal);

    public List<TlsRptOutboxEntry> Entries { get; } = [];

    public string Location => "memory";

    public Task<bool> IsDayQueuedAsync(DateOnly day, CancellationToken cancellationToken) => Task.FromResult(_days.Contains(day));

    public Task<bool> QueueDayAsync(DateOnly day, IReadOnlyList<(OutgoingTlsRptReport Report, DateTimeOffset DueAt)> reports, CancellationToken cancellationToken)
    {
        if (!_days.Add(day))
        {
            return Task.FromResult(false);
        }
        foreach (var (report, due) in reports)
        {
            Entries.Add(new TlsRptOutboxEntry(Entries.Count + 1, report, due, due, 0, TlsRptOutboxState.Pending, null, null));
        }
        return Task.FromResult(true);
    }

    public Task<IReadOnlyList<TlsRptOutboxEntry>> DueAsync(DateTimeOffset now, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<TlsRptOutboxEntry>>([.. Entries.Where(e => e.State == TlsRptOutboxState.Pending && e.NextTry <= now).OrderBy(e => e.NextTry)]);

    public Task<IReadOnlyList<TlsRptOutboxEntry>> ListAsync(DateOnly? day, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<TlsRptOutboxEntry>>([.. Entries.Where(e => day is null || e.Report.Day == day)]);

    public Task<bool> ClaimAsync(long id, DateTimeOffset expectedNextTry, DateTimeOffset leaseUntil, CancellationToken cancellationToken)
    {
        var i = Entries.FindIndex(e => e.Id == id && e.State == TlsRptOutboxState.Pending && e.NextTry == expectedNextTry);
        if (i >= 0)
        {
            Entries[i] = Entries[i] with { NextTry = leaseUntil };
        }
        return Task.FromResult(i >= 0);
    }

    public Task UpdateAsync(long id, TlsRptOutboxState state, DateTimeOffset nextTry, int attempts, string? detail, string? sentTo, CancellationToken cancellationToken)
    {
        var i = Entries.FindIndex(e => e.Id == id);
        Entries[i] = Entries[i] with { State = state, NextTry = nextTry, Attempts = attempts, Detail = detail, SentTo = sentTo };
        return Task.CompletedTask;
    }

    public Task<TlsRptSuppression?> SuppressionAsync(string rua, DateTimeOffset now, CancellationToken cancellationToken) =>
        Task.FromResult(_suppressed.TryGetValue(rua, out var s) && s.Until > now ? s : null);

    public Task SuppressAsync(TlsRptSuppression suppression, CancellationToken cancellationToken)
    {
        _suppressed[suppression.Rua] = suppression;
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<TlsRptSuppression>> SuppressionsAsync(DateTimeOffset now, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<TlsRptSuppression>>([.. _suppressed.Values.Where(s => s.Until > now).OrderBy(s => s.Rua, StringComparer.Ordinal)]);

    public Task<bool> ClearSuppressionAsync(string rua, DateTimeOffset now, CancellationToken cancellationToken) =>
        Task.FromResult(_suppressed.Remove(rua, out var s) && s.Until > now);

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

/// <summary>A delivery that answers from a script per rua (default: accepted) and records every call.</summary>
internal sealed class ScriptedTlsRptDelivery(string scheme) : ITlsRptDelivery
{
    private readonly Dictionary<string, Queue<TlsRptDeliveryResult>> _script = new(StringComparer.Ordinal);

    public List<(Uri Rua, OutgoingTlsRptReport Report)> Calls { get; } = [];

    public string Scheme => scheme;

    public ScriptedTlsRptDelivery Answer(string rua, params TlsRptDeliveryResult[] results)
    {
        _script[rua] = new Queue<TlsRptDeliveryResult>(results);
        return this;
    }

    public Task<TlsRptDeliveryResult> DeliverAsync(Uri rua, OutgoingTlsRptReport report, CancellationToken cancellationToken)
    {
        Calls.Add((rua, report));
        return Task.FromResult(_script.TryGetValue(rua.OriginalString, out var queue) && queue.Count > 0
            ? queue.Dequeue()
            : TlsRptDeliveryResult.Accepted("250 ok"));
    }
}
