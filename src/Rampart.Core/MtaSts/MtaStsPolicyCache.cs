using System.Collections.Concurrent;

namespace Rampart.Core.MtaSts;

/// <summary>
/// A policy as cached per RFC 8461 §5: valid until <see cref="ExpiresAt"/> (fetch time + max_age) whatever DNS says
/// meanwhile; <see cref="CheckedAt"/> is when the TXT id was last compared.
/// </summary>
public sealed record CachedMtaStsPolicy(
    string Domain,
    string Id,
    MtaStsPolicy Policy,
    DateTimeOffset FetchedAt,
    DateTimeOffset ExpiresAt,
    DateTimeOffset CheckedAt)
{
    public bool IsValidAt(DateTimeOffset now) => now < ExpiresAt;

    /// <summary>
    /// The domain's last full sender decision found that DANE does not apply, so this policy was its answer and may
    /// answer first: before the next full decision (the daemon's cache-first answer after a restart) and while the MX
    /// lookup fails. False for a policy fetched beside a decision DANE made (RFC 8461 §2: it is cached, never used for
    /// that domain), and while the domain's DANE verdict is unknown. A policy fetched anew keeps the flag of the
    /// domain's previous entry: the store keeps it (<see cref="IMtaStsPolicyStore.SetAsync"/>), and only
    /// <see cref="IMtaStsPolicyStore.SetDaneVerdictAsync"/> changes it.
    /// </summary>
    public bool DecidedWithoutDane { get; init; }
}

/// <summary>Where cached policies live: in memory for tests and one-shot commands; SQLite and Redis in Rampart.Storage.</summary>
public interface IMtaStsPolicyStore
{
    ValueTask<CachedMtaStsPolicy?> GetAsync(string domain, CancellationToken cancellationToken);

    /// <summary>
    /// Stores a policy for <see cref="CachedMtaStsPolicy.Domain"/> and returns it as stored. The domain's DANE verdict
    /// (<see cref="CachedMtaStsPolicy.DecidedWithoutDane"/>) belongs to the store: replacing an entry keeps the verdict
    /// stored with it, whatever the new entry says (a refresh that read the entry before a full decision changed the
    /// verdict cannot write the old one back); the entry's own verdict counts only for a domain with no entry.
    /// </summary>
    ValueTask<CachedMtaStsPolicy> SetAsync(CachedMtaStsPolicy entry, CancellationToken cancellationToken);

    /// <summary>Sets the DANE verdict of the domain's stored entry, if there is one (nothing is stored otherwise).</summary>
    ValueTask SetDaneVerdictAsync(string domain, bool decidedWithoutDane, CancellationToken cancellationToken);
}

/// <summary>
/// A store the daemon keeps across restarts (SQLite in the state directory, Redis shared by a fleet): what the daemon
/// needs beyond get/set to show its size, purge and refresh cached policies before they expire.
/// </summary>
public interface IPersistentMtaStsPolicyStore : IMtaStsPolicyStore, IAsyncDisposable
{
    /// <summary>Where the entries live, for logs: a file path or a server address (never a password).</summary>
    string Location { get; }

    /// <summary>How many entries are stored (expired ones may be included until purged).</summary>
    ValueTask<int> CountAsync(CancellationToken cancellationToken = default);

    /// <summary>Deletes entries expired now; returns how many (0 where the store expires entries itself).</summary>
    ValueTask<int> PurgeExpiredAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Every entry still valid now, read a page at a time: only one page is held in memory, and the store is not held
    /// while the caller works on an entry (it may read and write the store meanwhile). Unreadable entries are dropped
    /// and left out.
    /// </summary>
    IAsyncEnumerable<CachedMtaStsPolicy> EnumerateValidAsync(CancellationToken cancellationToken = default);
}

/// <summary>A process-local store. Bounded: when full, expired entries are purged first, then the oldest fetched.</summary>
public sealed class InMemoryMtaStsPolicyStore(int capacity = 100_000) : IMtaStsPolicyStore
{
    private readonly ConcurrentDictionary<string, CachedMtaStsPolicy> _entries = new(StringComparer.OrdinalIgnoreCase);

    public int Count => _entries.Count;

    public ValueTask<CachedMtaStsPolicy?> GetAsync(string domain, CancellationToken cancellationToken) =>
        ValueTask.FromResult(_entries.GetValueOrDefault(domain));

    public ValueTask<CachedMtaStsPolicy> SetAsync(CachedMtaStsPolicy entry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        MakeRoomFor(entry);
        return ValueTask.FromResult(_entries.AddOrUpdate(entry.Domain, entry,
            (_, stored) => entry with { DecidedWithoutDane = stored.DecidedWithoutDane }));
    }

    public ValueTask SetDaneVerdictAsync(string domain, bool decidedWithoutDane, CancellationToken cancellationToken)
    {
        while (_entries.TryGetValue(domain, out var stored) && stored.DecidedWithoutDane != decidedWithoutDane
               && !_entries.TryUpdate(domain, stored with { DecidedWithoutDane = decidedWithoutDane }, stored))
        {
            // replaced meanwhile: set the verdict on what is stored now
        }
        return ValueTask.CompletedTask;
    }

    /// <summary>Holds a copy of another store's entry exactly as it is there, its DANE verdict included.</summary>
    public void Mirror(CachedMtaStsPolicy entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        MakeRoomFor(entry);
        _entries[entry.Domain] = entry;
    }

    /// <summary>Forgets a domain's entry (false when there was none).</summary>
    public bool Remove(string domain) => _entries.TryRemove(domain, out _);

    private void MakeRoomFor(CachedMtaStsPolicy entry)
    {
        if (_entries.Count >= capacity && !_entries.ContainsKey(entry.Domain))
        {
            Evict(entry.CheckedAt);
        }
    }

    private void Evict(DateTimeOffset now)
    {
        foreach (var (domain, cached) in _entries)
        {
            if (!cached.IsValidAt(now))
            {
                _entries.TryRemove(domain, out _);
            }
        }
        while (_entries.Count >= capacity)
        {
            var oldest = _entries.Values.MinBy(e => e.FetchedAt);
            if (oldest is null || !_entries.TryRemove(oldest.Domain, out _))
            {
                break;
            }
        }
    }
}
