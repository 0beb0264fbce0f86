using Rampart.Core.TlsRpt;
using Rampart.Storage.TlsRpt;

namespace Rampart.Cli.Tests.Support;

/// <summary>What a daemon counted in the SQLite session store of a state directory: the view the daemon and dashboard tests check.</summary>
internal static class SessionStoreTotals
{
    /// <summary>Over every day: the sessions that succeeded and failed, and the failed ones by result type.</summary>
    public static async Task<(long Successful, long Failed, Dictionary<string, long> ByType)> ReadAsync(string stateDirectory)
    {
        var policies = await ReadDaysAsync(stateDirectory, _ => true);
        return (policies.Sum(p => p.Successful), policies.Sum(p => p.Failed), ByType(policies));
    }

    /// <summary>Over the days <paramref name="include"/> keeps: per report domain the sessions that succeeded and failed, and the failed ones by result type.</summary>
    public static async Task<(Dictionary<string, long[]> ByDomain, Dictionary<string, long> ByType)> ReadByDomainAsync(string stateDirectory, Func<DateOnly, bool> include)
    {
        var policies = await ReadDaysAsync(stateDirectory, include);
        var byDomain = policies.GroupBy(p => p.ReportDomain, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => new[] { g.Sum(p => p.Successful), g.Sum(p => p.Failed) }, StringComparer.Ordinal);
        return (byDomain, ByType(policies));
    }

    private static Dictionary<string, long> ByType(List<TlsSessionDayPolicy> policies) =>
        policies.SelectMany(p => p.Failures).GroupBy(f => f.Failure.ResultType).ToDictionary(g => g.Key, g => g.Sum(f => f.Sessions));

    private static async Task<List<TlsSessionDayPolicy>> ReadDaysAsync(string stateDirectory, Func<DateOnly, bool> include)
    {
        await using var store = await SqliteTlsSessionStore.OpenAsync(SqliteTlsSessionStore.PathIn(stateDirectory), TimeProvider.System, TestContext.Current.CancellationToken);
        var policies = new List<TlsSessionDayPolicy>();
        foreach (var day in (await store.DaysAsync(TestContext.Current.CancellationToken)).Where(include))
        {
            policies.AddRange(await store.ReadDayAsync(day, null, TestContext.Current.CancellationToken));
        }
        return policies;
    }
}
