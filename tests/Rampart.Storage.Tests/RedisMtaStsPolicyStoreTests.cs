using System.Diagnostics;
using System.Text;
using Rampart.Core;
using Rampart.Core.MtaSts;
using Rampart.Storage.Tests.Servers;
using Rampart.Storage.Tests.Support;
using StackExchange.Redis;
using static Rampart.Storage.Tests.Support.Policies;

namespace Rampart.Storage.Tests;

/// <summary>The Redis store against one real redis-server: the policy-store contract and what only a shared server brings; every test has its own key prefix.</summary>
public sealed class RedisMtaStsPolicyStoreTests(RedisServerFixture fixture) : MtaStsPolicyStoreContractTests, IClassFixture<RedisServerFixture>
{
    private readonly string _prefix = $"test:{Guid.NewGuid():N}:";

    /// <summary>Deadlines for a machine shared with parallel builds, where 250 ms is sometimes not enough.</summary>
    internal static readonly TimeSpan Generous = TimeSpan.FromSeconds(10);

    private RedisServer Server => fixture.Server;

    private IDatabase Raw => Server.Raw;

    protected override async Task<IPersistentMtaStsPolicyStore> OpenStoreAsync() => await OpenUntrackedAsync(Server.UnixUrl);

    protected override async Task<IPersistentMtaStsPolicyStore> OpenOtherClientAsync() => await OpenUntrackedAsync(Server.TcpUrl);

    protected override async Task AssertWrittenAsync(string domain) =>
        Assert.True(await Raw.KeyExistsAsync(_prefix + domain), "one key per domain, under the prefix");

    private async Task<RedisMtaStsPolicyStore> OpenAsync(string? url = null, string? prefix = null, int scanBatch = 500, TimeProvider? time = null) =>
        Track(await OpenUntrackedAsync(url ?? Server.UnixUrl, prefix, scanBatch, time));

    private Task<RedisMtaStsPolicyStore> OpenUntrackedAsync(string url, string? prefix = null, int scanBatch = 500, TimeProvider? time = null) =>
        RedisMtaStsPolicyStore.OpenAsync(
            new RedisPolicyStoreOptions
            {
                Url = url,
                KeyPrefix = prefix ?? _prefix,
                ScanBatchSize = scanBatch,
                OperationTimeout = Generous, // these tests are about behaviour; the 250 ms default is the fault tests' subject
                ConnectTimeout = Generous,
            },
            time ?? Time, Ct);

    [Fact]
    public async Task SetAsync_ThenGetAsync_OverTcp_ReturnsEveryFieldAndTheExactCrlfText() => await AssertRoundTripAsync(await OpenAsync(Server.TcpUrl));

    [Fact]
    public async Task SetAsync_KeyExpiry_IsTheEntrysExpiresAtByTheInjectedClock()
    {
        var store = await OpenAsync();
        Time.SetUtcNow(T0.AddDays(2)); // fetched at T0, expires T0 + 7 days: 5 days left by this clock

        await store.SetAsync(Entry("ttl.example", fetched: T0, maxAge: TimeSpan.FromDays(7)), Ct);

        var ttl = await Raw.KeyTimeToLiveAsync(_prefix + "ttl.example");
        Assert.NotNull(ttl);
        Assert.InRange(ttl.Value, TimeSpan.FromDays(5) - TimeSpan.FromMinutes(1), TimeSpan.FromDays(5));
    }

