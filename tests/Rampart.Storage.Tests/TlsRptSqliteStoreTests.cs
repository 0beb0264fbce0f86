using Microsoft.Extensions.Time.Testing;
using Rampart.Core;
using Rampart.Core.TlsRpt;
using Rampart.Storage.TlsRpt;

namespace Rampart.Storage.Tests;

/// <summary>The SQLite report store: one report per transaction, stored once, summed exactly.</summary>
public sealed class TlsRptSqliteStoreTests : IDisposable
{
    private static readonly DateTimeOffset s_day = new(2025, 3, 1, 0, 0, 0, TimeSpan.Zero);
    private readonly TempDirectory _dir = new();
    private readonly FakeTimeProvider _time = new(s_day.AddDays(10));

    public void Dispose() => _dir.Dispose();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private Task<SqliteTlsReportStore> OpenAsync() => SqliteTlsReportStore.OpenInDirectoryAsync(_dir.Path, _time, Ct);

    private static TlsRptStoredReport Stored(string org = "Google", string id = "r1", string domain = "a.example", long ok = 90, long failed = 10,
        DateTimeOffset? start = null, params TlsRptFailureDetail[] details)
    {
        var begin = start ?? s_day;
        var policy = new TlsRptPolicyResult("sts", ["version: STSv1", "mode: enforce", "mx: mx.a.example", "max_age: 86400"], domain, ["mx.a.example"], ok, failed,
            details.Length > 0 ? details : [new TlsRptFailureDetail("certificate-expired", "192.0.2.1", "mx.a.example", null, "198.51.100.1", failed, null, null)]);
        return new TlsRptStoredReport(new TlsRptReport(org, begin, begin.AddDays(1).AddSeconds(-1), null, id, [policy]), "test", TlsRptDkimResult.NotChecked);
    }

    [Fact]
    public async Task Add_SameReportTwice_StoredOnce()
    {
        await using var store = await OpenAsync();

        Assert.Equal(TlsRptStoreOutcome.Imported, await store.AddAsync(Stored(), Ct));
        Assert.Equal(TlsRptStoreOutcome.Duplicate, await store.AddAsync(Stored(), Ct));

        Assert.Equal((1L, 1L, 1L), await store.CountRowsAsync(Ct));
        var domain = Assert.Single(TlsRptSummaryBuilder.Build(await store.AggregateAsync(new TlsRptSummaryQuery(), Ct)));
        Assert.Equal(90, domain.Successful);
        Assert.Equal(10, domain.Failed);
    }

    [Fact]
    public async Task Add_DedupKeyIsOrganizationReportIdAndRange()
    {
        await using var store = await OpenAsync();

        await store.AddAsync(Stored(), Ct);

        Assert.Equal(TlsRptStoreOutcome.Imported, await store.AddAsync(Stored(org: "Microsoft"), Ct));
        Assert.Equal(TlsRptStoreOutcome.Imported, await store.AddAsync(Stored(id: "r2"), Ct));
        Assert.Equal(TlsRptStoreOutcome.Imported, await store.AddAsync(Stored(start: s_day.AddDays(1)), Ct));
        Assert.Equal(TlsRptStoreOutcome.Duplicate, await store.AddAsync(Stored(ok: 1, failed: 1), Ct)); // same key, other counts: the first stays
    }

    [Fact]
    public async Task Add_FaultMidReport_NothingOfItStored()
    {
        var twoPolicies = Stored();
        twoPolicies = twoPolicies with { Report = twoPolicies.Report with { Policies = [.. twoPolicies.Report.Policies, twoPolicies.Report.Policies[0] with { PolicyDomain = "b.example" }] } };
        await using (var store = await OpenAsync())
        {
            store.AfterPolicyWritten = i => throw new IOException($"disk gone after policy {i}");

            await Assert.ThrowsAsync<IOException>(() => store.AddAsync(twoPolicies, Ct));

            Assert.Equal((0L, 0L, 0L), await store.CountRowsAsync(Ct));
            store.AfterPolicyWritten = null;
            Assert.Equal(TlsRptStoreOutcome.Imported, await store.AddAsync(twoPolicies, Ct)); // not mistaken for a duplicate
        }
        await using var reopened = await OpenAsync();
        Assert.Equal((1L, 2L, 2L), await reopened.CountRowsAsync(Ct));
    }

    [Fact]
    public async Task Reopen_ReportsPersistAndStillDeduplicate()
    {
        await using (var store = await OpenAsync())
        {
            await store.AddAsync(Stored(), Ct);
        }
        await using var again = await OpenAsync();

        Assert.Equal(TlsRptStoreOutcome.Duplicate, await again.AddAsync(Stored(), Ct));
        Assert.Equal(Path.Combine(_dir.Path, "tlsrpt.sqlite"), again.Location);
    }

    [Fact]
    public async Task Aggregate_PerDomainReporterTypeMxAndIp_ExactSums()
    {
        await using var store = await OpenAsync();
        await store.AddAsync(Stored("Google", "g1", ok: 100, failed: 5, details:
        [
            new TlsRptFailureDetail("certificate-expired", "192.0.2.1", "mx1.a.example", null, null, 3, null, null),
            new TlsRptFailureDetail("starttls-not-supported", "192.0.2.2", "mx2.a.example", null, null, 4, null, null), // details add up to 7, summary says 5
        ]), Ct);
        await store.AddAsync(Stored("Google", "g2", ok: 50, failed: 0, start: s_day.AddDays(1), details: [new TlsRptFailureDetail("certificate-expired", null, null, null, null, 0, null, null)]), Ct);
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
        Assert.Equal(s_day, a.FirstSeen);
        Assert.Equal(s_day.AddDays(2).AddSeconds(-1), a.LastSeen);
        var google = a.Reporters.Single(r => r.Organization == "Google");
        Assert.Equal((2, 150L, 5L), (google.Reports, google.Successful, google.Failed));
    }

    [Fact]
    public async Task Aggregate_DomainAndSinceFilters()
    {
        await using var store = await OpenAsync();
        await store.AddAsync(Stored(id: "old", start: s_day.AddDays(-30)), Ct);
        await store.AddAsync(Stored(id: "new", start: s_day.AddDays(5)), Ct);
        await store.AddAsync(Stored(id: "b", domain: "b.example"), Ct);

        var recent = TlsRptSummaryBuilder.Build(await store.AggregateAsync(new TlsRptSummaryQuery("A.Example.", s_day.AddDays(1)), Ct));

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
        await using var store = await OpenAsync();

        await store.AddAsync(Stored(ok: 0, failed: 100_000, details: details), Ct);

        Assert.Equal((1L, 1L, 100_000L), await store.CountRowsAsync(Ct));
        var a = Assert.Single(TlsRptSummaryBuilder.Build(await store.AggregateAsync(new TlsRptSummaryQuery(), Ct)));
        Assert.Equal(100_000, a.FailureTypes.Values.Sum());
        Assert.Equal(33_334, a.FailureTypes["tlsa-invalid"]);
    }

    [Fact]
    public async Task Open_NotADatabase_OneLineRampartException()
    {
        await File.WriteAllTextAsync(_dir.File("tlsrpt.sqlite"), new string('x', 4096), Ct);

        var ex = await Assert.ThrowsAsync<RampartException>(OpenAsync);

        Assert.Contains("tlsrpt.sqlite", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', ex.Message);
    }
}
