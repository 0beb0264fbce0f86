using Microsoft.Extensions.Time.Testing;
using Rampart.Core.MtaSts;
using Rampart.Core.Tests.Fakes;

namespace Rampart.Core.Tests.MtaSts;

/// <summary>Proactive refresh (RFC 8461 §10.2): cached policies are checked and refetched before they expire.</summary>
public class MtaStsPolicyRefresherTests
{
    private static string PolicyDay(string domain) => $"version: STSv1\nmode: enforce\nmx: mx.{domain}\nmax_age: 86400\n";

    private readonly FakeDnsResolver _dns = new();
    private readonly FakePolicyFetcher _fetcher = new();
    private readonly InMemoryMtaStsPolicyStore _store = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly MtaStsPolicyProvider _provider;

    // a sweep every hour; a policy expiring within two hours is refetched
    private static readonly MtaStsRefreshSettings s_settings = new() { Interval = TimeSpan.FromHours(2), GraceRatio = 2, ConcurrencyLimit = 4 };

    public MtaStsPolicyRefresherTests()
    {
        _provider = new MtaStsPolicyProvider(_dns, _fetcher, _store, new MtaStsPolicySettings(), _time);
    }

    private void Publish(string domain, string id)
    {
        _dns.Txt("_mta-sts." + domain, $"v=STSv1; id={id}");
        _fetcher.Serve(domain, PolicyDay(domain));
    }

    private async Task<IReadOnlyList<CachedMtaStsPolicy>> CachedAsync(params string[] domains)
    {
        var entries = new List<CachedMtaStsPolicy>();
        foreach (var domain in domains)
        {
            entries.Add((await _store.GetAsync(domain, TestContext.Current.CancellationToken))!);
        }
        return entries;
    }

    private Task<MtaStsRefreshSummary> SweepAsync(MtaStsRefreshSettings settings, params string[] domains) =>
        CachedAsync(domains).ContinueWith(t => new MtaStsPolicyRefresher(_provider, settings, _time).SweepAsync(t.Result.ToAsyncEnumerable(), TestContext.Current.CancellationToken),
            TestContext.Current.CancellationToken, TaskContinuationOptions.None, TaskScheduler.Default).Unwrap();

    [Fact]
    public void Settings_PeerDefaults_SweepEveryTwelveHoursRefetchWithinADay()
    {
        var defaults = new MtaStsRefreshSettings();
        Assert.True(defaults.Enabled);
        Assert.Equal(TimeSpan.FromHours(12), defaults.SweepPeriod);
        Assert.Equal(TimeSpan.FromHours(24), defaults.RefetchWithin);
        Assert.Equal(100, defaults.ConcurrencyLimit);
    }

    [Fact]
    public async Task Sweep_RecentlyChecked_NothingDue()
    {
        Publish("a.example", "1");
        await _provider.LookupAsync("a.example", TestContext.Current.CancellationToken);
        _time.Advance(TimeSpan.FromMinutes(30));
        var queries = _dns.Queries.Count;

        var summary = await SweepAsync(s_settings, "a.example");

        Assert.Equal(new MtaStsRefreshSummary(1, 0, 0, 0), summary);
        Assert.Equal(queries, _dns.Queries.Count);
    }

    [Fact]
    public async Task Sweep_CheckedLongAgo_ChecksTxtWithoutRefetch()
    {
        Publish("a.example", "1");
        await _provider.LookupAsync("a.example", TestContext.Current.CancellationToken);
        _time.Advance(TimeSpan.FromHours(3));

        var summary = await SweepAsync(s_settings, "a.example");

        Assert.Equal(new MtaStsRefreshSummary(1, 1, 0, 0), summary);
        Assert.Equal(1, _fetcher.Fetches);
        var cached = (await CachedAsync("a.example"))[0];
        Assert.Equal(_time.GetUtcNow(), cached.CheckedAt);
    }

    [Fact]
    public async Task Sweep_PolicyAboutToExpire_RefetchedWithSameIdAndLifetimeExtended()
    {
        Publish("a.example", "1");
        await _provider.LookupAsync("a.example", TestContext.Current.CancellationToken);
        _time.Advance(TimeSpan.FromHours(23)); // one hour left of max_age 86400

        var summary = await SweepAsync(s_settings, "a.example");

        Assert.Equal(new MtaStsRefreshSummary(1, 1, 1, 0), summary);
        Assert.Equal(2, _fetcher.Fetches);
        var cached = (await CachedAsync("a.example"))[0];
        Assert.Equal(_time.GetUtcNow().AddSeconds(86400), cached.ExpiresAt);
    }

