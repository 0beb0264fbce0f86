using Rampart.Core.TlsRpt;

namespace Rampart.Storage.Tests.TlsRpt;

/// <summary>
/// What every session store promises (SQLite in the state directory, PostgreSQL for a fleet), run against each by a
/// subclass that only opens it: counts per UTC day, report domain, TLSRPT record and policy; failure details grouped;
/// batches atomic; record keys make adding again harmless; cursors per source; what was added survives reopening.
/// </summary>
public abstract class TlsSessionStoreContractTests
{
    protected const string Record = "v=TLSRPTv1; rua=mailto:tlsrpt@example.net";

    protected static readonly DateTimeOffset s_day1 = new(2026, 12, 7, 10, 0, 0, TimeSpan.Zero);
    protected static readonly TlsSessionPolicy s_sts = new(TlsRptPolicyTypes.Sts, "example.net",
        ["version: STSv1", "mode: enforce", "mx: *.example.net", "max_age: 604800"], ["*.example.net"]);

    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A store on this test's storage (fresh for each test; opening again opens the same storage).</summary>
    protected abstract Task<ITlsSessionStore> OpenAsync();

    protected static TlsSessionResult Success(string domain = "example.net", TlsSessionPolicy? policy = null, DateTimeOffset? at = null, string? record = Record) =>
        new(domain, record, policy ?? s_sts, true, [], at ?? s_day1);

    protected static TlsSessionResult Failure(TlsSessionFailure failure, string domain = "example.net", TlsSessionPolicy? policy = null, DateTimeOffset? at = null) =>
        new(domain, Record, policy ?? s_sts, false, [failure], at ?? s_day1);

    protected static readonly TlsSessionFailure s_stripped = new(TlsRptResultTypes.StartTlsNotSupported, "192.0.2.1", "mx1.example.net", "mx1.example.net", "198.51.100.1");
    protected static readonly TlsSessionFailure s_forged = new(TlsRptResultTypes.CertificateNotTrusted, "192.0.2.1", "mx2.example.net", null, "198.51.100.2", null, "self-signed_certificate");

    protected static IReadOnlyList<TlsSessionEntry> Entries(params TlsSessionResult[] results) => results.Select(r => new TlsSessionEntry(r)).ToList();

    protected async Task<(long Successful, long Failed)> TotalsAsync(ITlsSessionStore store)
    {
        var day = await store.ReadDayAsync(new DateOnly(2026, 12, 7), null, Ct);
        return (day.Sum(p => p.Successful), day.Sum(p => p.Failed));
    }

    [Fact]
    public async Task AddAsync_SessionsOfOnePolicy_CountedAndFailuresGrouped()
    {
        await using var store = await OpenAsync();

        var counted = await store.AddAsync(TlsSessionSources.Datagram,
            Entries(Success(), Success(), Failure(s_stripped), Failure(s_stripped), Failure(s_forged), Success()), null, Ct);

        Assert.Equal(6, counted);
        var policy = Assert.Single(await store.ReadDayAsync(new DateOnly(2026, 12, 7), null, Ct));
        Assert.Equal("example.net", policy.ReportDomain);
        Assert.Equal(Record, policy.TlsRptRecord);
        Assert.Equal(s_sts.PolicyType, policy.Policy.PolicyType);
        Assert.Equal(s_sts.PolicyDomain, policy.Policy.PolicyDomain);
        Assert.Equal(s_sts.PolicyStrings, policy.Policy.PolicyStrings);
        Assert.Equal(s_sts.MxHostPatterns, policy.Policy.MxHostPatterns);
        Assert.Equal(3, policy.Successful);
        Assert.Equal(3, policy.Failed);
        Assert.Equal([new TlsSessionFailureCount(s_stripped, 2), new TlsSessionFailureCount(s_forged, 1)], policy.Failures);
    }

    [Fact]
    public async Task AddAsync_ManyBatches_SummedAcrossThem()
    {
        await using var store = await OpenAsync();
        for (var i = 0; i < 5; i++)
        {
            await store.AddAsync(TlsSessionSources.Datagram, Entries(Success(), Failure(s_stripped)), null, Ct);
        }

        var policy = Assert.Single(await store.ReadDayAsync(new DateOnly(2026, 12, 7), null, Ct));
        Assert.Equal((5, 5), (policy.Successful, policy.Failed));
        Assert.Equal(5, Assert.Single(policy.Failures).Sessions);
    }

