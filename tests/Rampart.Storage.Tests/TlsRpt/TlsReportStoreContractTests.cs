using CsCheck;
using Microsoft.Extensions.Time.Testing;
using Rampart.Core.TlsRpt;
using Rampart.Storage.Tests.Support;
using static Rampart.Storage.Tests.TlsRpt.TlsRptTestReports;

namespace Rampart.Storage.Tests.TlsRpt;

/// <summary>
/// What every TLS-RPT report store promises (one report per transaction, stored once, summed exactly), run against
/// each store by a subclass that only opens it, counts its rows and arms its fault hook.
/// </summary>
public abstract class TlsReportStoreContractTests
{
    /// <summary>The clock the stores are opened with, ten days after <see cref="TlsRptTestReports.Day"/>.</summary>
    protected FakeTimeProvider Time { get; } = new(Day.AddDays(10));

    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A store on fresh, empty storage; it becomes the storage <see cref="ReopenAsync"/> opens again.</summary>
    protected abstract Task<ITlsReportStore> OpenNewAsync();

    /// <summary>A second store on the storage of the last <see cref="OpenNewAsync"/>.</summary>
    protected abstract Task<ITlsReportStore> ReopenAsync();

    /// <summary>Where a store on the storage of the last <see cref="OpenNewAsync"/> says it is.</summary>
    protected abstract string ExpectedLocation { get; }

    /// <summary>Rows in the report, policy and failure tables.</summary>
    protected abstract Task<(long Reports, long Policies, long Failures)> CountRowsAsync(ITlsReportStore store);

    /// <summary>
    /// Makes <paramref name="store"/> throw <paramref name="fault"/> while adding a report, after some of its rows are
    /// written and before the commit; null disarms it.
    /// </summary>
    protected abstract void FailWhileAdding(ITlsReportStore store, Exception? fault);

    [Fact]
    public async Task Add_SameReportTwice_StoredOnce()
    {
        await using var store = await OpenNewAsync();

        Assert.Equal(TlsRptStoreOutcome.Imported, await store.AddAsync(Stored(), Ct));
        Assert.Equal(TlsRptStoreOutcome.Duplicate, await store.AddAsync(Stored(), Ct));

        Assert.Equal((1L, 1L, 1L), await CountRowsAsync(store));
        var domain = Assert.Single(TlsRptSummaryBuilder.Build(await store.AggregateAsync(new TlsRptSummaryQuery(), Ct)));
        Assert.Equal(90, domain.Successful);
        Assert.Equal(10, domain.Failed);
    }

    [Fact]
    public async Task Add_DedupKeyIsOrganizationReportIdAndRange()
    {
        await using var store = await OpenNewAsync();

        await store.AddAsync(Stored(), Ct);

        Assert.Equal(TlsRptStoreOutcome.Imported, await store.AddAsync(Stored(org: "Microsoft"), Ct));
        Assert.Equal(TlsRptStoreOutcome.Imported, await store.AddAsync(Stored(id: "r2"), Ct));
        Assert.Equal(TlsRptStoreOutcome.Imported, await store.AddAsync(Stored(start: Day.AddDays(1)), Ct));
        Assert.Equal(TlsRptStoreOutcome.Duplicate, await store.AddAsync(Stored(ok: 1, failed: 1), Ct)); // same key, other counts: the first stays
        Assert.Equal(TlsRptStoreOutcome.Duplicate, await store.AddAsync(Stored(start: Day.AddTicks(5)), Ct)); // times are cut to milliseconds
    }

