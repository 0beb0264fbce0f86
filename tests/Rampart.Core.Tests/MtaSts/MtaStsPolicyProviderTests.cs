using Microsoft.Extensions.Time.Testing;
using Rampart.Core.Dns;
using Rampart.Core.MtaSts;
using Rampart.Core.Tests.Fakes;

namespace Rampart.Core.Tests.MtaSts;

/// <summary>RFC 8461 §5 cache rules, with an injected clock.</summary>
public class MtaStsPolicyProviderTests
{
    private const string Domain = "example.org";
    private const string Txt = "_mta-sts.example.org";
    private const string PolicyV1 = "version: STSv1\nmode: enforce\nmx: mx.example.org\nmax_age: 86400\n";
    private const string PolicyV2 = "version: STSv1\nmode: enforce\nmx: mx.example.org\nmx: mx2.example.org\nmax_age: 86400\n";

    private readonly FakeDnsResolver _dns = new();
    private readonly FakePolicyFetcher _fetcher = new();
    private readonly InMemoryMtaStsPolicyStore _store = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly MtaStsPolicyProvider _provider;

    public MtaStsPolicyProviderTests()
    {
        _provider = new MtaStsPolicyProvider(_dns, _fetcher, _store, new MtaStsPolicySettings { RefreshInterval = TimeSpan.FromHours(1) }, _time);
        _dns.Txt(Txt, "v=STSv1; id=one");
        _fetcher.Serve(Domain, PolicyV1);
    }

    private Task<MtaStsLookupResult> Lookup() => _provider.LookupAsync(Domain, TestContext.Current.CancellationToken);

    [Fact]
    public async Task Lookup_TxtAndPolicy_ReturnsFreshPolicyAndCachesIt()
    {
        var result = await Lookup();

        Assert.Equal(MtaStsLookupStatus.Policy, result.Status);
        Assert.False(result.FromCache);
        Assert.Equal("one", result.PolicyId);
        var cached = await _store.GetAsync(Domain, TestContext.Current.CancellationToken);
        Assert.NotNull(cached);
        Assert.Equal(_time.GetUtcNow().AddSeconds(86400), cached.ExpiresAt);
    }

    [Fact]
    public async Task Refresh_DaneVerdictRecordedWhileItFetches_TheVerdictIsKeptNotTheOneReadBefore()
    {
        var ct = TestContext.Current.CancellationToken;
        await Lookup();
        await _provider.RecordDaneVerdictAsync(Domain, daneApplies: false, ct);
        Assert.True((await _store.GetAsync(Domain, ct))!.DecidedWithoutDane);
        _dns.Txt(Txt, "v=STSv1; id=two");
        _fetcher.Serve(Domain, PolicyV2);
        _time.Advance(TimeSpan.FromHours(2));
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _fetcher.Hold = release;

        var refresh = Lookup(); // reads the entry (without DANE), then fetches the new id
        await _fetcher.Started.Task.WaitAsync(TimeSpan.FromSeconds(30), ct);
        await _provider.RecordDaneVerdictAsync(Domain, daneApplies: true, ct); // a full decision meanwhile: DANE applies now
        release.SetResult();
        var result = await refresh;

        var stored = await _store.GetAsync(Domain, ct);
        Assert.Equal("two", stored!.Id);
        Assert.False(stored.DecidedWithoutDane); // not written back as "without DANE": never served cache-first for a DANE domain
        Assert.False(result.DecidedWithoutDane);
    }

    [Fact]
    public async Task Lookup_WithinRefreshInterval_UsesCacheWithoutDns()
    {
        await Lookup();
        var queries = _dns.Queries.Count;
        _time.Advance(TimeSpan.FromMinutes(30));

        var result = await Lookup();

        Assert.True(result.FromCache);
        Assert.Equal(queries, _dns.Queries.Count);
        Assert.Equal(1, _fetcher.Fetches);
    }

    [Fact]
    public async Task Lookup_PastRefreshWithSameId_DoesNotRefetch()
    {
        await Lookup();
        _time.Advance(TimeSpan.FromHours(2));

        var result = await Lookup();

        Assert.True(result.FromCache);
        Assert.Equal(1, _fetcher.Fetches);
        Assert.Equal(2, _dns.Count("TXT"));
    }

    [Fact]
    public async Task Lookup_IdChanged_RefetchesAndReplaces()
    {
        await Lookup();
        _time.Advance(TimeSpan.FromHours(2));
        _dns.Txt(Txt, "v=STSv1; id=two");
        _fetcher.Serve(Domain, PolicyV2);

        var result = await Lookup();

        Assert.False(result.FromCache);
        Assert.Equal("two", result.PolicyId);
        Assert.Equal(2, result.Policy!.Mx.Count);
        Assert.Equal(2, _fetcher.Fetches);
    }

