using System.Diagnostics;
using System.Globalization;
using System.Text;
using Rampart.Core.TlsRpt;
using Rampart.Storage.TlsRpt;

using Rampart.Storage.Tests.Support;

namespace Rampart.Storage.Tests.TlsRpt;

/// <summary>
/// The session store: counts per UTC day, report domain, TLSRPT record and policy; failure details grouped; batches
/// atomic; record keys make adding again harmless; what committed survives SIGKILL.
/// </summary>
public sealed class SqliteTlsSessionStoreTests : IDisposable
{
    private const string ChildDbVariable = "RAMPART_TEST_SESSIONS_DB";
    private const string ChildReadyVariable = "RAMPART_TEST_SESSIONS_READY";
    private const int ChildBatch = 50;
    private const string Record = "v=TLSRPTv1; rua=mailto:tlsrpt@example.net";

    private static readonly DateTimeOffset s_day1 = new(2026, 12, 7, 10, 0, 0, TimeSpan.Zero);
    private static readonly TlsSessionPolicy s_sts = new(TlsRptPolicyTypes.Sts, "example.net",
        ["version: STSv1", "mode: enforce", "mx: *.example.net", "max_age: 604800"], ["*.example.net"]);

    private readonly TempDirectory _dir = new();
    private readonly CancellationToken _ct = TestContext.Current.CancellationToken;

    public void Dispose() => _dir.Dispose();

    private Task<SqliteTlsSessionStore> OpenAsync() => SqliteTlsSessionStore.OpenAsync(SqliteTlsSessionStore.PathIn(_dir.Path), TimeProvider.System, _ct);

    private static TlsSessionResult Success(string domain = "example.net", TlsSessionPolicy? policy = null, DateTimeOffset? at = null, string? record = Record) =>
        new(domain, record, policy ?? s_sts, true, [], at ?? s_day1);

    private static TlsSessionResult Failure(TlsSessionFailure failure, string domain = "example.net", TlsSessionPolicy? policy = null, DateTimeOffset? at = null) =>
        new(domain, Record, policy ?? s_sts, false, [failure], at ?? s_day1);

    private static readonly TlsSessionFailure s_stripped = new(TlsRptResultTypes.StartTlsNotSupported, "192.0.2.1", "mx1.example.net", "mx1.example.net", "198.51.100.1");
    private static readonly TlsSessionFailure s_forged = new(TlsRptResultTypes.CertificateNotTrusted, "192.0.2.1", "mx2.example.net", null, "198.51.100.2", null, "self-signed_certificate");

    private static IReadOnlyList<TlsSessionEntry> Entries(params TlsSessionResult[] results) => results.Select(r => new TlsSessionEntry(r)).ToList();

    [Fact]
    public async Task AddAsync_SessionsOfOnePolicy_CountedAndFailuresGrouped()
    {
        await using var store = await OpenAsync();

        var counted = await store.AddAsync(TlsSessionSources.Datagram,
            Entries(Success(), Success(), Failure(s_stripped), Failure(s_stripped), Failure(s_forged), Success()), null, _ct);

        Assert.Equal(6, counted);
        var policy = Assert.Single(await store.ReadDayAsync(new DateOnly(2026, 12, 7), null, _ct));
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
            await store.AddAsync(TlsSessionSources.Datagram, Entries(Success(), Failure(s_stripped)), null, _ct);
        }

