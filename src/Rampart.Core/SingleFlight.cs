using System.Collections.Concurrent;

namespace Rampart.Core;

/// <summary>
/// At most one run of some work per key at a time: callers that ask for a key while its work runs share that run's
/// task. The run is not tied to any caller's token (one caller giving up, with <c>WaitAsync(token)</c> on the shared
/// task, does not cancel it for the others); it ends with its work, and its outcome, value or exception, reaches every
/// caller. Once it has completed the key is free: the next caller starts a new run.
/// </summary>
internal sealed class SingleFlight<TKey, T>(IEqualityComparer<TKey>? comparer = null)
    where TKey : notnull
{
    private readonly ConcurrentDictionary<TKey, Lazy<Task<T>>> _inFlight = new(comparer);

    /// <summary>How many keys have a run in flight.</summary>
    public int Count => _inFlight.Count;

    /// <summary>The run in flight for <paramref name="key"/>, or a new run of <paramref name="work"/> when there is none.</summary>
    /// <param name="joined">True when the caller joined a run already in flight (its <paramref name="work"/> is not called).</param>
    /// <returns>The shared run: it completes when the work does (a synchronous throw becomes a faulted task).</returns>
    public Task<T> Run(TKey key, Func<TKey, Task<T>> work, out bool joined)
    {
        ArgumentNullException.ThrowIfNull(work);
        Lazy<Task<T>>? mine = null;
        mine = new Lazy<Task<T>>(() => RunThenFreeAsync(key, work, mine!));
        var running = _inFlight.GetOrAdd(key, mine);
        joined = !ReferenceEquals(running, mine);
        return running.Value;
    }

    /// <summary>The run in flight for <paramref name="key"/>, null when none is.</summary>
    public Task<T>? InFlight(TKey key) => _inFlight.TryGetValue(key, out var running) ? running.Value : null;

    /// <summary>The key is freed before the run's task completes, so whoever sees it complete can start the next run.</summary>
    private async Task<T> RunThenFreeAsync(TKey key, Func<TKey, Task<T>> work, Lazy<Task<T>> run)
    {
        try
        {
            return await work(key).ConfigureAwait(false);
        }
        finally
        {
            _inFlight.TryRemove(new KeyValuePair<TKey, Lazy<Task<T>>>(key, run));
        }
    }
}