    [Fact]
    public async Task Sweep_IdChanged_Refetched()
    {
        Publish("a.example", "1");
        await _provider.LookupAsync("a.example", TestContext.Current.CancellationToken);
        _time.Advance(TimeSpan.FromHours(3));
        Publish("a.example", "2");

        var summary = await SweepAsync(s_settings, "a.example");

        Assert.Equal(1, summary.Refetched);
        Assert.Equal("2", (await CachedAsync("a.example"))[0].Id);
    }

    [Fact]
    public async Task Sweep_FetchFailsBeforeExpiry_CachedPolicyKeptAndFailureCounted()
    {
        Publish("a.example", "1");
        await _provider.LookupAsync("a.example", TestContext.Current.CancellationToken);
        _time.Advance(TimeSpan.FromHours(23));
        _fetcher.Fail("a.example", MtaStsFetchError.ConnectFailed);

        var summary = await SweepAsync(s_settings, "a.example");

        Assert.Equal(new MtaStsRefreshSummary(1, 1, 0, 1), summary);
        var cached = (await CachedAsync("a.example"))[0];
        Assert.Equal("1", cached.Id);
        Assert.True(cached.IsValidAt(_time.GetUtcNow()));
    }

    [Fact]
    public async Task Sweep_ExpiredPolicies_LeftToLookups()
    {
        Publish("a.example", "1");
        await _provider.LookupAsync("a.example", TestContext.Current.CancellationToken);
        _time.Advance(TimeSpan.FromHours(25));

        var summary = await SweepAsync(s_settings, "a.example");

        Assert.Equal(0, summary.Due);
        Assert.Equal(1, _fetcher.Fetches);
    }

    [Fact]
    public async Task Sweep_ManyDue_AtMostConcurrencyLimitAtOnceAndTheStoreReadAsItGoes()
    {
        var domains = Enumerable.Range(0, 20).Select(i => $"d{i}.example").ToArray();
        foreach (var domain in domains)
        {
            Publish(domain, "1");
            await _provider.LookupAsync(domain, TestContext.Current.CancellationToken);
        }
        _time.Advance(TimeSpan.FromHours(23));
        var gated = new GatedFetcher(_fetcher);
        var provider = new MtaStsPolicyProvider(_dns, gated, _store, new MtaStsPolicySettings(), _time);
        var cached = await CachedAsync(domains);
        int read = 0;

        var sweep = new MtaStsPolicyRefresher(provider, s_settings with { ConcurrencyLimit = 3 }, _time)
            .SweepAsync(Counted(), TestContext.Current.CancellationToken);
        await gated.HeldAsync(3); // three fetches wait at once: the sweep is not serial
        int readWhileHeld = Volatile.Read(ref read);
        gated.ReleaseAll();
        var summary = await sweep;

        Assert.Equal(new MtaStsRefreshSummary(20, 20, 20, 0), summary);
        Assert.Equal(3, gated.MaxConcurrent); // and never more than the limit
        // the three being checked, and at most one read ahead for the next free check: not all twenty first (a store
        // hands them over a page at a time)
        Assert.InRange(readWhileHeld, 3, 4);

        async IAsyncEnumerable<CachedMtaStsPolicy> Counted()
        {
            foreach (var entry in cached)
            {
                await Task.Yield();
                Interlocked.Increment(ref read);
                yield return entry;
            }
        }
    }

    /// <summary>Holds each fetch until released and records how many ran at once.</summary>
    private sealed class GatedFetcher(IMtaStsPolicyFetcher inner) : IMtaStsPolicyFetcher
    {
        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly System.Threading.Channels.Channel<string> _held = System.Threading.Channels.Channel.CreateUnbounded<string>();
        private int _running;
        private int _max;

        public int MaxConcurrent => Volatile.Read(ref _max);

        /// <summary>Completes once <paramref name="count"/> fetches are waiting to be released.</summary>
        public async Task HeldAsync(int count)
        {
            for (var i = 0; i < count; i++)
            {
                var held = _held.Reader.ReadAsync(TestContext.Current.CancellationToken).AsTask();
                Assert.True(await Task.WhenAny(held, Task.Delay(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken)) == held,
                    $"only {i} fetches ran at once; expected {count}");
            }
        }

        /// <summary>Lets every fetch, held or still to come, go on.</summary>
        public void ReleaseAll() => _released.TrySetResult();

        public async Task<MtaStsFetchResult> FetchAsync(string domain, CancellationToken cancellationToken)
        {
            var now = Interlocked.Increment(ref _running);
            int seen;
            while ((seen = Volatile.Read(ref _max)) < now && Interlocked.CompareExchange(ref _max, now, seen) != seen)
            {
            }
            try
            {
                _held.Writer.TryWrite(domain);
                await _released.Task.WaitAsync(cancellationToken);
                lock (inner)
                {
                    return inner.FetchAsync(domain, cancellationToken).Result;
                }
            }
            finally
            {
                Interlocked.Decrement(ref _running);
            }
        }
    }
}
