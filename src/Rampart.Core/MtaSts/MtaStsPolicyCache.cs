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
}

/// <summary>Where cached policies live: in memory for tests and one-shot commands; SQLite and Redis in Rampart.Storage.</summary>
public interface IMtaStsPolicyStore
{
    ValueTask<CachedMtaStsPolicy?> GetAsync(string domain, CancellationToken cancellationToken);

    ValueTask SetAsync(CachedMtaStsPolicy entry, CancellationToken cancellationToken);
}

/// <summary>A process-local store. Bounded: when full, expired entries are purged first, then the oldest fetched.</summary>
public sealed class InMemoryMtaStsPolicyStore(int capacity = 100_000) : IMtaStsPolicyStore
{
    private readonly ConcurrentDictionary<string, CachedMtaStsPolicy> _entries = new(StringComparer.OrdinalIgnoreCase);

    public int Count => _entries.Count;

    public ValueTask<CachedMtaStsPolicy?> GetAsync(string domain, CancellationToken cancellationToken) =>
        ValueTask.FromResult(_entries.GetValueOrDefault(domain));

    public ValueTask SetAsync(CachedMtaStsPolicy entry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (_entries.Count >= capacity && !_entries.ContainsKey(entry.Domain))
        {
            Evict(entry.CheckedAt);
        }
        _entries[entry.Domain] = entry;
        return ValueTask.CompletedTask;
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