    [Fact]
    public async Task Add_FaultMidReport_NothingOfItStored()
    {
        var twoPolicies = TwoPolicies();
        await using (var store = await OpenNewAsync())
        {
            FailWhileAdding(store, new IOException("importer dies with its rows written, uncommitted"));

            await Assert.ThrowsAsync<IOException>(() => store.AddAsync(twoPolicies, Ct));

            Assert.Equal((0L, 0L, 0L), await CountRowsAsync(store));
            FailWhileAdding(store, null);
            Assert.Equal(TlsRptStoreOutcome.Imported, await store.AddAsync(twoPolicies, Ct)); // not mistaken for a duplicate
            Assert.Equal((1L, 2L, 2L), await CountRowsAsync(store));
        }
        await using var reopened = await ReopenAsync();
        Assert.Equal((1L, 2L, 2L), await CountRowsAsync(reopened));
    }

    [Fact]
    public async Task Reopen_ReportsPersistAndStillDeduplicate()
    {
        await using (var store = await OpenNewAsync())
        {
            await store.AddAsync(Stored(), Ct);
        }
        await using var again = await ReopenAsync();

        Assert.Equal(TlsRptStoreOutcome.Duplicate, await again.AddAsync(Stored(), Ct));
        Assert.Equal(ExpectedLocation, again.Location);
    }

    [Fact]
    public async Task Aggregate_PerDomainReporterTypeMxAndIp_ExactSums()
    {
        await using var store = await OpenNewAsync();
        await store.AddAsync(Stored("Google", "g1", ok: 100, failed: 5, details:
        [
            new TlsRptFailureDetail("certificate-expired", "192.0.2.1", "mx1.a.example", null, null, 3, null, null),
            new TlsRptFailureDetail("starttls-not-supported", "192.0.2.2", "mx2.a.example", null, null, 4, null, null), // details add up to 7, summary says 5
        ]), Ct);
        await store.AddAsync(Stored("Google", "g2", ok: 50, failed: 0, start: Day.AddDays(1), details: [new TlsRptFailureDetail("certificate-expired", null, null, null, null, 0, null, null)]), Ct);
        await store.AddAsync(Stored("Microsoft", "m1", ok: 10, failed: 2, details: [new TlsRptFailureDetail("x-vendor-type", "192.0.2.1", "mx1.a.example", null, null, 2, null, null)]), Ct);
        await store.AddAsync(Stored("Google", "other", domain: "b.example", ok: 1, failed: 1), Ct);

        var domains = TlsRptSummaryBuilder.Build(await store.AggregateAsync(new TlsRptSummaryQuery(), Ct));

        Assert.Equal(["a.example", "b.example"], domains.Select(d => d.PolicyDomain));
        var a = domains[0];
        Assert.Equal(3, a.Reports);
        Assert.Equal(160, a.Successful);
        Assert.Equal(7, a.Failed);
        Assert.Equal(new Dictionary<string, long> { ["starttls-not-supported"] = 4, ["certificate-expired"] = 3, ["x-vendor-type"] = 2 }, a.FailureTypes);
        Assert.Equal(new Dictionary<string, long> { ["mx1.a.example"] = 5, ["mx2.a.example"] = 4 }, a.FailuresByMx);
        Assert.Equal(new Dictionary<string, long> { ["192.0.2.1"] = 5, ["192.0.2.2"] = 4 }, a.FailuresBySendingIp);
        Assert.Equal(Day, a.FirstSeen);
        Assert.Equal(Day.AddDays(2).AddSeconds(-1), a.LastSeen);
        var google = a.Reporters.Single(r => r.Organization == "Google");
        Assert.Equal((2, 150L, 5L), (google.Reports, google.Successful, google.Failed));
    }

