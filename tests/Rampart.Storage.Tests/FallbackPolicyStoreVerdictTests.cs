using Microsoft.Extensions.Time.Testing;
using Rampart.Core.MtaSts;
using Rampart.Storage.Tests.Support;
using static Rampart.Storage.Tests.Support.Policies;

namespace Rampart.Storage.Tests;

/// <summary>
/// The daemon's store (a persistent store with a process-local copy) keeps a domain's DANE verdict the way the
/// persistent store does: a refreshed policy carrying an old verdict does not replace it, in the store or in the copy.
/// </summary>
public sealed class FallbackPolicyStoreVerdictTests : IDisposable
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private readonly TempDirectory _directory = new();
    private readonly FakeTimeProvider _time = new(T0);

    public void Dispose() => _directory.Dispose();

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Verdict_SetThenARefreshCarryingTheOldOne_KeptInTheStoreAndTheLocalCopy(bool mirrorReads)
    {
        var sqlite = await SqliteMtaStsPolicyStore.OpenAsync(SqlitePolicyStoreOptions.PathIn(_directory.Path), new SqlitePolicyStoreOptions(), _time, Ct);
        var local = new InMemoryMtaStsPolicyStore();
        await using var store = new FallbackMtaStsPolicyStore(sqlite, local, _ => { }, mirrorReads, _time);
        await store.SetAsync(Entry("sts.example"), Ct);
        Assert.False((await store.GetAsync("sts.example", Ct))!.DecidedWithoutDane);

        await store.SetDaneVerdictAsync("sts.example", decidedWithoutDane: true, Ct);
        var refreshed = await store.SetAsync(Entry("sts.example", id: "refreshed", fetched: T0.AddMinutes(5)), Ct);

        Assert.True(refreshed.DecidedWithoutDane);
        Assert.Equal("refreshed", (await store.GetAsync("sts.example", Ct))!.Id);
        Assert.True((await store.GetAsync("sts.example", Ct))!.DecidedWithoutDane);
        Assert.True((await sqlite.GetAsync("sts.example", Ct))!.DecidedWithoutDane);
        if (mirrorReads)
        {
            Assert.True((await local.GetAsync("sts.example", Ct))!.DecidedWithoutDane);
        }
        else
        {
            Assert.Null(await local.GetAsync("sts.example", Ct)); // written: the copy holds only what could not be
        }
    }
}
