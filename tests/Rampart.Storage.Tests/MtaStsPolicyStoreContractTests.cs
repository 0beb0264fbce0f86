using Microsoft.Extensions.Time.Testing;
using Rampart.Core.MtaSts;
using Rampart.Storage.Tests.Support;
using static Rampart.Storage.Tests.Support.Policies;

namespace Rampart.Storage.Tests;

/// <summary>
/// What every persistent MTA-STS policy store promises (every field back exactly, lower-case keys, several clients
/// sharing one cache), run against each store by a subclass that only opens it.
/// </summary>
public abstract class MtaStsPolicyStoreContractTests : IAsyncDisposable
{
    private readonly List<IAsyncDisposable> _opened = [];

    /// <summary>The clock the stores are opened with, starting at <see cref="Policies.T0"/>.</summary>
    protected FakeTimeProvider Time { get; } = new(T0);

    protected CancellationToken Ct { get; } = TestContext.Current.CancellationToken;

    /// <summary>A store on this test's storage (the same storage each call), not yet tracked for disposal.</summary>
    protected abstract Task<IPersistentMtaStsPolicyStore> OpenStoreAsync();

    /// <summary>A store for a second client of the same storage (Redis: over the other transport); by default as <see cref="OpenStoreAsync"/>.</summary>
    protected virtual Task<IPersistentMtaStsPolicyStore> OpenOtherClientAsync() => OpenStoreAsync();

    /// <summary>Store-specific checks of how the entry for <paramref name="domain"/> was written; by default none.</summary>
    protected virtual Task AssertWrittenAsync(string domain) => Task.CompletedTask;

    /// <summary>Disposes every store this test opened through <see cref="Track{TStore}"/>.</summary>
    public virtual async ValueTask DisposeAsync()
    {
        foreach (var store in _opened)
        {
            await store.DisposeAsync();
        }
        GC.SuppressFinalize(this);
    }

    /// <summary>Remembers <paramref name="store"/> to dispose with the test.</summary>
    protected TStore Track<TStore>(TStore store)
        where TStore : IAsyncDisposable
    {
        _opened.Add(store);
        return store;
    }

    private async Task<IPersistentMtaStsPolicyStore> OpenAsync() => Track(await OpenStoreAsync());

    /// <summary>Sets and gets back one entry on <paramref name="store"/>, field by field.</summary>
    protected async Task AssertRoundTripAsync(IPersistentMtaStsPolicyStore store)
    {
        var entry = new CachedMtaStsPolicy("example.org", "id2025x", Parse(EnforceCrlf),
            T0.AddMilliseconds(123), T0.AddDays(1).AddMilliseconds(123), T0.AddHours(2).AddMilliseconds(7));

        await store.SetAsync(entry, Ct);
        var got = await store.GetAsync("example.org", Ct);

        AssertSameEntry(entry, got);
        Assert.Equal("example.org", got!.Domain);
        Assert.Equal(EnforceCrlf, got.Policy.Text);
        Assert.Equal(MtaStsMode.Enforce, got.Policy.Mode);
        Assert.Equal(86400, got.Policy.MaxAge);
        Assert.Equal(["mx1.example.org", "mx2.example.org"], got.Policy.Mx.Select(m => m.Value));
        await AssertWrittenAsync("example.org");
    }

    [Fact]
    public async Task SetAsync_ThenGetAsync_ReturnsEveryFieldAndTheExactCrlfText() => await AssertRoundTripAsync(await OpenAsync());

    [Fact]
    public async Task SetAsync_TheDomainsDaneVerdict_KeptBothWaysAndChangedOnlyBySetDaneVerdict()
    {
        var store = await OpenAsync();
        var withoutDane = Entry("sts.example") with { DecidedWithoutDane = true };
        var besideDane = Entry("dane.example") with { DecidedWithoutDane = false };

        Assert.True((await store.SetAsync(withoutDane, Ct)).DecidedWithoutDane);
        Assert.False((await store.SetAsync(besideDane, Ct)).DecidedWithoutDane);

        AssertSameEntry(withoutDane, await store.GetAsync("sts.example", Ct));
        AssertSameEntry(besideDane, await store.GetAsync("dane.example", Ct));
        await store.SetDaneVerdictAsync("sts.example", decidedWithoutDane: false, Ct); // the domain turned to DANE
        Assert.False((await store.GetAsync("sts.example", Ct))!.DecidedWithoutDane);
        Assert.Equal([false, false], (await store.EnumerateValidAsync(Ct).ToListAsync(Ct)).Select(e => e.DecidedWithoutDane));
        await store.SetDaneVerdictAsync("dane.example", decidedWithoutDane: true, Ct); // and this one away from it
        AssertSameEntry(besideDane with { DecidedWithoutDane = true }, await store.GetAsync("dane.example", Ct));
    }

