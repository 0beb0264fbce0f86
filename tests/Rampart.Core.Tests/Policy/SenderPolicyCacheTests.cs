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
        _gate.Close(); // the resolver stops answering: every refresh hangs in its first queries
        const int firstQuestions = 2; // a decision asks for the MX and the _mta-sts TXT record at once (issue 18)

        foreach (var domain in domains)
        {
            Assert.Equal(TlsRequirement.NoPolicy, (await cache.GetAsync(domain, Ct)).Requirement); // stale, answered at once
        }
        await _gate.HeldAsync(2 * firstQuestions); // the 2 refreshes let through ask their first questions
        Assert.Equal(domains.Count + 2, cache.Counters.Refreshes); // 6 first lookups + 2 refreshes let through

        var fresh = cache.GetAsync("new.example", Ct).AsTask();
        await _gate.HeldAsync(firstQuestions); // a lookup that waits is not queued behind the bound: it asks at once
        Assert.Equal(domains.Count + 3, cache.Counters.Refreshes);
        Assert.Equal(3 * firstQuestions, _gate.Held); // and no other refresh got past the bound meanwhile
        _gate.Open();
        Assert.Equal(TlsRequirement.NoPolicy, (await fresh).Requirement);
        await Task.WhenAll(domains.Select(cache.WhenRefreshedAsync));
        Assert.Equal(2 * domains.Count + 1, cache.Counters.Refreshes); // the queued refreshes ran once the resolver answered
    }

    [Fact]
    public async Task Get_ManyStale_PastTheWaitingBound_NoRefreshIsQueued_AndTheNextLookupRefreshes()
    {
        var domains = Enumerable.Range(0, 6).Select(i => $"w{i}.example").ToList();
        foreach (var domain in domains)
        {
            _dns.Mx(domain, (10, "mx." + domain));
        }
        var cache = NewCache(new SenderPolicyCacheSettings { MaxBackgroundRefreshes = 1, MaxWaitingRefreshes = 2 });
        foreach (var domain in domains)
        {
            await cache.GetAsync(domain, Ct);
        }
        _time.Advance(TimeSpan.FromMinutes(6));
        _gate.Close();

        foreach (var domain in domains)
        {
            Assert.Equal(TlsRequirement.NoPolicy, (await cache.GetAsync(domain, Ct)).Requirement); // stale, answered at once
        }

        Assert.Equal(3, cache.Counters.RefreshesSkipped); // one runs, two wait, the other three start nothing
        Assert.Equal(TlsRequirement.NoPolicy, (await cache.GetAsync(domains[1], Ct)).Requirement); // waiting: joined, not skipped
        Assert.Equal(3, cache.Counters.RefreshesSkipped);
        _gate.Open();
        await Task.WhenAll(domains.Select(cache.WhenRefreshedAsync));
        Assert.Equal(domains.Count + 3, cache.Counters.Refreshes);

        await cache.GetAsync(domains[5], Ct); // skipped before, still stale: its next lookup refreshes it
        await cache.WhenRefreshedAsync(domains[5]);
        Assert.Equal(domains.Count + 4, cache.Counters.Refreshes);
        Assert.Equal(3, cache.Counters.RefreshesSkipped);
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
        await cache.WhenRefreshedAsync(plain);
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
        await cache.WhenRefreshedAsync(plain);
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal(TlsRequirement.NoPolicy, (await cache.GetAsync(plain, Ct)).Requirement);
            Assert.True(cache.WhenRefreshedAsync(plain).IsCompleted, "no refresh may start while the failed one backs off");
        }
        Assert.Equal(2, cache.Counters.Refreshes);

        _time.Advance(TimeSpan.FromSeconds(31));
        await cache.GetAsync(plain, Ct);
        await cache.WhenRefreshedAsync(plain);
        Assert.Equal(3, cache.Counters.Refreshes);
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
    public async Task Get_RememberedDomainsAtOneProvider_ShareOneRequirementAndReason_EachKeepsItsDomain()
    {
        _dns.Mx("example.net", (10, "mx.example.org")).Txt("_mta-sts.example.net", "v=STSv1; id=1");
        _fetcher.Serve("example.net", "version: STSv1\nmode: enforce\nmx: mx.example.org\nmax_age: 86400\n");
        _dns.Mx("example.com", (10, "mx.example.com")).Txt("_mta-sts.example.com", "v=STSv1; id=1");
        _fetcher.Serve("example.com", "version: STSv1\nmode: enforce\nmx: mx.example.com\nmax_age: 86400\n");
        var cache = NewCache();
        foreach (var domain in new[] { Domain, "example.net", "example.com" })
        {
            await cache.GetAsync(domain, Ct);
        }

        var org = await cache.GetAsync(Domain, Ct);
        var net = await cache.GetAsync("example.net", Ct);
        var com = await cache.GetAsync("example.com", Ct);

        Assert.Equal(3, cache.Counters.Hits);
        Assert.Equal((Domain, "example.net", "example.com"), (org.Domain, net.Domain, com.Domain));
        Assert.Same(org.Requirement, net.Requirement);
        Assert.Same(org.Evidence, net.Evidence);
        Assert.Equal(["mx.example.org"], net.Requirement.MatchNames);
        Assert.NotSame(org.Requirement, com.Requirement);
        Assert.Equal(["mx.example.com"], com.Requirement.MatchNames);
        Assert.Contains("mx.example.com", Assert.Single(com.Evidence).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SharedParts_PastItsCapacity_StartsAgainAndStillGivesEqualValues()
    {
        var shared = new SenderPolicyCache.SharedParts(capacity: 2);
        var first = shared.Requirement(TlsRequirement.Secure(["mx1.example.org"]));
        shared.Requirement(TlsRequirement.Secure(["mx2.example.org"]));
        shared.Requirement(TlsRequirement.Secure(["mx3.example.org"]));

        var again = shared.Requirement(TlsRequirement.Secure(["mx1.example.org"]));

        Assert.InRange(shared.Count, 1, 2);
        Assert.Equal(first, again);
        Assert.Same(again, shared.Requirement(TlsRequirement.Secure(["mx1.example.org"])));
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
    public async Task Get_RestartAfterADaneDecision_ThePolicyFetchedBesideItIsNotAnsweredFirst()
    {
        // The trap of 44174e1 (reverted in 0a2d4e4): the MTA-STS policy fetched beside a DANE decision is cached, and a
        // restarted daemon (a new resolver and cache over the same store) must not answer with it before deciding DANE.
        MakeDane();
        Assert.Equal(SenderPolicyKind.DaneOnly, (await NewCache().GetAsync(Domain, Ct)).Kind);
        var stored = await StoredAsync(e => true); // the lookup beside the decision finishes on its own and caches the policy
        Assert.False(stored.DecidedWithoutDane);

        var restarted = NewCache();
        var answer = await restarted.GetAsync(Domain, Ct);

        Assert.Equal(SenderPolicyKind.DaneOnly, answer.Kind);
        Assert.Equal(0, restarted.Counters.FromPolicyCache);
        Assert.Equal(1, restarted.Counters.Misses);
    }

    [Fact]
    public async Task Get_RestartAfterTheDomainTurnedToDane_ItsEarlierPolicyIsNoLongerAnsweredFirst()
    {
        var cache = NewCache();
        Assert.Equal(SenderPolicyKind.MtaSts, (await cache.GetAsync(Domain, Ct)).Kind);
        Assert.True((await StoredAsync(e => e.DecidedWithoutDane)).DecidedWithoutDane);
        MakeDane();
        _time.Advance(TimeSpan.FromMinutes(6));
        await cache.GetAsync(Domain, Ct); // stale: answered, refreshed in the background
        await cache.WhenRefreshedAsync(Domain);
        await StoredAsync(e => !e.DecidedWithoutDane); // the refresh decided by DANE and says so on the cached policy

        var restarted = NewCache();

        Assert.Equal(SenderPolicyKind.DaneOnly, (await restarted.GetAsync(Domain, Ct)).Kind);
        Assert.Equal(0, restarted.Counters.FromPolicyCache);
    }

    [Fact]
    public async Task Get_MxLookupFailingAfterADaneDecision_TempFailNotThePolicyFetchedBesideIt()
    {
        MakeDane();
        Assert.Equal(SenderPolicyKind.DaneOnly, (await NewCache().GetAsync(Domain, Ct)).Kind);
        await StoredAsync(e => true);
        _dns.Fail(Domain, "MX", DnsErrorKind.Timeout);

        var answer = await NewCache().GetAsync(Domain, Ct);

        Assert.Equal(SenderPolicyKind.TempFail, answer.Kind);
    }

    /// <summary>mx.example.org gets a signed address and usable TLSA records: DANE applies to the domain.</summary>
    private void MakeDane() =>
        _dns.Address("mx.example.org", "192.0.2.1").Tlsa("_25._tcp.mx.example.org", "3 1 1 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF");

    /// <summary>The domain's cached policy once it satisfies <paramref name="until"/> (polled; at most 10 s).</summary>
    private async Task<CachedMtaStsPolicy> StoredAsync(Func<CachedMtaStsPolicy, bool> until)
    {
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        bound.CancelAfter(TimeSpan.FromSeconds(10));
        while (true)
        {
            if (await _store.GetAsync(Domain, Ct) is { } entry && until(entry))
            {
                return entry;
            }
            await Task.Delay(10, bound.Token);
        }
    }

    [Fact]
    public async Task Get_RestartWithPersistedWildcardPolicy_AnswersTheMxHostsThePatternCovers_AsLiveAndTellsTheAnswer()
    {
        // *.wild.example covers mx.wild.example but not a.mx.wild.example; Postfix's .wild.example would accept both
        const string wild = "wild.example";
        _dns.Mx(wild, (10, "mx.wild.example"), (20, "a.mx.wild.example")).Txt("_mta-sts.wild.example", "v=STSv1; id=1");
        _fetcher.Serve(wild, "version: STSv1\nmode: enforce\nmx: *.wild.example\nmax_age: 86400\n");
        var live = await NewCache().GetAsync(wild, Ct);
        Assert.Equal(TlsRequirement.Secure(["mx.wild.example"]), live.Requirement);
        var told = new System.Collections.Concurrent.ConcurrentQueue<SenderPolicyDecided>();
        var restarted = NewCache(decided: told.Enqueue);

        var answer = await restarted.GetAsync(wild, Ct);
        await restarted.WhenRefreshedAsync(wild);

        Assert.Equal(1, restarted.Counters.FromPolicyCache);
        Assert.Equal(live.Requirement, answer.Requirement);
        Assert.Equal(2, told.Count);
        var fromStore = told.First();
        Assert.True(fromStore.FromPolicyCache);
        Assert.Equal(answer.Requirement, fromStore.Decision.Requirement); // the answer sent is the answer told (and logged)
        var refreshed = told.Last();
        Assert.False(refreshed.FromPolicyCache);
        Assert.Equal(live.Requirement, refreshed.Decision.Requirement);
    }

    [Fact]
    public async Task Get_RestartWithPersistedWildcardPolicyAndMxLookupFailing_FallsBackToTheDomainFormAndSaysWhy()
    {
        const string wild = "wild.example";
        _dns.Mx(wild, (10, "mx.wild.example")).Txt("_mta-sts.wild.example", "v=STSv1; id=1");
        _fetcher.Serve(wild, "version: STSv1\nmode: enforce\nmx: *.wild.example\nmax_age: 86400\n");
        await NewCache().GetAsync(wild, Ct);
        _dns.Fail(wild, "MX", DnsErrorKind.Timeout);
        var told = new System.Collections.Concurrent.ConcurrentQueue<SenderPolicyDecided>();
        var restarted = NewCache(decided: told.Enqueue);

        var answer = await restarted.GetAsync(wild, Ct);

        Assert.Equal(TlsRequirement.Secure([".wild.example"]), answer.Requirement); // docs/postfix.md: only when MX fails
        Assert.Contains(answer.Evidence, e => e.Step == "mx" && e.Outcome == EvidenceOutcome.Fail);
        Assert.Equal(answer.Requirement, told.First().Decision.Requirement);
        await restarted.WhenRefreshedAsync(wild);
    }

    [Fact]
    public async Task Get_FiftyConcurrentFirstLookups_OneMxQuery()
    {
        var cache = NewCache();
        _gate.Close();

        var lookups = Enumerable.Range(0, 50).Select(_ => cache.GetAsync(Domain, Ct).AsTask()).ToList();
        await _gate.HeldAsync(1); // every lookup has joined the first one, which is asking for the MX
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

    /// <summary>Holds every DNS question while closed; tests await the questions it holds.</summary>
    private sealed class GatedDns(IDnsResolver inner) : IDnsResolver
    {
        private volatile TaskCompletionSource _open = Opened();
        private readonly System.Threading.Channels.Channel<string> _arrived = System.Threading.Channels.Channel.CreateUnbounded<string>();
        private int _held;

        /// <summary>Questions held since the gate last closed.</summary>
        public int Held => Volatile.Read(ref _held);

        /// <summary>Completes once <paramref name="count"/> more questions are held than this has already waited for.</summary>
        public async Task HeldAsync(int count)
        {
            for (var i = 0; i < count; i++)
            {
                await _arrived.Reader.ReadAsync(Ct).AsTask().WaitAsync(TimeSpan.FromSeconds(10), Ct);
            }
        }

        private static TaskCompletionSource Opened()
        {
            var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            tcs.SetResult();
            return tcs;
        }

        public void Close()
        {
            Volatile.Write(ref _held, 0);
            _open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        public void Open() => _open.TrySetResult();

        private async Task<T> Pass<T>(string name, Func<Task<T>> query)
        {
            var open = _open.Task;
            if (!open.IsCompleted)
            {
                Interlocked.Increment(ref _held);
                _arrived.Writer.TryWrite(name);
            }
            await open;
            return await query();
        }

        public Task<DnsResult<string>> QueryTxtAsync(string name, CancellationToken ct) => Pass(name, () => inner.QueryTxtAsync(name, ct));

        public Task<DnsResult<MxRecord>> QueryMxAsync(string name, CancellationToken ct) => Pass(name, () => inner.QueryMxAsync(name, ct));

        public Task<DnsResult<IPAddress>> QueryAddressesAsync(string name, CancellationToken ct) => Pass(name, () => inner.QueryAddressesAsync(name, ct));

        public Task<DnsResult<TlsaRecordData>> QueryTlsaAsync(string name, CancellationToken ct) => Pass(name, () => inner.QueryTlsaAsync(name, ct));
    }
}

/// <summary>The tests name domains as text; the cache takes them parsed, as the socketmap edge gives them.</summary>
internal static class SenderPolicyCacheByName
{
    public static ValueTask<SenderPolicyDecision> GetAsync(this SenderPolicyCache cache, string domain, CancellationToken cancellationToken) =>
        cache.GetAsync(DomainName.Parse(domain), cancellationToken);

    public static Task WhenRefreshedAsync(this SenderPolicyCache cache, string domain) => cache.WhenRefreshedAsync(DomainName.Parse(domain));
}