    [Fact]
    public async Task SetAsync_AlreadyExpiredByTheClock_KeptOneSecondThenGoneByRedisItself()
    {
        var store = await OpenAsync();
        Time.SetUtcNow(T0.AddDays(30));
        await store.SetAsync(Entry("gone.example", fetched: T0, maxAge: TimeSpan.FromDays(1)), Ct);

        var ttl = await Raw.KeyTimeToLiveAsync(_prefix + "gone.example");
        Assert.NotNull(ttl);
        Assert.InRange(ttl.Value, TimeSpan.FromMilliseconds(1), TimeSpan.FromSeconds(1)); // the minimum expiry

        var deadline = Stopwatch.StartNew();
        while (await store.GetAsync("gone.example", Ct) is not null)
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(15), "Redis never expired the key");
            await Task.Delay(100, Ct);
        }

        Assert.Equal(0, await store.CountAsync(Ct));
        Assert.Equal(0, await store.PurgeExpiredAsync(Ct)); // nothing left for the purge: Redis did it
    }

    [Fact]
    public async Task SetAsync_RealClockShortMaxAge_RedisExpiresTheKey()
    {
        var store = await OpenAsync(time: TimeProvider.System);
        var now = DateTimeOffset.UtcNow;
        await store.SetAsync(new CachedMtaStsPolicy("short.example", "x", Parse(Enforce), now, now.AddSeconds(2), now), Ct);

        Assert.NotNull(await store.GetAsync("short.example", Ct));
        var deadline = Stopwatch.StartNew();
        while (await store.GetAsync("short.example", Ct) is not null)
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(20), "Redis never expired the key");
            await Task.Delay(100, Ct);
        }
    }

    [Fact]
    public async Task SetAsync_OlderFetchedAt_NeverReplacesANewerOne()
    {
        var mta1 = await OpenAsync();
        var mta2 = await OpenAsync();
        var newer = Entry("race.example", EnforceCrlf, id: "newer", fetched: T0.AddMinutes(10));
        await mta1.SetAsync(newer, Ct);

        await mta2.SetAsync(Entry("race.example", Enforce, id: "older", fetched: T0.AddMinutes(9)), Ct);

        AssertSameEntry(newer, await mta1.GetAsync("race.example", Ct));
    }

    [Fact]
    public async Task SetAsync_SameFetchedAt_LastWriterWins()
    {
        var store = await OpenAsync();
        await store.SetAsync(Entry("same.example", id: "first", fetched: T0), Ct);
        var recheck = Entry("same.example", id: "first", fetched: T0, checkedAt: T0.AddHours(3));

        await store.SetAsync(recheck, Ct);

        AssertSameEntry(recheck, await store.GetAsync("same.example", Ct)); // a newer CheckedAt is stored
    }

    [Fact]
    public async Task SetAsync_ManyConcurrentWritersInRandomOrder_TheLatestFetchedWins()
    {
        var stores = new[] { await OpenAsync(), await OpenAsync(Server.TcpUrl), await OpenAsync() };
        var order = Enumerable.Range(0, 120).OrderBy(_ => Random.Shared.Next()).ToArray();

        await Parallel.ForEachAsync(order, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = Ct }, async (i, ct) =>
            await stores[i % stores.Length].SetAsync(Entry("contended.example", id: $"v{i}", fetched: T0.AddSeconds(i)), ct));

        Assert.Equal("v119", (await stores[0].GetAsync("contended.example", Ct))?.Id);
    }

    [Fact]
    public async Task SetAsync_OverAValueThatIsNotOurs_ReplacesIt()
    {
        var store = await OpenAsync();
        await Raw.HashSetAsync(_prefix + "hash.example", "field", "value");
        await Raw.StringSetAsync(_prefix + "junk.example", "\u0001\u0002 not our header");

        await store.SetAsync(Entry("hash.example"), Ct);
        await store.SetAsync(Entry("junk.example"), Ct);

        Assert.NotNull(await store.GetAsync("hash.example", Ct));
        Assert.NotNull(await store.GetAsync("junk.example", Ct));
    }

    public static TheoryData<string, string> CorruptValues => new()
    {
        { "garbage", "not a policy at all" },
        { "another format version", "2 1748779200000 1749384000000 1748779200000 1\nxversion: STSv1\nmode: none\nmax_age: 1\n" },
        { "text that no longer parses", "1 1748779200000 1749384000000 1748779200000 1\nxversion: STSv2\nmode: none\n" },
        { "id length past the end", "1 1748779200000 1749384000000 1748779200000 999\nx" },
        { "time out of range", "1 1748779200000 999999999999999999 1748779200000 1\nxversion: STSv1\nmode: none\nmax_age: 1\n" },
        { "time with a plus sign", "1 +1748779200000 1749384000000 1748779200000 1\nxversion: STSv1\nmode: none\nmax_age: 1\n" },
        { "missing field", "1 1748779200000 1749384000000 1\nxversion: STSv1\nmode: none\nmax_age: 1\n" },
        { "empty", "" },
    };

    [Theory]
    [MemberData(nameof(CorruptValues))]
    public async Task GetAsync_CorruptValue_ReturnsNullDeletesAndCountsIt(string what, string value)
    {
        var store = await OpenAsync();
        await store.SetAsync(Entry("good.example"), Ct);
        await Raw.StringSetAsync(_prefix + "bad.example", value);

        Assert.Null(await store.GetAsync("bad.example", Ct));

        Assert.False(await Raw.KeyExistsAsync(_prefix + "bad.example"), $"the value with {what} is deleted");
        Assert.Equal(1, store.DroppedEntries);
        Assert.Equal(1, await store.CountAsync(Ct));
        await store.SetAsync(Entry("bad.example"), Ct); // and the domain can be cached again
        Assert.NotNull(await store.GetAsync("bad.example", Ct));
    }

    [Fact]
    public async Task GetAsync_InvalidUtf8OrAWrongType_ReturnsNullDeletesAndCountsIt()
    {
        var store = await OpenAsync();
        byte[] invalid = [.. Encoding.ASCII.GetBytes("1 1748779200000 1749384000000 1748779200000 1\nx"), 0xC3, 0x28];
        await Raw.StringSetAsync(_prefix + "utf8.example", invalid);
        await Raw.ListLeftPushAsync(_prefix + "list.example", "a list, not a string");

        Assert.Null(await store.GetAsync("utf8.example", Ct));
        Assert.Null(await store.GetAsync("list.example", Ct));

        Assert.Equal(2, store.DroppedEntries);
        Assert.Equal(0, await store.CountAsync(Ct));
    }

    [Fact]
    public async Task EnumerateValidAsync_CorruptAndExpiredEntries_ReturnsOnlyTheValidOnes()
    {
        var store = await OpenAsync();
        await store.SetAsync(Entry("a.example", maxAge: TimeSpan.FromDays(1)), Ct);
        await store.SetAsync(Entry("b.example", EnforceCrlf, maxAge: TimeSpan.FromDays(3)), Ct);
        await Raw.StringSetAsync(_prefix + "unparsable.example", "1 0 9999999999999 0 0\nmode: enforce");
        await Raw.StringSetAsync(_prefix + "UPPER.example", "1 0 9999999999999 0 0\nversion: STSv1\nmode: none\nmax_age: 1");
        Time.Advance(TimeSpan.FromDays(2)); // a.example is expired by the clock, though Redis still holds it

        var valid = await store.EnumerateValidAsync(Ct).ToListAsync(Ct);

        Assert.Equal(["b.example"], valid.Select(e => e.Domain));
        Assert.Equal(EnforceCrlf, valid[0].Policy.Text);
        Assert.Equal(2, store.DroppedEntries);
        Assert.Equal(2, await store.CountAsync(Ct)); // loading does not purge what Redis will expire
    }

    [Fact]
    public async Task PurgeExpiredAsync_DeletesOnlyExpiredKeysWithoutATtl()
    {
        var store = await OpenAsync();
        await store.SetAsync(Entry("fresh.example", maxAge: TimeSpan.FromDays(1)), Ct);
        await store.SetAsync(Entry("stale-with-ttl.example", maxAge: TimeSpan.FromHours(1)), Ct);
        byte[] staleValue = RedisPolicyValue.Encode(Entry("stale.example", maxAge: TimeSpan.FromHours(1)));
        byte[] validValue = RedisPolicyValue.Encode(Entry("valid.example", maxAge: TimeSpan.FromDays(3)));
        await Raw.StringSetAsync(_prefix + "stale.example", staleValue); // no TTL: written by hand or by another tool
        await Raw.StringSetAsync(_prefix + "valid.example", validValue);
        await Raw.StringSetAsync(_prefix + "junk.example", "junk");
        Time.Advance(TimeSpan.FromHours(2));

        int purged = await store.PurgeExpiredAsync(Ct);

        Assert.Equal(2, purged); // stale.example and the unreadable junk
        Assert.False(await Raw.KeyExistsAsync(_prefix + "stale.example"));
        Assert.True(await Raw.KeyExistsAsync(_prefix + "valid.example"));
        Assert.True(await Raw.KeyExistsAsync(_prefix + "stale-with-ttl.example"), "keys with a TTL are Redis's to expire");
        Assert.Equal(3, await store.CountAsync(Ct));
        Assert.Equal(0, await store.PurgeExpiredAsync(Ct));
    }

    [Fact]
    public async Task Prefixes_KeepTwoCachesOnOneServerApart()
    {
        string other = $"other:{Guid.NewGuid():N}:";
        var ours = await OpenAsync();
        var theirs = await OpenAsync(prefix: other);
        await ours.SetAsync(Entry("ours.example"), Ct);
        await theirs.SetAsync(Entry("theirs.example"), Ct);
        await theirs.SetAsync(Entry("shared-name.example", id: "theirs"), Ct);
        await ours.SetAsync(Entry("shared-name.example", id: "ours"), Ct);
        await Raw.StringSetAsync("unrelated:" + _prefix + "x.example", "someone else's key");

        Assert.Null(await ours.GetAsync("theirs.example", Ct));
        Assert.Null(await theirs.GetAsync("ours.example", Ct));
        Assert.Equal("ours", (await ours.GetAsync("shared-name.example", Ct))?.Id);
        Assert.Equal("theirs", (await theirs.GetAsync("shared-name.example", Ct))?.Id);
        Assert.Equal(2, await ours.CountAsync(Ct));
        Assert.Equal(["ours.example", "shared-name.example"], (await ours.EnumerateValidAsync(Ct).ToListAsync(Ct)).Select(e => e.Domain).Order());
        Assert.Equal(0, ours.DroppedEntries);
    }

    [Fact]
    public async Task Prefix_WithGlobCharacters_MatchesOnlyItself()
    {
        string glob = $"g*[?]\\{Guid.NewGuid():N}:";
        string lookalike = glob.Replace("*", "X", StringComparison.Ordinal).Replace("[?]", "[x]", StringComparison.Ordinal);
        var store = await OpenAsync(prefix: glob);
        var neighbour = await OpenAsync(prefix: lookalike);
        await store.SetAsync(Entry("one.example"), Ct);
        await neighbour.SetAsync(Entry("two.example"), Ct);

        Assert.Equal(1, await store.CountAsync(Ct));
        Assert.Equal(["one.example"], (await store.EnumerateValidAsync(Ct).ToListAsync(Ct)).Select(e => e.Domain));
    }

    [Fact]
    public async Task CountAndEnumerateValid_ThreeThousandEntries_PageThroughScanBatches()
    {
        var store = await OpenAsync(scanBatch: 100);
        const int Entries = 3000;
        var batch = Raw.CreateBatch();
        var writes = new List<Task>();
        for (int i = 0; i < Entries; i++)
        {
            var entry = Entry($"d{i}.example", Texts[i % Texts.Length], id: $"id{i}", maxAge: i % 3 == 0 ? TimeSpan.FromHours(1) : TimeSpan.FromDays(7));
            writes.Add(batch.StringSetAsync(_prefix + entry.Domain, RedisPolicyValue.Encode(entry), TimeSpan.FromDays(8)));
        }

        batch.Execute();
        await Task.WhenAll(writes);
        Time.Advance(TimeSpan.FromHours(2)); // every third entry is now expired by the clock

        Assert.Equal(Entries, await store.CountAsync(Ct));
        var valid = await store.EnumerateValidAsync(Ct).ToListAsync(Ct);

        Assert.Equal(Entries - (Entries / 3), valid.Count);
        Assert.Equal(valid.Count, valid.Select(e => e.Domain).Distinct().Count());
        Assert.All(valid, e => Assert.Equal(Texts[int.Parse(e.Domain[1..^8], System.Globalization.CultureInfo.InvariantCulture) % Texts.Length], e.Policy.Text));
    }

    [Fact]
    public async Task Location_ShowsServerAndDatabaseButNeverThePassword()
    {
        var store = await OpenAsync(Server.TcpUrl.Replace("/0", "/3", StringComparison.Ordinal));

        Assert.Equal($"redis://127.0.0.1:{Server.Port}/3", store.Location);
        Assert.Equal($"unix://{Server.SocketPath}?db=0", (await OpenAsync(Server.UnixUrl)).Location);
    }

    [Fact]
    public async Task Database_FromTheUrl_IsTheOneUsed()
    {
        var db5 = await OpenAsync($"unix://{Server.SocketPath}?db=5");
        await db5.SetAsync(Entry("db5.example"), Ct);

        Assert.True(await Server.Raw.Multiplexer.GetDatabase(5).KeyExistsAsync(_prefix + "db5.example"));
        Assert.False(await Raw.KeyExistsAsync(_prefix + "db5.example"));
        Assert.Null(await (await OpenAsync(Server.UnixUrl)).GetAsync("db5.example", Ct));
    }

    [Fact]
    public async Task OpenAsync_DatabaseTheServerDoesNotHave_OneLineError()
    {
        string url = $"redis://127.0.0.1:{Server.Port}/99";

        var ex = await Assert.ThrowsAsync<RedisPolicyStoreException>(() => OpenAsync(url));

        AssertUsableMessage(ex, $"redis://127.0.0.1:{Server.Port}/99");
    }

    /// <summary>What an operator sees: one line that names the server, no stack trace, no exception type names.</summary>
    internal static void AssertUsableMessage(RampartException ex, string location)
    {
        Assert.Contains(location, ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', ex.Message);
        Assert.DoesNotContain("   at ", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", ex.Message, StringComparison.Ordinal);
    }
}