    [Fact]
    public async Task Aggregate_MoreIpsAndMxThanTheTopN_ListsTheTopN_CountsTheRest_TotalsAddUp()
    {
        await using var store = await OpenNewAsync();
        // a.example: seven sending IPs over two reporters and two days (192.0.2.4 and .5 tie at 6 sessions: the
        // tie is broken by the item's bytes), three MX hosts; b.example: two IPs, fewer than the top N.
        await store.AddBatchAsync(
        [
            Stored("Google", "g1", details:
            [
                Detail("192.0.2.1", "mx1.a.example", 50), Detail("192.0.2.2", "mx1.a.example", 20), Detail("192.0.2.5", "mx2.a.example", 6),
                Detail("192.0.2.6", "mx3.a.example", 2), Detail("192.0.2.7", null, 1),
            ]),
            Stored("Microsoft", "m1", start: Day.AddDays(3), details:
            [
                Detail("192.0.2.2", "mx2.a.example", 25), Detail("192.0.2.4", "mx2.a.example", 6), Detail("192.0.2.3", "mx3.a.example", 5),
                Detail(null, "mx3.a.example", 4),
            ]),
            Stored("Google", "b1", domain: "b.example", details: [Detail("192.0.2.9", "mx.b.example", 3), Detail("192.0.2.8", "mx.b.example", 3)]),
        ], Ct);

        foreach (var query in new TlsRptSummaryQuery[] { new(null, null, 3), new(null, Day.AddHours(-1), 3), new("a.example", null, 3), new("A.example", Day.AddHours(-1), 3) })
        {
            var domains = TlsRptSummaryBuilder.Build(await store.AggregateAsync(query, Ct));

            var a = domains.Single(d => d.PolicyDomain == "a.example");
            Assert.Equal(new Dictionary<string, long> { ["192.0.2.1"] = 50, ["192.0.2.2"] = 45, ["192.0.2.4"] = 6 }, a.FailuresBySendingIp); // .4 and .5 tie: .4
            Assert.Equal(["192.0.2.1", "192.0.2.2", "192.0.2.4"], a.FailuresBySendingIp.Keys);
            Assert.Equal(new TlsRptNotListed(4, 6 + 5 + 2 + 1), a.SendingIpsNotListed); // .5, .3, .6, .7
            Assert.Equal(50 + 20 + 6 + 2 + 1 + 25 + 6 + 5, a.FailuresBySendingIp.Values.Sum() + a.SendingIpsNotListed.Sessions);
            Assert.Equal(new Dictionary<string, long> { ["mx1.a.example"] = 70, ["mx2.a.example"] = 37, ["mx3.a.example"] = 11 }, a.FailuresByMx);
            Assert.Equal(default, a.MxHostsNotListed);
            if (query.PolicyDomain is null)
            {
                var b = domains.Single(d => d.PolicyDomain == "b.example");
                Assert.Equal(["192.0.2.8", "192.0.2.9"], b.FailuresBySendingIp.Keys);
                Assert.Equal(default, b.SendingIpsNotListed);
            }
        }
        var one = Assert.Single(TlsRptSummaryBuilder.Build(await store.AggregateAsync(new TlsRptSummaryQuery("a.example", null, 1), Ct)));
        Assert.Equal(new Dictionary<string, long> { ["192.0.2.1"] = 50 }, one.FailuresBySendingIp);
        Assert.Equal(new TlsRptNotListed(6, 45 + 6 + 6 + 5 + 2 + 1), one.SendingIpsNotListed);
        Assert.Equal(new TlsRptNotListed(2, 37 + 11), one.MxHostsNotListed);

        static TlsRptFailureDetail Detail(string? ip, string? mx, long sessions) => new("certificate-expired", ip, mx, null, null, sessions, null, null);
    }

