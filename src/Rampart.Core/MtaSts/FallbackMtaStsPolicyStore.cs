namespace Rampart.Core.MtaSts;

/// <summary>
/// A persistent store (SQLite in the state directory, or Redis for a fleet) with a process-local copy behind it, so a
/// fault of the persistent store (a full disk, a read-only file system, a Redis outage) never changes an answer: a
/// policy that was fetched and validated is served whether or not it could be written. A write the store refuses is
/// kept in the local copy (until a later write of that domain succeeds); a read the store cannot answer is answered
/// from the local copy. With <paramref name="mirrorReads"/> (a shared store that may go away for a while, Redis) every
/// policy this process reads is kept locally too; without it (a local file) only what could not be written is.
/// Faults are reported through <paramref name="onFault"/>: once when the store starts failing, again every
/// <see cref="ReminderInterval"/> while it keeps failing, and once with a null message when it recovers. Every failed
/// operation is counted (<see cref="Faults"/>, for /metrics).
/// </summary>
public sealed class FallbackMtaStsPolicyStore(
    IPersistentMtaStsPolicyStore shared,
    InMemoryMtaStsPolicyStore local,
    Action<string?> onFault,
    bool mirrorReads = true,
    TimeProvider? time = null)
    : IPersistentMtaStsPolicyStore
{
    /// <summary>While the store keeps failing, the fault is reported again this often (not once per lookup).</summary>
    public static readonly TimeSpan ReminderInterval = TimeSpan.FromMinutes(10);

    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private int _failing;
    private long _faults;
    private long _lastReportTicks;

    public string Location => shared.Location;

    /// <summary>True while the persistent store is failing.</summary>
    public bool IsDegraded => Volatile.Read(ref _failing) != 0;

    /// <summary>Operations the persistent store failed since start.</summary>
    public long Faults => Interlocked.Read(ref _faults);

    public async ValueTask<CachedMtaStsPolicy?> GetAsync(string domain, CancellationToken cancellationToken)
    {
        if (!mirrorReads && await local.GetAsync(domain, cancellationToken).ConfigureAwait(false) is { } unwritten)
        {
            return unwritten; // newer than anything the store holds: its write failed
        }
        try
        {
            var entry = await shared.GetAsync(domain, cancellationToken).ConfigureAwait(false);
            Recovered();
            if (entry is not null && mirrorReads)
            {
                local.Mirror(entry);
            }
            return entry ?? (mirrorReads ? await local.GetAsync(domain, cancellationToken).ConfigureAwait(false) : null);
        }
        catch (RampartException ex)
        {
            Failed(ex, "read");
            return await local.GetAsync(domain, cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask<CachedMtaStsPolicy> SetAsync(CachedMtaStsPolicy entry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var stored = mirrorReads ? await local.SetAsync(entry, cancellationToken).ConfigureAwait(false) : entry;
        try
        {
            stored = await shared.SetAsync(entry, cancellationToken).ConfigureAwait(false);
            Recovered();
            if (mirrorReads)
            {
                local.Mirror(stored);
            }
            else
            {
                local.Remove(entry.Domain);
            }
        }
        catch (RampartException ex)
        {
            Failed(ex, "write");
            if (!mirrorReads)
            {
                stored = await local.SetAsync(entry, cancellationToken).ConfigureAwait(false);
            }
        }
        return stored;
    }

    /// <summary>
    /// Sets the verdict in the store and in the local copy. When the store fails, a verdict can be kept only where the
    /// local copy holds the domain's entry (always with mirrored reads).
    /// </summary>
    public async ValueTask SetDaneVerdictAsync(string domain, bool decidedWithoutDane, CancellationToken cancellationToken)
    {
        await local.SetDaneVerdictAsync(domain, decidedWithoutDane, cancellationToken).ConfigureAwait(false);
        try
        {
            await shared.SetDaneVerdictAsync(domain, decidedWithoutDane, cancellationToken).ConfigureAwait(false);
            Recovered();
        }
        catch (RampartException ex)
        {
            Failed(ex, "write");
        }
    }

    public async ValueTask<int> CountAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            return await shared.CountAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (RampartException ex)
        {
            Failed(ex, "count");
            return local.Count;
        }
    }

    public ValueTask<int> PurgeExpiredAsync(CancellationToken cancellationToken = default) => shared.PurgeExpiredAsync(cancellationToken);

    public IAsyncEnumerable<CachedMtaStsPolicy> EnumerateValidAsync(CancellationToken cancellationToken = default) => shared.EnumerateValidAsync(cancellationToken);

    public ValueTask DisposeAsync() => shared.DisposeAsync();

    private void Failed(RampartException ex, string operation)
    {
        Interlocked.Increment(ref _faults);
        long now = _time.GetTimestamp();
        long last = Interlocked.Read(ref _lastReportTicks);
        bool started = Interlocked.Exchange(ref _failing, 1) == 0;
        // Due when the store starts failing or the reminder interval has passed; the thread that moves the last-report
        // time is the one that reports, so concurrent failures give one line.
        if ((started || _time.GetElapsedTime(last, now) >= ReminderInterval)
            && Interlocked.CompareExchange(ref _lastReportTicks, now, last) == last)
        {
            onFault($"{operation} failed: {ex.Message}; answering from this process's copy until it recovers ({Faults} failed operations so far)");
        }
    }

    private void Recovered()
    {
        if (Interlocked.Exchange(ref _failing, 0) != 0)
        {
            onFault(null);
        }
    }
}
