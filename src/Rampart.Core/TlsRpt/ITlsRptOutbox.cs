namespace Rampart.Core.TlsRpt;

/// <summary>Where a built report stands.</summary>
public enum TlsRptOutboxState
{
    /// <summary>Waiting for its time or its next try.</summary>
    Pending,

    /// <summary>A rua accepted it.</summary>
    Sent,

    /// <summary>Not to be sent: no TLSRPT record now, an invalid one, or every rua refused for good or suppressed.</summary>
    Dropped,

    /// <summary>Still not accepted 24 hours after it was due: given up.</summary>
    Expired,
}

/// <summary>A built report in the outbox, and how its delivery went so far.</summary>
/// <param name="Id">The outbox's key.</param>
/// <param name="Report">The report (its JSON, read back).</param>
/// <param name="DueAt">When it is first sent (midnight plus the random spread).</param>
/// <param name="NextTry">When it is tried next (the due time until a try failed).</param>
/// <param name="Attempts">How many tries were made.</param>
/// <param name="State">Where it stands.</param>
/// <param name="Detail">The last try's outcome, one line; null before the first.</param>
/// <param name="SentTo">The rua that accepted it.</param>
public sealed record TlsRptOutboxEntry(
    long Id,
    OutgoingTlsRptReport Report,
    DateTimeOffset DueAt,
    DateTimeOffset NextTry,
    int Attempts,
    TlsRptOutboxState State,
    string? Detail,
    string? SentTo);

/// <summary>A rua that refused for good, and until when nothing is sent to it.</summary>
public sealed record TlsRptSuppression(string Rua, DateTimeOffset Until, string Reason);

/// <summary>
/// The reports built from the session store and their delivery state, persisted so that a restart neither loses a
/// report nor sends one again, and the ruas suppressed after a permanent refusal.
/// </summary>
public interface ITlsRptOutbox : IAsyncDisposable
{
    /// <summary>Where the outbox lives, for messages.</summary>
    string Location { get; }

    /// <summary>True when <paramref name="day"/>'s reports were built and queued.</summary>
    Task<bool> IsDayQueuedAsync(DateOnly day, CancellationToken cancellationToken);

    /// <summary>
    /// Queues <paramref name="day"/>'s reports and marks the day queued, in one transaction; a day already queued is left
    /// as it is (returns false).
    /// </summary>
    Task<bool> QueueDayAsync(DateOnly day, IReadOnlyList<(OutgoingTlsRptReport Report, DateTimeOffset DueAt)> reports, CancellationToken cancellationToken);

    /// <summary>Pending reports whose next try is at or before <paramref name="now"/>, oldest first.</summary>
    Task<IReadOnlyList<TlsRptOutboxEntry>> DueAsync(DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Every report of <paramref name="day"/> (or of every day), oldest first.</summary>
    Task<IReadOnlyList<TlsRptOutboxEntry>> ListAsync(DateOnly? day, CancellationToken cancellationToken);

    /// <summary>
    /// Claims a due report for one try: moves its next try from <paramref name="expectedNextTry"/> to
    /// <paramref name="leaseUntil"/> and returns true, or returns false when another sender (the daemon, a
    /// <c>rampart tlsrpt send</c> beside it) claimed or finished it first. A sender killed during its try leaves the
    /// report due again when the lease ends.
    /// </summary>
    Task<bool> ClaimAsync(long id, DateTimeOffset expectedNextTry, DateTimeOffset leaseUntil, CancellationToken cancellationToken);

    /// <summary>Records a try's outcome.</summary>
    Task UpdateAsync(long id, TlsRptOutboxState state, DateTimeOffset nextTry, int attempts, string? detail, string? sentTo, CancellationToken cancellationToken);

    /// <summary>The suppression of <paramref name="rua"/> in force at <paramref name="now"/>, or null.</summary>
    Task<TlsRptSuppression?> SuppressionAsync(string rua, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Suppresses <paramref name="suppression"/>'s rua until its time (replacing an earlier one).</summary>
    Task SuppressAsync(TlsRptSuppression suppression, CancellationToken cancellationToken);

    /// <summary>Every suppression in force at <paramref name="now"/>, by rua.</summary>
    Task<IReadOnlyList<TlsRptSuppression>> SuppressionsAsync(DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Lifts the suppression of <paramref name="rua"/> (exactly as recorded); false when none was in force at <paramref name="now"/>.</summary>
    Task<bool> ClearSuppressionAsync(string rua, DateTimeOffset now, CancellationToken cancellationToken);
}
