using Rampart.Core.Check;
using Rampart.Core.TlsRpt;
using Rampart.Storage.Check;
using Rampart.Storage.TlsRpt;

namespace Rampart.Web.Dashboard;

/// <summary>
/// The stores of a state directory the dashboard shows beside the report store, each only when its file exists when
/// the dashboard starts: the check --watch history (<see cref="SqliteFindingHistory.FileName"/>) and the sessions of our
/// own deliveries (<see cref="SqliteTlsSessionStore.FileName"/>). Opened by <c>rampart dashboard</c> and by
/// <c>rampart serve</c> with the dashboard mounted; never written to.
/// </summary>
internal sealed class DashboardStateStores : IAsyncDisposable
{
    private readonly SqliteFindingHistory? _watch;
    private readonly SqliteTlsSessionStore? _sent;

    private DashboardStateStores(SqliteFindingHistory? watch, SqliteTlsSessionStore? sent) => (_watch, _sent) = (watch, sent);

    /// <summary>Where the check --watch history is, or "none yet".</summary>
    public string WatchLocation => _watch?.Location ?? "none yet";

    public static async Task<DashboardStateStores> OpenAsync(string stateDirectory, TimeProvider time, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(stateDirectory);
        var historyFile = Path.Combine(stateDirectory, SqliteFindingHistory.FileName);
        var watch = File.Exists(historyFile) ? await SqliteFindingHistory.OpenAsync(historyFile, ct).ConfigureAwait(false) : null;
        try
        {
            var sessionsFile = SqliteTlsSessionStore.PathIn(stateDirectory);
            var sent = File.Exists(sessionsFile) ? await SqliteTlsSessionStore.OpenAsync(sessionsFile, time, ct).ConfigureAwait(false) : null;
            return new DashboardStateStores(watch, sent);
        }
        catch
        {
            if (watch is not null)
            {
                await watch.DisposeAsync().ConfigureAwait(false);
            }
            throw;
        }
    }

    /// <summary>What the pages read: <paramref name="reports"/> (both of its interfaces) and these stores.</summary>
    public DashboardSources Sources(ITlsReportStore reports, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(reports);
        return new DashboardSources(reports, (ITlsReportHistory)reports, _watch, time, _sent);
    }

    public async ValueTask DisposeAsync()
    {
        if (_watch is not null)
        {
            await _watch.DisposeAsync().ConfigureAwait(false);
        }
        if (_sent is not null)
        {
            await _sent.DisposeAsync().ConfigureAwait(false);
        }
    }
}
