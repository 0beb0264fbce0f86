using System.Net;
using Microsoft.Extensions.Time.Testing;
using Rampart.Core.Dane;
using Rampart.Core.Dns;
using Rampart.Core.MtaSts;
using Rampart.Core.Policy;
using Rampart.Core.Tests.Fakes;

namespace Rampart.Core.Tests.Policy;

/// <summary>The daemon's decision cache: never wait when something valid is known; survive DNS outages with cached policies.</summary>
public class SenderPolicyCacheTests
{
    private const string Domain = "example.org";
    private readonly FakeDnsResolver _dns = new();
    private readonly GatedDns _gate;
    private readonly FakePolicyFetcher _fetcher = new();
    private readonly InMemoryMtaStsPolicyStore _store = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero));

    public SenderPolicyCacheTests()
    {
        _gate = new GatedDns(_dns);
        _dns.Mx(Domain, (10, "mx.example.org")).Txt("_mta-sts.example.org", "v=STSv1; id=1");
        _fetcher.Serve(Domain, "version: STSv1\nmode: enforce\nmx: mx.example.org\nmax_age: 86400\n");
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private SenderPolicyCache NewCache(SenderPolicyCacheSettings? settings = null, Action<SenderPolicyDecided>? decided = null)
    {
        var provider = new MtaStsPolicyProvider(_gate, _fetcher, _store, new MtaStsPolicySettings(), _time);
        var resolver = new SenderPolicyResolver(_gate, new DaneHostLookup(_gate), provider, new SenderPolicySettings());
        return new SenderPolicyCache(resolver, settings ?? new SenderPolicyCacheSettings(), _time, decided: decided);
    }

    [Fact]
    public async Task Get_ManyStaleDuringOutage_AtMostTheBoundRefreshAtOnce_AndANewDomainDoesNotQueueBehindThem()
    {
        var domains = Enumerable.Range(0, 6).Select(i => $"d{i}.example").ToList();
        foreach (var domain in domains.Append("new.example"))
        {
            _dns.Mx(domain, (10, "mx." + domain));
        }
        var cache = NewCache(new SenderPolicyCacheSettings { MaxBackgroundRefreshes = 2 });
        foreach (var domain in domains)
        {
            await cache.GetAsync(domain, Ct);
        }
        _time.Advance(TimeSpan.FromMinutes(6));
        _gate.Close(); // the resolver stops answering: every refresh hangs in its first query

        foreach (var domain in domains)
        {
            Assert.Equal(TlsRequirement.NoPolicy, (await cache.GetAsync(domain, Ct)).Requirement); // stale, answered at once
        }
        await WaitForRefreshesAsync(cache, domains.Count + 2);
        await Task.Delay(100, Ct);
        Assert.Equal(domains.Count + 2, cache.Counters.Refreshes); // 6 first lookups + 2 refreshes let through

        var fresh = cache.GetAsync("new.example", Ct).AsTask();
        await WaitForRefreshesAsync(cache, domains.Count + 3);
        Assert.Equal(domains.Count + 3, cache.Counters.Refreshes); // a lookup that waits is not queued behind the bound
        _gate.Open();
        Assert.Equal(TlsRequirement.NoPolicy, (await fresh).Requirement);
        await WaitForRefreshesAsync(cache, 2 * domains.Count + 1);
        Assert.Equal(2 * domains.Count + 1, cache.Counters.Refreshes); // the queued refreshes ran once the resolver answered
    }

    [Fact]
    public async Task Decided_ToldOncePerDecision_NotPerAnswer_AndOfAFailedRefreshThatKeepsTheOldAnswer()
    {
        // a domain without any policy: during an outage its refresh fails (TEMP), the old answer is kept
        const string plain = "plain.example";
        _dns.Mx(plain, (10, "mx.plain.example"));
        var told = new System.Collections.Concurrent.ConcurrentQueue<SenderPolicyDecided>();
        var cache = NewCache(decided: told.Enqueue);

        await cache.GetAsync(plain, Ct);
        await cache.GetAsync(plain, Ct);
        await cache.GetAsync(plain, Ct);
        var first = Assert.Single(told);
        Assert.Equal(plain, first.Domain);
        Assert.Null(first.KeptInstead);
        Assert.Equal(TlsRequirement.NoPolicy, first.Decision.Requirement);
        Assert.NotEmpty(SenderPolicyDecided.Why(first.Decision));

        _time.Advance(TimeSpan.FromMinutes(6));
        _dns.Fail(plain, "MX", DnsErrorKind.Timeout);
        Assert.Equal(TlsRequirement.NoPolicy, (await cache.GetAsync(plain, Ct)).Requirement); // stale; its refresh fails
        for (var i = 0; i < 200 && told.Count < 2; i++)
        {
            await Task.Delay(10, Ct);
        }
        Assert.Equal(2, told.Count);
        var failed = told.Last();
        Assert.Equal(SenderPolicyKind.TempFail, failed.Decision.Kind);
        Assert.Equal(first.Decision.Requirement, failed.KeptInstead?.Requirement);
    }

    [Fact]
    public async Task Get_FreshDecision_NoLookup()
    {
        var cache = NewCache();
        await cache.GetAsync(Domain, Ct);
        var queries = _dns.Queries.Count;

        var decision = await cache.GetAsync(Domain, Ct);

        Assert.Equal(SenderPolicyKind.MtaSts, decision.Kind);
        Assert.Equal(queries, _dns.Queries.Count);
        Assert.Equal(1, cache.Counters.Hits);
    }

    [Fact]
    public async Task Get_StaleDecision_AnsweredWithoutWaitingForTheRefresh()
    {
        var cache = NewCache();
        var first = await cache.GetAsync(Domain, Ct);
        _time.Advance(TimeSpan.FromMinutes(6));
        _gate.Close();

        var stale = cache.GetAsync(Domain, Ct).AsTask();
        var answered = await Task.WhenAny(stale, Task.Delay(TimeSpan.FromSeconds(5), Ct)) == stale;
        _gate.Open();

        Assert.True(answered, "a stale decision must be answered while the refresh waits");
        Assert.Equal(first.Requirement, (await stale).Requirement);
        Assert.Equal(1, cache.Counters.Stale);
    }

    [Fact]
    public async Task Get_StaleDuringOutage_OneRefreshPerBackoffNotOnePerLookup()
    {
        // a domain without any policy: during an outage its refresh fails (TEMP), the old answer is kept
        const string plain = "plain.example";
        _dns.Mx(plain, (10, "mx.plain.example"));
        var cache = NewCache();
        Assert.Equal(TlsRequirement.NoPolicy, (await cache.GetAsync(plain, Ct)).Requirement);
        _time.Advance(TimeSpan.FromMinutes(6));
        _dns.Fail(plain, "MX", DnsErrorKind.Timeout);

        await cache.GetAsync(plain, Ct); // stale: starts the refresh that fails
        await WaitForRefreshesAsync(cache, 2);
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal(TlsRequirement.NoPolicy, (await cache.GetAsync(plain, Ct)).Requirement);
        }
        await Task.Delay(50, Ct);
        Assert.Equal(2, cache.Counters.Refreshes);

        _time.Advance(TimeSpan.FromSeconds(31));
        await cache.GetAsync(plain, Ct);
        await WaitForRefreshesAsync(cache, 3);
        Assert.Equal(3, cache.Counters.Refreshes);
    }

    private static async Task WaitForRefreshesAsync(SenderPolicyCache cache, long count)
    {
        for (var i = 0; i < 200 && cache.Counters.Refreshes < count; i++)
        {
            await Task.Delay(10, Ct);
        }
    }

    [Fact]
    public async Task Get_Remembered_KeepsOnlyTheReplyAndItsReason()
    {
        var cache = NewCache();
        var full = await cache.GetAsync(Domain, Ct);

        var remembered = await cache.GetAsync(Domain, Ct);

        Assert.True(full.Evidence.Count > 1);
        Assert.Equal(full.Requirement, remembered.Requirement);
        Assert.Equal(full.Kind, remembered.Kind);
        Assert.Equal("decision", Assert.Single(remembered.Evidence).Step);
        Assert.Null(remembered.Dane);
        Assert.Null(remembered.MtaStsPolicy);
    }

    [Fact]
    public async Task Get_RememberedWithTlsRpt_KeepsThePolicyTheTlsRptAttributesNeed()
    {
        var provider = new MtaStsPolicyProvider(_gate, _fetcher, _store, new MtaStsPolicySettings(), _time);
        var resolver = new SenderPolicyResolver(_gate, new DaneHostLookup(_gate), provider, new SenderPolicySettings { TlsRpt = true });
        var cache = new SenderPolicyCache(resolver, new SenderPolicyCacheSettings(), _time);
        var full = await cache.GetAsync(Domain, Ct);

        var remembered = await cache.GetAsync(Domain, Ct);

        Assert.NotSame(full, remembered);
        Assert.Null(remembered.MtaStsPolicy);
        Assert.Equal(full.TlsRpt, remembered.TlsRpt);
        Assert.Equal(Domain, remembered.TlsRpt?.PolicyDomain);
    }

    [Fact]
    public async Task Get_DnsOutageWithCachedPolicy_StillEnforced()
    {
        var cache = NewCache();
        await cache.GetAsync(Domain, Ct);
        _time.Advance(TimeSpan.FromHours(2));
        _dns.Fail(Domain, "MX", DnsErrorKind.Timeout);

        var decision = await cache.GetAsync(Domain, Ct);

        Assert.Equal(SenderPolicyKind.MtaSts, decision.Kind);
        Assert.Equal(TlsRequirement.Secure(["mx.example.org"]), decision.Requirement);
    }

    [Fact]
    public async Task Get_RestartWithPersistedPolicyAndNoNetwork_EnforcedAtOnce()
    {
        await NewCache().GetAsync(Domain, Ct);
        _gate.Close();
        var restarted = NewCache();

        var answer = restarted.GetAsync(Domain, Ct).AsTask();
        var answered = await Task.WhenAny(answer, Task.Delay(TimeSpan.FromSeconds(5), Ct)) == answer;
        _gate.Open();

        Assert.True(answered, "a persisted policy must be answered before any network lookup");
        Assert.Equal(SenderPolicyKind.MtaSts, (await answer).Kind);
        Assert.Equal(1, restarted.Counters.FromPolicyCache);
    }

    [Fact]
    public async Task Get_FiftyConcurrentFirstLookups_OneMxQuery()
    {
        var cache = NewCache();
        _gate.Close();

        var lookups = Enumerable.Range(0, 50).Select(_ => cache.GetAsync(Domain, Ct).AsTask()).ToList();
        await Task.Delay(100, Ct);
        _gate.Open();
        var decisions = await Task.WhenAll(lookups);

        Assert.All(decisions, d => Assert.Equal(SenderPolicyKind.MtaSts, d.Kind));
        Assert.Equal(1, _dns.Count("MX"));
        Assert.Equal(1, _fetcher.Fetches);
    }

    [Fact]
    public async Task Get_TempFail_RememberedBriefly()
    {
        _dns.Fail(Domain, "MX");
        _dns.Txt("_mta-sts.example.org");
        var cache = NewCache();
        await cache.GetAsync(Domain, Ct);

        _time.Advance(TimeSpan.FromSeconds(10));
        var again = await cache.GetAsync(Domain, Ct);
        _time.Advance(TimeSpan.FromSeconds(30));
        await cache.GetAsync(Domain, Ct);

        Assert.Equal(SenderPolicyKind.TempFail, again.Kind);
        Assert.Equal(2, _dns.Count("MX"));
    }

    /// <summary>Holds every DNS question while closed.</summary>
    private sealed class GatedDns(IDnsResolver inner) : IDnsResolver
    {
        private volatile TaskCompletionSource _open = Opened();

        private static TaskCompletionSource Opened()
        {
            var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            tcs.SetResult();
            return tcs;
        }

        public void Close() => _open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Open() => _open.TrySetResult();

        private async Task<T> Pass<T>(Func<Task<T>> query)
        {
            await _open.Task;
            return await query();
        }

        public Task<DnsResult<string>> QueryTxtAsync(string name, CancellationToken ct) => Pass(() => inner.QueryTxtAsync(name, ct));

        public Task<DnsResult<MxRecord>> QueryMxAsync(string name, CancellationToken ct) => Pass(() => inner.QueryMxAsync(name, ct));

        public Task<DnsResult<IPAddress>> QueryAddressesAsync(string name, CancellationToken ct) => Pass(() => inner.QueryAddressesAsync(name, ct));

        public Task<DnsResult<TlsaRecordData>> QueryTlsaAsync(string name, CancellationToken ct) => Pass(() => inner.QueryTlsaAsync(name, ct));
    }
}