    [Fact]
    public async Task Lookup_IdChangedButFetchFails_KeepsCachedPolicy()
    {
        await Lookup();
        _time.Advance(TimeSpan.FromHours(2));
        _dns.Txt(Txt, "v=STSv1; id=two");
        _fetcher.Fail(Domain, MtaStsFetchError.HttpStatus);

        var result = await Lookup();

        Assert.Equal(MtaStsLookupStatus.Policy, result.Status);
        Assert.True(result.FromCache);
        Assert.Equal("one", result.PolicyId);
    }

    [Fact]
    public async Task Lookup_IdChangedButNewPolicyInvalid_KeepsCachedPolicy()
    {
        await Lookup();
        _time.Advance(TimeSpan.FromHours(2));
        _dns.Txt(Txt, "v=STSv1; id=two");
        _fetcher.Serve(Domain, "version: STSv1\nmode: bogus\n");

        var result = await Lookup();

        Assert.True(result.FromCache);
        Assert.Equal("one", result.PolicyId);
    }

    [Fact]
    public async Task Lookup_TxtLookupErrorWithCache_KeepsCachedPolicy()
    {
        await Lookup();
        _time.Advance(TimeSpan.FromHours(2));
        _dns.Fail(Txt, "TXT", DnsErrorKind.Timeout);

        var result = await Lookup();

        Assert.Equal(MtaStsLookupStatus.Policy, result.Status);
        Assert.True(result.FromCache);
    }

    [Fact]
    public async Task Lookup_TxtRemovedWithCache_KeepsCachedPolicyUntilMaxAge()
    {
        await Lookup();
        _time.Advance(TimeSpan.FromHours(23));
        _dns.Set(Txt, "TXT", new DnsResult<string>(Txt, DnsOutcome.NxDomain, true, [], []));

        var result = await Lookup();

        Assert.Equal(MtaStsLookupStatus.Policy, result.Status);
        Assert.True(result.FromCache);
    }

    [Fact]
    public async Task Lookup_CachedPolicyExpiredAndFetchFails_DoesNotUseExpiredPolicy()
    {
        await Lookup();
        _time.Advance(TimeSpan.FromSeconds(86401));
        _dns.Txt(Txt, "v=STSv1; id=two");
        _fetcher.Fail(Domain, MtaStsFetchError.Timeout);

        var result = await Lookup();

        Assert.Equal(MtaStsLookupStatus.FetchError, result.Status);
        Assert.Null(result.Policy);
        Assert.Equal(MtaStsFetchError.Timeout, result.FetchError);
    }

    [Fact]
    public async Task Lookup_TxtLookupErrorWithoutCache_IsLookupError()
    {
        _dns.Fail(Txt, "TXT");

        var result = await Lookup();

        Assert.Equal(MtaStsLookupStatus.LookupError, result.Status);
        Assert.Equal(0, _fetcher.Fetches);
    }

    [Fact]
    public async Task Lookup_TwoStsRecords_NoPolicyAndNoFetch()
    {
        _dns.Txt(Txt, "v=STSv1; id=one", "v=STSv1; id=two");

        var result = await Lookup();

        Assert.Equal(MtaStsLookupStatus.NoPolicy, result.Status);
        Assert.Equal(0, _fetcher.Fetches);
    }

