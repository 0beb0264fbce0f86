namespace Rampart.Core.MtaSts;

/// <summary>
/// A shared store (Redis for a fleet) with a process-local copy behind it, so an outage of the shared store never
/// turns into TEMP answers or forgotten policies: every policy this process reads or writes is also kept locally; a
/// read the shared store cannot answer is answered from the local copy, and a write it refuses is kept locally only.
/// Each fault is reported once per outage through <paramref name="onFault"/> (for a log line), and again once it
/// recovers with a null message.
/// </summary>
public sealed class FallbackMtaStsPolicyStore(IPersistentMtaStsPolicyStore shared, InMemoryMtaStsPolicyStore local, Action<string?> onFault)
    : IPersistentMtaStsPolicyStore
{
    private int _failing;

    public string Location => shared.Location;

    /// <summary>True while the shared store is failing.</summary>
    public bool IsDegraded => Volatile.Read(ref _failing) != 0;

    public async ValueTask<CachedMtaStsPolicy?> GetAsync(string domain, CancellationToken cancellationToken)
    {
        try
        {
            var entry = await shared.GetAsync(domain, cancellationToken).ConfigureAwait(false);
            Recovered();
            if (entry is not null)
            {
                await local.SetAsync(entry, cancellationToken).ConfigureAwait(false);
            }
            return entry ?? await local.GetAsync(domain, cancellationToken).ConfigureAwait(false);
        }
        catch (RampartException ex)
        {
            Failed(ex);
            return await local.GetAsync(domain, cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask SetAsync(CachedMtaStsPolicy entry, CancellationToken cancellationToken)
    {
        await local.SetAsync(entry, cancellationToken).ConfigureAwait(false);
        try
        {
            await shared.SetAsync(entry, cancellationToken).ConfigureAwait(false);
            Recovered();
        }
        catch (RampartException ex)
        {
            Failed(ex);
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
            Failed(ex);
            return local.Count;
        }
    }

    public ValueTask<int> PurgeExpiredAsync(CancellationToken cancellationToken = default) => shared.PurgeExpiredAsync(cancellationToken);

    public ValueTask<IReadOnlyList<CachedMtaStsPolicy>> LoadAllValidAsync(CancellationToken cancellationToken = default) => shared.LoadAllValidAsync(cancellationToken);

    public ValueTask DisposeAsync() => shared.DisposeAsync();

    private void Failed(RampartException ex)
    {
        if (Interlocked.Exchange(ref _failing, 1) == 0)
        {
            onFault(ex.Message + "; answering from this process's copy until it recovers");
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