    [Fact]
    public async Task AddAsync_DaysDomainsRecordsAndPolicies_KeptApart()
    {
        await using var store = await OpenAsync();
        var tlsa = new TlsSessionPolicy(TlsRptPolicyTypes.Tlsa, "mx.example.net", ["3 1 1 ABCD"], []);
        var lastMoment = new DateTimeOffset(2026, 12, 7, 23, 59, 59, 999, TimeSpan.Zero);
        var nextDay = lastMoment.AddMilliseconds(1);

        await store.AddAsync(TlsSessionSources.Datagram, Entries(
            Success(at: lastMoment), Success(at: nextDay),
            Success("other.example"),
            Success(record: "v=TLSRPTv1; rua=mailto:other@example.net"), Success(record: null),
            Success(policy: tlsa), Success(policy: TlsSessionPolicy.NoPolicyFound),
            Success(policy: s_sts with { PolicyDomain = null })), null, Ct);

        Assert.Equal([new DateOnly(2026, 12, 7), new DateOnly(2026, 12, 8)], await store.DaysAsync(Ct));
        var day = await store.ReadDayAsync(new DateOnly(2026, 12, 7), null, Ct);
        Assert.Equal(7, day.Count);
        Assert.All(day, p => Assert.Equal(1, p.Successful));
        Assert.Equal(["example.net", "example.net", "example.net", "example.net", "example.net", "example.net", "other.example"], day.Select(p => p.ReportDomain));
        Assert.Contains(day, p => p.TlsRptRecord is null);
        Assert.Contains(day, p => p.Policy.PolicyType == TlsRptPolicyTypes.NoPolicyFound && p.Policy.PolicyDomain is null);
        Assert.Single(await store.ReadDayAsync(new DateOnly(2026, 12, 7), "other.example", Ct));
        Assert.Single(await store.ReadDayAsync(new DateOnly(2026, 12, 8), null, Ct));
    }

    [Fact]
    public async Task AddAsync_NullAndEmptyAndNewlines_RoundTrip()
    {
        await using var store = await OpenAsync();
        var odd = new TlsSessionPolicy(TlsRptPolicyTypes.Sts, "example.net", ["line\nwith newline", "", "quote \" and \\"], ["a", "b"]);
        var failure = new TlsSessionFailure(TlsRptResultTypes.ValidationFailure, null, null, null, null, "", "x\ny");

        await store.AddAsync(TlsSessionSources.Datagram, Entries(Failure(failure, policy: odd)), null, Ct);

        var policy = Assert.Single(await store.ReadDayAsync(new DateOnly(2026, 12, 7), null, Ct));
        Assert.Equal(odd.PolicyStrings, policy.Policy.PolicyStrings);
        Assert.Equal(odd.MxHostPatterns, policy.Policy.MxHostPatterns);
        Assert.Equal(failure, Assert.Single(policy.Failures).Failure);
    }

    [Fact]
    public async Task AddAsync_SameRecordKeysAgain_CountedOnce()
    {
        await using var store = await OpenAsync();
        var batch = new List<TlsSessionEntry>
        {
            new(Success(), "maillog:1:100"),
            new(Failure(s_stripped), "maillog:1:200"),
            new(Failure(s_stripped), "maillog:1:200"), // the same line twice in one batch
        };

        Assert.Equal(2, await store.AddAsync(TlsSessionSources.Log, batch, "1:200", Ct));
        Assert.Equal(0, await store.AddAsync(TlsSessionSources.Log, batch, "1:200", Ct));
        // The same key from another source is another record.
        Assert.Equal(1, await store.AddAsync(TlsSessionSources.Datagram, [new(Success(), "maillog:1:100")], null, Ct));

        var policy = Assert.Single(await store.ReadDayAsync(new DateOnly(2026, 12, 7), null, Ct));
        Assert.Equal((2, 1), (policy.Successful, policy.Failed));
        Assert.Equal(1, Assert.Single(policy.Failures).Sessions);
    }