    [Fact]
    public async Task SetAsync_AnEntryCarryingAnOldVerdict_KeepsTheStoredOneAndReturnsIt()
    {
        var store = await OpenAsync();
        var first = Entry("sts.example") with { DecidedWithoutDane = true };
        await store.SetAsync(first, Ct);
        await store.SetDaneVerdictAsync("sts.example", decidedWithoutDane: false, Ct); // a full decision found DANE

        // A refresh that read the entry before that decision writes a new policy carrying the old verdict.
        var refreshed = Entry("sts.example", id: "refreshed", fetched: T0.AddMinutes(5)) with { DecidedWithoutDane = true };
        var stored = await store.SetAsync(refreshed, Ct);

        Assert.False(stored.DecidedWithoutDane);
        AssertSameEntry(refreshed with { DecidedWithoutDane = false }, await store.GetAsync("sts.example", Ct));
        await store.SetDaneVerdictAsync("sts.example", decidedWithoutDane: true, Ct);
        Assert.True((await store.SetAsync(refreshed with { DecidedWithoutDane = false, CheckedAt = T0.AddMinutes(9) }, Ct)).DecidedWithoutDane);
        Assert.True((await store.GetAsync("sts.example", Ct))!.DecidedWithoutDane);
    }

    [Fact]
    public async Task SetDaneVerdictAsync_NoEntry_StoresNothing()
    {
        var store = await OpenAsync();

        await store.SetDaneVerdictAsync("nothing.example", decidedWithoutDane: true, Ct);

        Assert.Null(await store.GetAsync("nothing.example", Ct));
        Assert.Equal(0, await store.CountAsync(Ct));
    }

    [Fact]
    public async Task SetAsync_AwkwardTextsAndIds_KeepsEachExactly()
    {
        var store = await OpenAsync();
        string[] ids = ["a", "20250601T000000", "id with spaces\nand a newline", "ünïcødé ✓", "", "9 9 9 9\n"];
        for (int i = 0; i < Texts.Length; i++)
        {
            await store.SetAsync(Entry($"d{i}.example", Texts[i], id: ids[i]), Ct);
        }

        for (int i = 0; i < Texts.Length; i++)
        {
            var got = await store.GetAsync($"d{i}.example", Ct);
            Assert.Equal(Texts[i], got!.Policy.Text);
            Assert.Equal(ids[i], got.Id);
        }
    }

    [Fact]
    public async Task GetAsync_OtherCase_FindsTheLowerCaseKey()
    {
        var store = await OpenAsync();
        await store.SetAsync(Entry("Mixed.Example.COM"), Ct);

        var got = await store.GetAsync("MIXED.example.com", Ct);

        Assert.NotNull(got);
        Assert.Equal("mixed.example.com", got.Domain);
        Assert.Equal(1, await store.CountAsync(Ct));
    }

    [Fact]
    public async Task GetAsync_Missing_ReturnsNull()
    {
        var store = await OpenAsync();

        Assert.Null(await store.GetAsync("absent.example", Ct));
    }

    [Fact]
    public async Task TwoClients_SeeEachOthersPolicies()
    {
        var mta1 = await OpenAsync();
        var mta2 = Track(await OpenOtherClientAsync());
        var fetchedBy1 = Entry("fleet.example", EnforceCrlf, id: "one");

        await mta1.SetAsync(fetchedBy1, Ct);
        AssertSameEntry(fetchedBy1, await mta2.GetAsync("fleet.example", Ct));

        var refreshedBy2 = Entry("fleet.example", Enforce, id: "two", fetched: T0.AddHours(1));
        await mta2.SetAsync(refreshedBy2, Ct);
        AssertSameEntry(refreshedBy2, await mta1.GetAsync("fleet.example", Ct));
        Assert.Equal(["fleet.example"], (await mta1.EnumerateValidAsync(Ct).ToListAsync(Ct)).Select(e => e.Domain));
    }

    [Fact]
    public async Task GetAsync_AfterDispose_ThrowsObjectDisposed()
    {
        var store = await OpenStoreAsync();
        await store.DisposeAsync();
        await store.DisposeAsync(); // idempotent

        await Assert.ThrowsAsync<ObjectDisposedException>(() => store.GetAsync("example.com", Ct).AsTask());
    }

    [Fact]
    public async Task GetAsync_CancelledToken_ThrowsOperationCanceled()
    {
        var store = await OpenAsync();
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.GetAsync("example.com", cts.Token).AsTask());
    }
}
