using Microsoft.Extensions.Logging;
using Rampart.Core;
using Rampart.Core.TlsRpt;

namespace Rampart.Postfix.TlsRpt;

/// <summary>
/// Adds one source's batches to the session store for a background intake (the datagram collector, the log follower):
/// counts what committed in the metrics, and on a store fault logs it once (until it clears, then says so) and tries
/// again every second until it works or the intake stops.
/// </summary>
/// <remarks>
/// What a stop leaves is the caller's rule: the log follower keeps its cursor where it was (a restart reads those lines
/// again), the datagram collector counts the batch's datagrams dropped (nothing identifies a datagram to read again).
/// </remarks>
internal sealed class TlsSessionStoreWriter(
    ITlsSessionStore store, string source, TlsRptIntakeMetrics metrics, TimeProvider time, ILogger log,
    Action<ILogger, string> logFault, Action<ILogger, string> logRecovered)
{
    /// <summary>How long after a failed add it is tried again.</summary>
    public static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(1);

    private StoreFaultLatch _fault;

    /// <summary>The store's location, for messages.</summary>
    public string Location => store.Location;

    /// <summary>
    /// Adds <paramref name="entries"/> with <paramref name="cursor"/> in one transaction, trying again every second on a
    /// store fault. True once it committed; false when <paramref name="stop"/> came while the store was failing (one
    /// more try was made after the stop): nothing of the batch was counted, and LastFault says why.
    /// </summary>
    public async Task<(bool Stored, string? LastFault)> AddAsync(IReadOnlyList<TlsSessionEntry> entries, string? cursor, CancellationToken stop)
    {
        while (true)
        {
            try
            {
                // Not cancelled by the stop: a batch being written at the stop is committed whole.
                await store.AddAsync(source, entries, cursor, CancellationToken.None).ConfigureAwait(false);
                metrics.RecordStored(source, entries.Select(e => e.Result));
                if (_fault.Clear())
                {
                    logRecovered(log, store.Location);
                }
                return (true, null);
            }
            catch (RampartException ex)
            {
                if (_fault.Fail())
                {
                    logFault(log, ex.Message);
                }
                if (stop.IsCancellationRequested)
                {
                    return (false, ex.Message);
                }
                try
                {
                    await Task.Delay(RetryDelay, time, stop).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    // one more try, then give up (above)
                }
            }
        }
    }
}