    [Fact]
    public async Task Daily_PerDomainAndStartDay_ExactSums_AndTypesPerDay()
    {
        await using var store = await OpenNewAsync();
        await store.AddAsync(Stored("Google", "g1", ok: 100, failed: 5), Ct);
        await store.AddAsync(Stored("Microsoft", "m1", ok: 10, failed: 2), Ct);
        await store.AddAsync(Stored("Google", "g2", ok: 50, failed: 4, start: Day.AddDays(2).AddHours(23.99)), Ct);
        await store.AddAsync(Stored("Google", "b1", domain: "b.example", ok: 7, failed: 0), Ct);

        var daily = await ((ITlsReportHistory)store).DailyAsync(new TlsRptSummaryQuery(), Ct);

        var day0 = DateOnly.FromDateTime(Day.UtcDateTime);
        Assert.Equal(
            [new TlsRptDayRow("a.example", day0, 2, 110, 7), new TlsRptDayRow("b.example", day0, 1, 7, 0), new TlsRptDayRow("a.example", day0.AddDays(2), 1, 50, 4)],
            daily.Days);
        Assert.Equal(
            [new TlsRptDayFailureRow("a.example", day0, "certificate-expired", 7), new TlsRptDayFailureRow("b.example", day0, "certificate-expired", 0),
             new TlsRptDayFailureRow("a.example", day0.AddDays(2), "certificate-expired", 4)],
            daily.FailureTypes);
        var onlyB = await ((ITlsReportHistory)store).DailyAsync(new TlsRptSummaryQuery("b.example"), Ct);
        Assert.Equal([new TlsRptDayRow("b.example", day0, 1, 7, 0)], onlyB.Days);
    }

    [Fact]
    public async Task ListAndRead_NewestFirst_ReportComesBackWhole()
    {
        await using var store = await OpenNewAsync();
        var twoPolicies = TwoPolicies();
        var detailed = Stored("Mail.ru", "full", ok: 3, failed: 2, start: Day.AddDays(1), details:
        [
            new TlsRptFailureDetail("validation-failure", "2001:db8::25", "mx.a.example", "helo.example", "198.51.100.9", 2, "https://info.example/x", "<img src=x onerror=alert(1)>"),
        ]);
        detailed = detailed with
        {
            Report = detailed.Report with { ContactInfo = "mailto:tlsrpt@mail.ru", Warnings = ["datetime without a zone"] },
            Source = "mbox:/var/mail/tlsrpt#3",
            Dkim = new TlsRptDkimResult(TlsRptDkimStatus.Pass, "mail.ru", "d=mail.ru s=x"),
        };
        await store.AddAsync(twoPolicies, Ct);
        await store.AddAsync(detailed, Ct);
        var history = (ITlsReportHistory)store;

        var listed = await history.ListAsync(new TlsRptSummaryQuery(), 10, Ct);

        Assert.Equal(["full", "r1"], listed.Select(r => r.ReportId));
        Assert.Equal(["a.example", "b.example"], listed[1].PolicyDomains);
        Assert.Equal((180L, 20L, "not-checked"), (listed[1].Successful, listed[1].Failed, listed[1].Dkim));
        Assert.Equal(["full"], (await history.ListAsync(new TlsRptSummaryQuery(), 1, Ct)).Select(r => r.ReportId));
        Assert.Equal(["r1"], (await history.ListAsync(new TlsRptSummaryQuery("b.example"), 10, Ct)).Select(r => r.ReportId));
        var read = await history.ReadAsync(listed[0].Key, Ct);
        Assert.NotNull(read);
        Assert.Equal((detailed.Source, detailed.Dkim), (read.Source, read.Dkim));
        Assert.Equal((detailed.Report.OrganizationName, detailed.Report.ReportId, detailed.Report.StartDatetime, detailed.Report.EndDatetime, detailed.Report.ContactInfo),
            (read.Report.OrganizationName, read.Report.ReportId, read.Report.StartDatetime, read.Report.EndDatetime, read.Report.ContactInfo));
        Assert.Equal(detailed.Report.Warnings, read.Report.Warnings);
        var policy = Assert.Single(read.Report.Policies);
        var expected = detailed.Report.Policies[0];
        Assert.Equal((expected.PolicyType, expected.PolicyDomain, expected.TotalSuccessfulSessionCount, expected.TotalFailureSessionCount),
            (policy.PolicyType, policy.PolicyDomain, policy.TotalSuccessfulSessionCount, policy.TotalFailureSessionCount));
        Assert.Equal(expected.PolicyString, policy.PolicyString);
        Assert.Equal(expected.MxHosts, policy.MxHosts);
        Assert.Equal(expected.FailureDetails, policy.FailureDetails);
        var two = await history.ReadAsync(listed[1].Key, Ct);
        Assert.Equal(["a.example", "b.example"], two!.Report.Policies.Select(p => p.PolicyDomain));
        Assert.All(two.Report.Policies, p => Assert.Single(p.FailureDetails));
        Assert.Null(await history.ReadAsync(listed.Max(r => r.Key) + 1000, Ct));

        // What the findings read: the same report and policies with their counts, no failure-details rows.
        var bare = await history.ReadWithoutFailureDetailsAsync(listed[1].Key, Ct);
        Assert.Equal((two.Report.ReportId, two.Source), (bare!.Report.ReportId, bare.Source));
        Assert.Equal(two.Report.Policies.Select(p => (p.PolicyDomain, p.PolicyString.Count, p.TotalSuccessfulSessionCount, p.TotalFailureSessionCount)),
            bare.Report.Policies.Select(p => (p.PolicyDomain, p.PolicyString.Count, p.TotalSuccessfulSessionCount, p.TotalFailureSessionCount)));
        Assert.All(bare.Report.Policies, p => Assert.Empty(p.FailureDetails));
        Assert.Null(await history.ReadWithoutFailureDetailsAsync(listed.Max(r => r.Key) + 1000, Ct));
    }

