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
}