    [Fact]
    public async Task Lookup_InvalidPolicyWithoutCache_IsPolicyInvalidWithLineEvidence()
    {
        _fetcher.Serve(Domain, "version: STSv1\nmode: enforse\nmx: mx.example.org\nmax_age: 60\n");

        var result = await Lookup();

        Assert.Equal(MtaStsLookupStatus.PolicyInvalid, result.Status);
        Assert.Contains(result.Evidence, e => e.Step == "mta-sts.policy" && e.Message.Contains("line 2", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Lookup_MaxAgeZero_AppliesOnceWithoutCaching()
    {
        _fetcher.Serve(Domain, "version: STSv1\nmode: enforce\nmx: mx.example.org\nmax_age: 0\n");

        var result = await Lookup();

        Assert.Equal(MtaStsLookupStatus.Policy, result.Status);
        Assert.Null(await _store.GetAsync(Domain, TestContext.Current.CancellationToken));
    }
}

/// <summary>Coalescing and failure backoff (RULES.md, MTA-STS "Cache and refresh").</summary>
public class MtaStsPolicyProviderConcurrencyTests
{
    private const string Domain = "example.org";
    private readonly FakeDnsResolver _dns = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero));

    public MtaStsPolicyProviderConcurrencyTests() => _dns.Txt("_mta-sts.example.org", "v=STSv1; id=one");

    private MtaStsPolicyProvider Provider(IMtaStsPolicyFetcher fetcher) =>
        new(_dns, fetcher, new InMemoryMtaStsPolicyStore(), new MtaStsPolicySettings { FailureBackoff = TimeSpan.FromSeconds(30), MaxFailureBackoff = TimeSpan.FromMinutes(2) }, _time);

    [Fact]
    public async Task Lookup_FiftySimultaneousFirstLookups_OneFetch()
    {
        var fetcher = new GatedFetcher("version: STSv1\nmode: enforce\nmx: mx.example.org\nmax_age: 86400\n");
        var provider = Provider(fetcher);

        var lookups = Enumerable.Range(0, 50).Select(_ => provider.LookupAsync(Domain, TestContext.Current.CancellationToken)).ToList();
        await fetcher.Started.Task.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        fetcher.Release.SetResult();
        var results = await Task.WhenAll(lookups);

        Assert.Equal(1, fetcher.Fetches);
        Assert.All(results, r => Assert.Equal(MtaStsLookupStatus.Policy, r.Status));
    }

    [Fact]
    public async Task Lookup_CallerCancels_SharedFetchGoesOnForOthers()
    {
        var fetcher = new GatedFetcher("version: STSv1\nmode: enforce\nmx: mx.example.org\nmax_age: 86400\n");
        var provider = Provider(fetcher);
        using var impatient = new CancellationTokenSource();

        var first = provider.LookupAsync(Domain, impatient.Token);
        var second = provider.LookupAsync(Domain, TestContext.Current.CancellationToken);
        await fetcher.Started.Task.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        await impatient.CancelAsync();
        fetcher.Release.SetResult();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);
        Assert.Equal(MtaStsLookupStatus.Policy, (await second).Status);
    }

    [Fact]
    public async Task Lookup_FailedFetch_NotRepeatedUntilBackoffEnds()
    {
        var fetcher = new FakePolicyFetcher().Fail(Domain, MtaStsFetchError.HttpStatus);
        var provider = Provider(fetcher);

        var first = await provider.LookupAsync(Domain, TestContext.Current.CancellationToken);
        _time.Advance(TimeSpan.FromSeconds(10));
        var during = await provider.LookupAsync(Domain, TestContext.Current.CancellationToken);
        _time.Advance(TimeSpan.FromSeconds(25));
        var after = await provider.LookupAsync(Domain, TestContext.Current.CancellationToken);

        Assert.Equal(MtaStsLookupStatus.FetchError, first.Status);
        Assert.Equal(MtaStsLookupStatus.FetchError, during.Status);
        Assert.Equal(MtaStsFetchError.HttpStatus, during.FetchError);
        Assert.Equal(2, fetcher.Fetches);
        Assert.Equal(MtaStsLookupStatus.FetchError, after.Status);
    }

    [Fact]
    public async Task Lookup_RepeatedFailures_BackoffDoubles()
    {
        var fetcher = new FakePolicyFetcher().Fail(Domain, MtaStsFetchError.Timeout);
        var provider = Provider(fetcher);

        await provider.LookupAsync(Domain, TestContext.Current.CancellationToken);   // fails: retry after 30 s
        _time.Advance(TimeSpan.FromSeconds(31));
        await provider.LookupAsync(Domain, TestContext.Current.CancellationToken);   // fails again: retry after 60 s
        _time.Advance(TimeSpan.FromSeconds(45));
        await provider.LookupAsync(Domain, TestContext.Current.CancellationToken);   // still backing off

        Assert.Equal(2, fetcher.Fetches);
    }

    [Fact]
    public async Task Lookup_FailedIdReplacedByNewId_FetchedAtOnce()
    {
        var fetcher = new FakePolicyFetcher().Fail(Domain, MtaStsFetchError.HttpStatus);
        var provider = Provider(fetcher);
        await provider.LookupAsync(Domain, TestContext.Current.CancellationToken);

        _dns.Txt("_mta-sts.example.org", "v=STSv1; id=two");
        fetcher.Serve(Domain, "version: STSv1\nmode: enforce\nmx: mx.example.org\nmax_age: 86400\n");
        var result = await provider.LookupAsync(Domain, TestContext.Current.CancellationToken);

        Assert.Equal(MtaStsLookupStatus.Policy, result.Status);
        Assert.Equal(2, fetcher.Fetches);
    }

    /// <summary>A fetcher that holds every fetch until released, counting them.</summary>
    private sealed class GatedFetcher(string body) : IMtaStsPolicyFetcher
    {
        private int _fetches;

        public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Fetches => _fetches;

        public async Task<MtaStsFetchResult> FetchAsync(string domain, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _fetches);
            Started.TrySetResult();
            await Release.Task;
            return new(MtaStsFetchError.None, MtaStsPolicyFetcher.PolicyUrl(domain), "gated", 200, System.Text.Encoding.UTF8.GetBytes(body));
        }
    }
}