    [Fact]
    public async Task Aggregate_DomainAndSinceFilters()
    {
        await using var store = await OpenNewAsync();
        await store.AddAsync(Stored(id: "old", start: Day.AddDays(-30)), Ct);
        await store.AddAsync(Stored(id: "new", start: Day.AddDays(5)), Ct);
        await store.AddAsync(Stored(id: "b", domain: "b.example"), Ct);

        var recent = TlsRptSummaryBuilder.Build(await store.AggregateAsync(new TlsRptSummaryQuery("A.Example.", Day.AddDays(1)), Ct));

        var only = Assert.Single(recent);
        Assert.Equal("a.example", only.PolicyDomain);
        Assert.Equal(1, only.Reports);
    }

    [Fact]
    public async Task Add_100000FailureDetails_OneTransactionAllStored()
    {
        var details = Enumerable.Range(0, 100_000)
            .Select(i => new TlsRptFailureDetail(i % 3 == 0 ? "tlsa-invalid" : "certificate-expired", $"10.0.{i / 256 % 256}.{i % 256}", "mx.a.example", null, null, 1, null, null))
            .ToArray();
        await using var store = await OpenNewAsync();

        await store.AddAsync(Stored(ok: 0, failed: 100_000, details: details), Ct);

        Assert.Equal((1L, 1L, 100_000L), await CountRowsAsync(store));
        var a = Assert.Single(TlsRptSummaryBuilder.Build(await store.AggregateAsync(new TlsRptSummaryQuery(), Ct)));
        Assert.Equal(100_000, a.FailureTypes.Values.Sum());
        Assert.Equal(33_334, a.FailureTypes["tlsa-invalid"]);
    }

    /// <summary>The same summary and series computed from every stored row, not the per-day tables.</summary>
    protected abstract Task<(TlsRptAggregates Aggregates, TlsRptDaily Daily)> ScanAsync(ITlsReportStore store, TlsRptSummaryQuery query);

    /// <summary>
    /// Turns the storage of the last <see cref="OpenNewAsync"/> (no store open on it) into what Rampart with schema
    /// <paramref name="version"/> left: version 1, the same report tables, no per-day tables, no known-file index, no
    /// item tables; version 2, no item tables but MX hosts and IPs in the per-day failure table.
    /// </summary>
    protected abstract Task MakeVersionAsync(int version);

