using Microsoft.Extensions.Time.Testing;
using Rampart.Core.Dns;
using Rampart.Core.MtaSts;
using Rampart.Core.Tests.Fakes;

namespace Rampart.Core.Tests.Policy;

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
