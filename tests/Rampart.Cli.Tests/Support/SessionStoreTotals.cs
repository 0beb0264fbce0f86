using Rampart.Core.TlsRpt;
using Rampart.Storage.TlsRpt;

namespace Rampart.Cli.Tests.Support;

/// <summary>What a daemon counted in the SQLite session store of a state directory, over every day: the view the daemon tests check.</summary>
internal static class SessionStoreTotals
{
    public static async Task<(long Successful, long Failed, Dictionary<string, long> ByType)> ReadAsync(string stateDirectory)
    {
        await using var store = await SqliteTlsSessionStore.OpenAsync(SqliteTlsSessionStore.PathIn(stateDirectory), TimeProvider.System, TestContext.Current.CancellationToken);
        var policies = new List<TlsSessionDayPolicy>();
        foreach (var day in await store.DaysAsync(TestContext.Current.CancellationToken))
        {
            policies.AddRange(await store.ReadDayAsync(day, null, TestContext.Current.CancellationToken));
        }
        var byType = policies.SelectMany(p => p.Failures).GroupBy(f => f.Failure.ResultType).ToDictionary(g => g.Key, g => g.Sum(f => f.Sessions));
        return (policies.Sum(p => p.Successful), policies.Sum(p => p.Failed), byType);
    }
}