    /// <summary>The SQL that turns a store of the current version into one of <paramref name="version"/> (1 or 2), for both stores.</summary>
    protected static string DowngradeSql(int version) => version switch
    {
        1 => "DROP TABLE tlsrpt_day; DROP TABLE tlsrpt_day_failure; DROP TABLE tlsrpt_file; DROP TABLE tlsrpt_item; DROP TABLE tlsrpt_item_domain; UPDATE tlsrpt_schema_version SET version = 1",
        // Version 2 kept MX hosts and IPs per day in tlsrpt_day_failure (dimensions 1 and 2): here all on one day.
        2 => "INSERT INTO tlsrpt_day_failure (dimension, policy_domain, organization, item, start_day, end_day, sessions) " +
             "SELECT dimension, policy_domain, '', item, '2025-03-01', '2025-03-01', sessions FROM tlsrpt_item; " +
             "DROP TABLE tlsrpt_item; DROP TABLE tlsrpt_item_domain; UPDATE tlsrpt_schema_version SET version = 2",
        _ => throw new ArgumentOutOfRangeException(nameof(version)),
    };

    /// <summary>How many random stores the property test fills (each store is fresh).</summary>
    protected abstract int PropertyIterations { get; }

    [Fact]
    public async Task AddBatch_ARefusedReportInTheMiddle_IsRefusedAlone()
    {
        await using var store = await OpenNewAsync();
        var bad = Stored(id: "bad");
        bad = bad with { Report = bad.Report with { Policies = [bad.Report.Policies[0] with { PolicyDomain = null! }] } };

        var results = await store.AddBatchAsync([Stored(id: "r1"), bad, Stored(id: "r2")], Ct);

        Assert.Equal([TlsRptStoreOutcome.Imported, TlsRptStoreOutcome.Imported], new[] { results[0], results[2] }.Select(r => r.Outcome));
        Assert.Null(results[0].Rejection);
        Assert.Null(results[2].Rejection);
        Assert.StartsWith("the store refused it: ", results[1].Rejection, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', results[1].Rejection!);
        Assert.Equal((2L, 2L, 2L), await CountRowsAsync(store));
        var domain = Assert.Single(TlsRptSummaryBuilder.Build(await store.AggregateAsync(new TlsRptSummaryQuery(), Ct)));
        Assert.Equal((2, 180L, 20L), (domain.Reports, domain.Successful, domain.Failed));
        Assert.Equal(TlsRptStoreOutcome.Imported, await store.AddAsync(Stored(id: "bad"), Ct)); // nothing of it was kept
    }

    [Fact]
    public async Task AddBatch_FaultMidBatch_NothingOfTheBatchStoredOrSummed()
    {
        await using var store = await OpenNewAsync();
        await store.AddAsync(Stored(id: "before"), Ct);
        FailWhileAdding(store, new IOException("importer dies with the batch written, uncommitted"));

        await Assert.ThrowsAsync<IOException>(() => store.AddBatchAsync([Stored(id: "x1"), TwoPolicies()], Ct));

        Assert.Equal((1L, 1L, 1L), await CountRowsAsync(store));
        Assert.Equal(1, Assert.Single(TlsRptSummaryBuilder.Build(await store.AggregateAsync(new TlsRptSummaryQuery(), Ct))).Reports);
        FailWhileAdding(store, null);
        var again = await store.AddBatchAsync([Stored(id: "x1"), TwoPolicies()], Ct);
        Assert.All(again, r => Assert.Equal(TlsRptStoreOutcome.Imported, r.Outcome));
        Assert.Equal(Render(TlsRptSummaryBuilder.Build((await ScanAsync(store, new TlsRptSummaryQuery())).Aggregates)),
            Render(TlsRptSummaryBuilder.Build(await store.AggregateAsync(new TlsRptSummaryQuery(), Ct))));
    }

    [Fact]
    public async Task AddBatch_SameReportTwiceInABatch_StoredOnce_ThenADuplicate()
    {
        await using var store = await OpenNewAsync();

        var first = await store.AddBatchAsync([Stored(), Stored(ok: 1, failed: 1), Stored(id: "r2")], Ct);
        var second = await store.AddBatchAsync([Stored(id: "r2"), Stored(id: "r3")], Ct);

        Assert.Equal([TlsRptStoreOutcome.Imported, TlsRptStoreOutcome.Duplicate, TlsRptStoreOutcome.Imported], first.Select(r => r.Outcome));
        Assert.Equal([TlsRptStoreOutcome.Duplicate, TlsRptStoreOutcome.Imported], second.Select(r => r.Outcome));
        var domain = Assert.Single(TlsRptSummaryBuilder.Build(await store.AggregateAsync(new TlsRptSummaryQuery(), Ct)));
        Assert.Equal((3, 270L), (domain.Reports, domain.Successful)); // the first of the key stays, its counts
    }

    [Fact]
    public async Task KnownFiles_ARememberedFileComesBackAsStoredOrCounted_UnknownAndIncompleteFilesDoNot()
    {
        await using var store = await OpenNewAsync();
        var index = (ITlsReportFileIndex)store;
        var one = Stored(id: "r1", ok: 7, failed: 3);
        var two = TwoPolicies() with { Report = TwoPolicies().Report with { ReportId = "r2", Warnings = ["read leniently"] } };
        await store.AddBatchAsync([one, two], Ct);
        string a = new('a', 64), b = new('b', 64), c = new('c', 64);

        await index.RememberFilesAsync([new TlsRptKnownFile(a, [("", one.Report), ("!x/two.json", two.Report)]),
            new TlsRptKnownFile(c, [("", one.Report), ("#2", Stored(id: "never-stored").Report)])], Ct);
        await index.RememberFilesAsync([new TlsRptKnownFile(a, [("", one.Report), ("!x/two.json", two.Report)])], Ct); // again: left as it is
        var known = await index.KnownFilesAsync([a, b, c], Ct);

        Assert.Equal([a], known.Keys);
        var reports = known[a];
        Assert.Equal(["", "!x/two.json"], reports.Select(r => r.Source));
        Assert.Equal(["r1", "r2"], reports.Select(r => r.Report.ReportId));
        Assert.Equal((7L, 3L), (reports[0].Report.TotalSuccessful, reports[0].Report.TotalFailed));
        Assert.Equal(["a.example", "b.example"], reports[1].Report.Policies.Select(p => p.PolicyDomain));
        Assert.Equal(["read leniently"], reports[1].Report.Warnings);
        Assert.Equal(one.Report.StartDatetime, reports[0].Report.StartDatetime);
        Assert.Equal(TlsRptDkimStatus.NotChecked, reports[0].Dkim.Status);
        Assert.Empty(await index.KnownFilesAsync([], Ct));
        Assert.Equal(new Dictionary<string, int> { [a] = 2 }, await index.KnownFileCountsAsync([a, b, c], Ct)); // c: a report not stored
        Assert.Empty(await index.KnownFileCountsAsync([], Ct));
    }

    [Fact]
    public async Task Aggregates_EqualAFullScan_ForRandomReportsBatchesAndFilters()
    {
        await Gen.Select(Gen.Int[0, 60], Gen.Int, Gen.Int[1, 15], Gen.Int[0, 62 * 24 * 60], Gen.Int[1, 4]).SampleAsync(async (count, seed, batch, sinceMinutes, top) =>
        {
            await using var store = await OpenNewAsync();
            foreach (var chunk in Varied(count, seed).Chunk(batch))
            {
                await store.AddBatchAsync(chunk, Ct);
            }
            var since = Day.AddMinutes(sinceMinutes).AddTicks(seed & 0xFFFF);
            foreach (var query in new TlsRptSummaryQuery[]
            {
                new(), new("a.example"), new(null, since), new("", since), new("b.example", Day.AddDays(sinceMinutes % 62)), new(null, null, top), new(null, since, top),
            })
            {
                var (aggregates, daily) = await ScanAsync(store, query);
                Assert.Equal(Canonical(aggregates), Canonical(await store.AggregateAsync(query, Ct)));
                Assert.Equal(Canonical(daily), Canonical(await ((ITlsReportHistory)store).DailyAsync(query, Ct)));
            }
        }, iter: PropertyIterations);
    }

    [Fact]
    public async Task Open_AVersion1Store_PerDayTablesFilledFromItsReports_SameAnswersAfter()
    {
        var reports = Varied(80, 11);
        TlsRptAggregates expected;
        await using (var store = await OpenNewAsync())
        {
            await store.AddBatchAsync(reports[..50], Ct);
            expected = (await ScanAsync(store, new TlsRptSummaryQuery())).Aggregates;
        }
        await MakeVersionAsync(1);

        await using var reopened = await ReopenAsync();

        Assert.Equal(Canonical(expected), Canonical(await reopened.AggregateAsync(new TlsRptSummaryQuery(), Ct)));
        await reopened.AddBatchAsync(reports[50..], Ct);
        var query = new TlsRptSummaryQuery(null, Day.AddDays(20).AddHours(5));
        var (aggregates, daily) = await ScanAsync(reopened, query);
        Assert.Equal(Canonical(aggregates), Canonical(await reopened.AggregateAsync(query, Ct)));
        Assert.Equal(Canonical(daily), Canonical(await ((ITlsReportHistory)reopened).DailyAsync(query, Ct)));
        await using var third = await ReopenAsync(); // the current version now: opened without filling again
        Assert.Equal(Canonical((await ScanAsync(third, new TlsRptSummaryQuery())).Aggregates), Canonical(await third.AggregateAsync(new TlsRptSummaryQuery(), Ct)));
    }

    [Fact]
    public async Task Open_AVersion2Store_ItemTablesFilledFromTheDays_SameTopNAfter()
    {
        var reports = Varied(80, 12);
        await using (var store = await OpenNewAsync())
        {
            await store.AddBatchAsync(reports[..50], Ct);
        }
        await MakeVersionAsync(2);

        await using var reopened = await ReopenAsync();

        await reopened.AddBatchAsync(reports[50..], Ct);
        foreach (var query in new TlsRptSummaryQuery[] { new(), new(null, null, 1), new("a.example", null, 2) })
        {
            Assert.Equal(Canonical((await ScanAsync(reopened, query)).Aggregates), Canonical(await reopened.AggregateAsync(query, Ct)));
        }
    }

    /// <summary>Every row of the aggregates, sorted (the stores return them in no particular order), one line each.</summary>
    private static string Canonical(TlsRptAggregates a) => string.Join("\n",
        a.Reporters.Select(r => FormattableString.Invariant($"reporter '{r.PolicyDomain}' '{r.Organization}' {r.Reports} {r.Successful} {r.Failed} {r.FirstSeen:O} {r.LastSeen:O}"))
            .Concat(a.ByResultType.Select(r => Row("type", r)))
            .Concat(a.ByMxHost.Select(r => Row("mx", r)))
            .Concat(a.BySendingIp.Select(r => Row("ip", r)))
            .Concat(a.MxHostsNotListed.Select(r => FormattableString.Invariant($"mx-rest '{r.PolicyDomain}' {r.Items} {r.Sessions}")))
            .Concat(a.SendingIpsNotListed.Select(r => FormattableString.Invariant($"ip-rest '{r.PolicyDomain}' {r.Items} {r.Sessions}")))
            .Order(StringComparer.Ordinal));

    private static string Row(string kind, TlsRptFailureRow r) => FormattableString.Invariant($"{kind} '{r.PolicyDomain}' '{r.Organization}' '{r.Key}' {r.Sessions}");

    /// <summary>The series in the order the store returns it.</summary>
    private static string Canonical(TlsRptDaily d) => string.Join("\n",
        d.Days.Select(r => FormattableString.Invariant($"day '{r.PolicyDomain}' {r.Day:yyyy-MM-dd} {r.Reports} {r.Successful} {r.Failed}"))
            .Concat(d.FailureTypes.Select(r => FormattableString.Invariant($"type '{r.PolicyDomain}' {r.Day:yyyy-MM-dd} '{r.ResultType}' {r.Sessions}"))));
}