    [Fact]
    public async Task AddAsync_NoRecordKey_EveryAddCounts()
    {
        // A datagram carries nothing that identifies it: two alike datagrams are two sessions.
        await using var store = await OpenAsync();

        await store.AddAsync(TlsSessionSources.Datagram, Entries(Success()), null, Ct);
        await store.AddAsync(TlsSessionSources.Datagram, Entries(Success()), null, Ct);

        Assert.Equal(2, Assert.Single(await store.ReadDayAsync(new DateOnly(2026, 12, 7), null, Ct)).Successful);
    }

    [Fact]
    public async Task AddAsync_Cursor_RecordedPerSource()
    {
        await using var store = await OpenAsync();
        Assert.Null(await store.ReadCursorAsync(TlsSessionSources.Log, Ct));

        await store.AddAsync(TlsSessionSources.Log, Entries(Success()), "inode 7 offset 100", Ct);
        await store.AddAsync(TlsSessionSources.Log, [], "inode 7 offset 180", Ct);
        await store.AddAsync(TlsSessionSources.Log, Entries(Success()), null, Ct);

        Assert.Equal("inode 7 offset 180", await store.ReadCursorAsync(TlsSessionSources.Log, Ct));
        Assert.Null(await store.ReadCursorAsync(TlsSessionSources.Datagram, Ct));
    }

    [Fact]
    public async Task AddAsync_Reopened_CountsAndKeysKept()
    {
        await using (var store = await OpenAsync())
        {
            await store.AddAsync(TlsSessionSources.Log, [new(Failure(s_forged), "k1")], "c1", Ct);
        }

        await using var reopened = await OpenAsync();
        Assert.Equal(0, await reopened.AddAsync(TlsSessionSources.Log, [new(Failure(s_forged), "k1")], null, Ct));
        Assert.Equal(1, Assert.Single(await reopened.ReadDayAsync(new DateOnly(2026, 12, 7), null, Ct)).Failed);
        Assert.Equal("c1", await reopened.ReadCursorAsync(TlsSessionSources.Log, Ct));
    }

    [Fact]
    public async Task PurgeBeforeAsync_OlderDaysGone_KeysWithThem()
    {
        await using var store = await OpenAsync();
        await store.AddAsync(TlsSessionSources.Log, [new(Failure(s_stripped, at: s_day1.AddDays(-2)), "old"), new(Success(), "today")], null, Ct);

        Assert.Equal(1, await store.PurgeBeforeAsync(new DateOnly(2026, 12, 7), Ct));

        Assert.Equal([new DateOnly(2026, 12, 7)], await store.DaysAsync(Ct));
        Assert.Equal(1, await store.AddAsync(TlsSessionSources.Log, [new(Failure(s_stripped, at: s_day1.AddDays(-2)), "old")], null, Ct));
        Assert.Equal(0, await store.AddAsync(TlsSessionSources.Log, [new(Success(), "today")], null, Ct));
    }

    [Fact]
    public async Task AddAsync_TwoWritersAtOnce_EverySessionCounted()
    {
        // Two daemons (or a daemon and ingest-log) adding into the same rows at the same time: no update is lost.
        await using var first = await OpenAsync();
        await using var second = await OpenAsync();
        const int Batches = 40;
        async Task WriteAsync(ITlsSessionStore store, int offset)
        {
            for (var n = 0; n < Batches; n++)
            {
                // Domains in another order in each writer, so the two lock rows in opposite orders if the store let them.
                var domains = Enumerable.Range(0, 5).Select(i => $"d{(offset == 0 ? i : 4 - i)}.example").ToArray();
                await store.AddAsync(TlsSessionSources.Datagram, Entries([.. domains.Select(d => Success(d)), Failure(s_stripped, domains[0])]), null, Ct);
            }
        }

        await Task.WhenAll(Task.Run(() => WriteAsync(first, 0), Ct), Task.Run(() => WriteAsync(second, 1), Ct));

        Assert.Equal((2L * Batches * 5, 2L * Batches), await TotalsAsync(first));
        var stripped = (await first.ReadDayAsync(new DateOnly(2026, 12, 7), null, Ct)).SelectMany(p => p.Failures).Sum(f => f.Sessions);
        Assert.Equal(2L * Batches, stripped);
    }
}