        var policy = Assert.Single(await store.ReadDayAsync(new DateOnly(2026, 12, 7), null, _ct));
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
            Success(policy: s_sts with { PolicyDomain = null })), null, _ct);

        Assert.Equal([new DateOnly(2026, 12, 7), new DateOnly(2026, 12, 8)], await store.DaysAsync(_ct));
        var day = await store.ReadDayAsync(new DateOnly(2026, 12, 7), null, _ct);
        Assert.Equal(7, day.Count);
        Assert.All(day, p => Assert.Equal(1, p.Successful));
        Assert.Equal(["example.net", "example.net", "example.net", "example.net", "example.net", "example.net", "other.example"], day.Select(p => p.ReportDomain));
        Assert.Contains(day, p => p.TlsRptRecord is null);
        Assert.Contains(day, p => p.Policy.PolicyType == TlsRptPolicyTypes.NoPolicyFound && p.Policy.PolicyDomain is null);
        Assert.Single(await store.ReadDayAsync(new DateOnly(2026, 12, 7), "other.example", _ct));
        Assert.Single(await store.ReadDayAsync(new DateOnly(2026, 12, 8), null, _ct));
    }

    [Fact]
    public async Task AddAsync_NullAndEmptyAndNewlines_RoundTrip()
    {
        await using var store = await OpenAsync();
        var odd = new TlsSessionPolicy(TlsRptPolicyTypes.Sts, "example.net", ["line\nwith newline", "", "quote \" and \\"], ["a", "b"]);
        var failure = new TlsSessionFailure(TlsRptResultTypes.ValidationFailure, null, null, null, null, "", "x\ny");

        await store.AddAsync(TlsSessionSources.Datagram, Entries(Failure(failure, policy: odd)), null, _ct);

        var policy = Assert.Single(await store.ReadDayAsync(new DateOnly(2026, 12, 7), null, _ct));
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

        Assert.Equal(2, await store.AddAsync(TlsSessionSources.Log, batch, "1:200", _ct));
        Assert.Equal(0, await store.AddAsync(TlsSessionSources.Log, batch, "1:200", _ct));
        // The same key from another source is another record.
        Assert.Equal(1, await store.AddAsync(TlsSessionSources.Datagram, [new(Success(), "maillog:1:100")], null, _ct));

        var policy = Assert.Single(await store.ReadDayAsync(new DateOnly(2026, 12, 7), null, _ct));
        Assert.Equal((2, 1), (policy.Successful, policy.Failed));
        Assert.Equal(1, Assert.Single(policy.Failures).Sessions);
    }

    [Fact]
    public async Task AddAsync_NoRecordKey_EveryAddCounts()
    {
        // A datagram carries nothing that identifies it: two alike datagrams are two sessions.
        await using var store = await OpenAsync();

        await store.AddAsync(TlsSessionSources.Datagram, Entries(Success()), null, _ct);
        await store.AddAsync(TlsSessionSources.Datagram, Entries(Success()), null, _ct);

        Assert.Equal(2, Assert.Single(await store.ReadDayAsync(new DateOnly(2026, 12, 7), null, _ct)).Successful);
    }

    [Fact]
    public async Task AddAsync_Cursor_RecordedPerSource()
    {
        await using var store = await OpenAsync();
        Assert.Null(await store.ReadCursorAsync(TlsSessionSources.Log, _ct));

        await store.AddAsync(TlsSessionSources.Log, Entries(Success()), "inode 7 offset 100", _ct);
        await store.AddAsync(TlsSessionSources.Log, [], "inode 7 offset 180", _ct);
        await store.AddAsync(TlsSessionSources.Log, Entries(Success()), null, _ct);

        Assert.Equal("inode 7 offset 180", await store.ReadCursorAsync(TlsSessionSources.Log, _ct));
        Assert.Null(await store.ReadCursorAsync(TlsSessionSources.Datagram, _ct));
    }

    [Fact]
    public async Task AddAsync_Reopened_CountsAndKeysKept()
    {
        await using (var store = await OpenAsync())
        {
            await store.AddAsync(TlsSessionSources.Log, [new(Failure(s_forged), "k1")], "c1", _ct);
        }

        await using var reopened = await OpenAsync();
        Assert.Equal(0, await reopened.AddAsync(TlsSessionSources.Log, [new(Failure(s_forged), "k1")], null, _ct));
        Assert.Equal(1, Assert.Single(await reopened.ReadDayAsync(new DateOnly(2026, 12, 7), null, _ct)).Failed);
        Assert.Equal("c1", await reopened.ReadCursorAsync(TlsSessionSources.Log, _ct));
    }

    [Fact]
    public async Task PurgeBeforeAsync_OlderDaysGone_KeysWithThem()
    {
        await using var store = await OpenAsync();
        await store.AddAsync(TlsSessionSources.Log, [new(Failure(s_stripped, at: s_day1.AddDays(-2)), "old"), new(Success(), "today")], null, _ct);

        Assert.Equal(1, await store.PurgeBeforeAsync(new DateOnly(2026, 12, 7), _ct));

        Assert.Equal([new DateOnly(2026, 12, 7)], await store.DaysAsync(_ct));
        Assert.Equal(1, await store.AddAsync(TlsSessionSources.Log, [new(Failure(s_stripped, at: s_day1.AddDays(-2)), "old")], null, _ct));
        Assert.Equal(0, await store.AddAsync(TlsSessionSources.Log, [new(Success(), "today")], null, _ct));
    }

    [Fact]
    public async Task OpenAsync_NotADatabase_OneLineNamingTheFile()
    {
        var path = SqliteTlsSessionStore.PathIn(_dir.Path);
        await File.WriteAllTextAsync(path, new string('x', 4096), _ct);

        var ex = await Assert.ThrowsAsync<Rampart.Core.RampartException>(() => OpenAsync());

        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        Assert.Contains("TLS-RPT session store", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', ex.Message);
    }

    /// <summary>
    /// A child process adds batch after batch (each with its record keys and, in the same transaction, its number as
    /// the cursor) and is killed with SIGKILL while it writes. Reopened, the counts are exactly the cursor's batches: no
    /// half batch, nothing committed lost. Adding every batch again from the start counts only what was missing.
    /// </summary>
    [Fact]
    public async Task AddAsync_WriterKilledMidWrite_WholeBatchesOnlyAndReplayCountsNothingTwice()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "SIGKILL is a Unix signal");
        var db = SqliteTlsSessionStore.PathIn(_dir.Path);
        var ready = _dir.File("ready");
        var output = new StringBuilder();
        using var child = TestChildProcess.Start(typeof(SqliteTlsSessionStoreTests), nameof(CrashChild_AddsBatchesUntilKilled),
            new Dictionary<string, string> { [ChildDbVariable] = db, [ChildReadyVariable] = ready }, output);
        try
        {
            var deadline = Stopwatch.StartNew();
            while (!File.Exists(ready))
            {
                Assert.False(child.HasExited, $"the child exited early: {output}");
                Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(60), $"the child never got going: {output}");
                await Task.Delay(10, _ct);
            }
            child.Kill(entireProcessTree: false); // SIGKILL while it is adding batches
            await child.WaitForExitAsync(_ct);
        }
        finally
        {
            if (!child.HasExited)
            {
                child.Kill();
            }
        }
        Assert.Equal(128 + 9, child.ExitCode);

        await using var store = await SqliteTlsSessionStore.OpenAsync(db, TimeProvider.System, _ct);
        var batches = int.Parse((await store.ReadCursorAsync(TlsSessionSources.Log, _ct))!, CultureInfo.InvariantCulture);
        Assert.True(batches >= 20, $"only {batches} batches");
        var (successful, failed) = await TotalsAsync(store);
        Assert.Equal((batches * (ChildBatch - 1), (long)batches), (successful, failed));

        for (var n = 0; n < batches + 3; n++)
        {
            await store.AddAsync(TlsSessionSources.Log, ChildBatchEntries(n), null, _ct);
        }
        Assert.Equal(((batches + 3) * (ChildBatch - 1), (long)batches + 3), await TotalsAsync(store));
    }

    /// <summary>Not a test: the child of <see cref="AddAsync_WriterKilledMidWrite_WholeBatchesOnlyAndReplayCountsNothingTwice"/>.</summary>
    [Fact(Explicit = true)]
    public async Task CrashChild_AddsBatchesUntilKilled()
    {
        if (Environment.GetEnvironmentVariable(ChildDbVariable) is not { } db || Environment.GetEnvironmentVariable(ChildReadyVariable) is not { } ready)
        {
            return;
        }
        var store = await SqliteTlsSessionStore.OpenAsync(db, TimeProvider.System, _ct);
        for (var n = 0; n < 1_000_000; n++) // bounded; the parent kills us long before
        {
            await store.AddAsync(TlsSessionSources.Log, ChildBatchEntries(n), (n + 1).ToString(CultureInfo.InvariantCulture), _ct);
            if (n == 20)
            {
                await File.WriteAllTextAsync(ready, "writing", _ct);
            }
        }
        GC.KeepAlive(store);
    }

    /// <summary>Batch <paramref name="n"/>: <see cref="ChildBatch"/> results, one of them failed, each with its own record key.</summary>
    private static List<TlsSessionEntry> ChildBatchEntries(int n) =>
        Enumerable.Range(0, ChildBatch)
            .Select(i => new TlsSessionEntry(i == 0 ? Failure(s_stripped, domain: $"d{n % 7}.example") : Success($"d{(n + i) % 7}.example"), $"b{n}:{i}"))
            .ToList();

    private async Task<(long Successful, long Failed)> TotalsAsync(SqliteTlsSessionStore store)
    {
        var day = await store.ReadDayAsync(new DateOnly(2026, 12, 7), null, _ct);
        return (day.Sum(p => p.Successful), day.Sum(p => p.Failed));
    }
}
