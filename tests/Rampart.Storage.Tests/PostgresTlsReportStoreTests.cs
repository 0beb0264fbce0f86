using Microsoft.Extensions.Time.Testing;
using Npgsql;
using Rampart.Core;
using Rampart.Core.TlsRpt;
using Rampart.Storage.TlsRpt;
using static Rampart.Storage.Tests.PostgresTestReports;

namespace Rampart.Storage.Tests;

/// <summary>The PostgreSQL report store against a real server: one report per transaction, stored once even by racing importers, summed exactly.</summary>
[Trait("Category", "integration")]
public sealed class PostgresTlsReportStoreTests(PostgresServerFixture fixture) : IClassFixture<PostgresServerFixture>
{
    private readonly FakeTimeProvider _time = new(Day.AddDays(10));

    private PostgresServer Server => fixture.Server;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private async Task<(PostgresTlsReportStore Store, string Database)> OpenNewAsync()
    {
        var database = await Server.CreateDatabaseAsync();
        return (await PostgresTlsReportStore.OpenAsync(Server.Url(database), _time, Ct), database);
    }

    [Fact]
    public async Task Add_SameReportTwice_StoredOnce()
    {
        var (store, _) = await OpenNewAsync();
        await using var owner = store;

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
        var (store, _) = await OpenNewAsync();
        await using var owner = store;

        await store.AddAsync(Stored(), Ct);

        Assert.Equal(TlsRptStoreOutcome.Imported, await store.AddAsync(Stored(org: "Microsoft"), Ct));
        Assert.Equal(TlsRptStoreOutcome.Imported, await store.AddAsync(Stored(id: "r2"), Ct));
        Assert.Equal(TlsRptStoreOutcome.Imported, await store.AddAsync(Stored(start: Day.AddDays(1)), Ct));
        Assert.Equal(TlsRptStoreOutcome.Duplicate, await store.AddAsync(Stored(ok: 1, failed: 1), Ct)); // same key, other counts: the first stays
        Assert.Equal(TlsRptStoreOutcome.Duplicate, await store.AddAsync(Stored(start: Day.AddTicks(5)), Ct)); // times are cut to milliseconds, as in SQLite
    }

    [Fact]
    public async Task RoundTrip_OverUnixSocket_ReopenedStoreKeepsAndDeduplicates()
    {
        var database = await Server.CreateDatabaseAsync();
        await using (var store = await PostgresTlsReportStore.OpenAsync(Server.SocketUrl(database), _time, Ct))
        {
            Assert.Equal(TlsRptStoreOutcome.Imported, await store.AddAsync(Stored(), Ct));
            Assert.Equal($"postgres://rampart@{Server.SocketDirectory}:{Server.Port}/{database}", store.Location);
        }
        await using var again = await PostgresTlsReportStore.OpenAsync(Server.Url(database), _time, Ct);

        Assert.Equal(TlsRptStoreOutcome.Duplicate, await again.AddAsync(Stored(), Ct));
        Assert.Equal($"postgres://rampart@127.0.0.1:{Server.Port}/{database}", again.Location);
        Assert.DoesNotContain(PostgresServer.Password, again.Location, StringComparison.Ordinal);
        var domain = Assert.Single(TlsRptSummaryBuilder.Build(await again.AggregateAsync(new TlsRptSummaryQuery(), Ct)));
        Assert.Equal((1, 90L, 10L, Day, Day.AddDays(1).AddSeconds(-1)), (domain.Reports, domain.Successful, domain.Failed, domain.FirstSeen, domain.LastSeen));
        Assert.Equal(new Dictionary<string, long> { ["certificate-expired"] = 10 }, domain.FailureTypes);
    }

    [Fact]
    public async Task Open_OptionsParameter_ReachesTheServerSession()
    {
        var database = await Server.CreateDatabaseAsync();
        await using var store = await PostgresTlsReportStore.OpenAsync(Server.Url(database) + "?options=-c%20synchronous_commit%3Doff", _time, Ct);
        string? setting = null;
        store.BeforeCommit = async (connection, ct) =>
        {
            await using var show = new NpgsqlCommand("SHOW synchronous_commit", connection);
            setting = (string?)await show.ExecuteScalarAsync(ct);
        };

        Assert.Equal(TlsRptStoreOutcome.Imported, await store.AddAsync(Stored(), Ct));

        Assert.Equal("off", setting);
    }

    [Fact]
    public async Task Add_TwoImportersRacing_EachReportStoredOnce()
    {
        var database = await Server.CreateDatabaseAsync();
        var reports = Enumerable.Range(0, 60).Select(i => Stored(id: $"race-{i}", ok: i, failed: 1)).ToList();
        var stores = await Task.WhenAll(Enumerable.Range(0, 2).Select(_ => PostgresTlsReportStore.OpenAsync(Server.Url(database), _time, Ct)));
        try
        {
            // Two importers (separate pools, as two hosts would be), each with three workers over the same reports in
            // different orders.
            var outcomes = await Task.WhenAll(stores.SelectMany((store, s) => Enumerable.Range(0, 3).Select(w => Task.Run(async () =>
            {
                var order = reports.OrderBy(r => (r.Report.ReportId.GetHashCode(StringComparison.Ordinal) * (s * 3 + w + 1)) & 0xFFFF).ToList();
                var mine = new List<TlsRptStoreOutcome>();
                foreach (var report in order)
                {
                    mine.Add(await store.AddAsync(report, Ct));
                }
                return mine;
            }, Ct))));

            var all = outcomes.SelectMany(o => o).ToList();
            Assert.Equal(60, all.Count(o => o == TlsRptStoreOutcome.Imported));
            Assert.Equal(60 * 5, all.Count(o => o == TlsRptStoreOutcome.Duplicate));
            Assert.Equal((60L, 60L, 60L), await stores[0].CountRowsAsync(Ct));
            var domain = Assert.Single(TlsRptSummaryBuilder.Build(await stores[1].AggregateAsync(new TlsRptSummaryQuery(), Ct)));
            Assert.Equal(Enumerable.Range(0, 60).Sum(), domain.Successful);
        }
        finally
        {
            foreach (var store in stores)
            {
                await store.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Open_ManyImportersOnAFreshDatabase_SchemaCreatedOnce()
    {
        var database = await Server.CreateDatabaseAsync();

        var stores = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => Task.Run(() => PostgresTlsReportStore.OpenAsync(Server.Url(database), _time, Ct), Ct)));
        foreach (var store in stores)
        {
            await store.DisposeAsync();
        }

        await using var admin = await Server.OpenAdminAsync(database);
        await using var versions = new NpgsqlCommand("SELECT count(*), max(version) FROM tlsrpt_schema_version", admin);
        await using var reader = await versions.ExecuteReaderAsync(Ct);
        await reader.ReadAsync(Ct);
        Assert.Equal((1L, PostgresTlsReportStore.SchemaVersion), (reader.GetInt64(0), reader.GetInt32(1)));
    }

    [Fact]
    public async Task Add_FaultBeforeCommit_NothingOfItStored()
    {
        var (store, _) = await OpenNewAsync();
        await using var owner = store;
        var twoPolicies = TwoPolicies();
        store.BeforeCommit = (_, _) => throw new IOException("importer dies with its rows written, uncommitted");

        await Assert.ThrowsAsync<IOException>(() => store.AddAsync(twoPolicies, Ct));

        Assert.Equal((0L, 0L, 0L), await store.CountRowsAsync(Ct));
        store.BeforeCommit = null;
        Assert.Equal(TlsRptStoreOutcome.Imported, await store.AddAsync(twoPolicies, Ct)); // not mistaken for a duplicate
        Assert.Equal((1L, 2L, 2L), await store.CountRowsAsync(Ct));
    }

    [Fact]
    public async Task Add_ServerRefusesARowMidReport_NothingOfItStored()
    {
        var (store, database) = await OpenNewAsync();
        await using var owner = store;
        await Server.ExecuteAsync(database, """
            CREATE FUNCTION refuse_boom() RETURNS trigger LANGUAGE plpgsql AS
              $$ BEGIN IF NEW.result_type = 'boom' THEN RAISE EXCEPTION 'disk gone at row %', NEW.result_type; END IF; RETURN NEW; END $$;
            CREATE TRIGGER refuse_boom BEFORE INSERT ON tlsrpt_failure FOR EACH ROW EXECUTE FUNCTION refuse_boom();
            """);
        var report = Stored(details:
        [
            new TlsRptFailureDetail("certificate-expired", "192.0.2.1", "mx.a.example", null, null, 3, null, null),
            new TlsRptFailureDetail("boom", "192.0.2.1", "mx.a.example", null, null, 3, null, null),
        ]);

        var ex = await Assert.ThrowsAsync<PostgresStoreException>(() => store.AddAsync(report, Ct));

        Assert.Contains("disk gone at row boom", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', ex.Message);
        Assert.Equal((0L, 0L, 0L), await store.CountRowsAsync(Ct));
        await Server.ExecuteAsync(database, "DROP TRIGGER refuse_boom ON tlsrpt_failure");
        Assert.Equal(TlsRptStoreOutcome.Imported, await store.AddAsync(report, Ct));
        Assert.Equal((1L, 1L, 2L), await store.CountRowsAsync(Ct));
    }

    [Fact]
    public async Task Add_ConnectionCutOffMidTransaction_OneLineErrorAndNothingStored()
    {
        var (store, database) = await OpenNewAsync();
        await using var owner = store;
        store.BeforeCommit = async (connection, _) => await Server.ExecuteAsync(database, $"SELECT pg_terminate_backend({connection.ProcessID})");

        var ex = await Assert.ThrowsAsync<PostgresStoreException>(() => store.AddAsync(TwoPolicies(), Ct));

        Assert.DoesNotContain('\n', ex.Message);
        Assert.StartsWith($"TLS-RPT store {store.Location} cannot store report r1: ", ex.Message, StringComparison.Ordinal);
        Assert.Equal((0L, 0L, 0L), await store.CountRowsAsync(Ct));
        store.BeforeCommit = null;
        Assert.Equal(TlsRptStoreOutcome.Imported, await store.AddAsync(TwoPolicies(), Ct));
    }

    [Fact]
    public async Task Aggregate_PerDomainReporterTypeMxAndIp_ExactSums()
    {
        var (store, _) = await OpenNewAsync();
        await using var owner = store;
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
    public async Task Aggregate_DomainAndSinceFilters()
    {
        var (store, _) = await OpenNewAsync();
        await using var owner = store;
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
        var (store, _) = await OpenNewAsync();
        await using var owner = store;

        await store.AddAsync(Stored(ok: 0, failed: 100_000, details: details), Ct);

        Assert.Equal((1L, 1L, 100_000L), await store.CountRowsAsync(Ct));
        var a = Assert.Single(TlsRptSummaryBuilder.Build(await store.AggregateAsync(new TlsRptSummaryQuery(), Ct)));
        Assert.Equal(100_000, a.FailureTypes.Values.Sum());
        Assert.Equal(33_334, a.FailureTypes["tlsa-invalid"]);
    }

    [Fact]
    public async Task Add_TextWithNulCharacter_StoredAndStillDeduplicated()
    {
        var (store, _) = await OpenNewAsync();
        await using var owner = store;

        Assert.Equal(TlsRptStoreOutcome.Imported, await store.AddAsync(Stored(id: "a\0b", details: [new TlsRptFailureDetail("x\0y", null, null, null, null, 1, "i\0", null)]), Ct));
        Assert.Equal(TlsRptStoreOutcome.Duplicate, await store.AddAsync(Stored(id: "a\0b"), Ct));

        var a = Assert.Single(TlsRptSummaryBuilder.Build(await store.AggregateAsync(new TlsRptSummaryQuery(), Ct)));
        Assert.Equal(["x\uFFFDy"], a.FailureTypes.Keys);
    }

    [Fact]
    public async Task Open_SchemaFromANewerRampart_Refused()
    {
        var (store, database) = await OpenNewAsync();
        await store.DisposeAsync();
        await Server.ExecuteAsync(database, "UPDATE tlsrpt_schema_version SET version = 99");

        var ex = await Assert.ThrowsAsync<PostgresStoreException>(() => PostgresTlsReportStore.OpenAsync(Server.Url(database), _time, Ct));

        Assert.Contains("schema version 99", ex.Message, StringComparison.Ordinal);
        Assert.Contains("newer Rampart", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Open_WrongPassword_OneLineErrorWithoutEitherPassword()
    {
        var database = await Server.CreateDatabaseAsync();
        const string Wrong = "Wr0ng-Guess-77";

        var ex = await Assert.ThrowsAsync<PostgresStoreException>(() => PostgresTlsReportStore.OpenAsync(Server.Url(database, Wrong), _time, Ct));

        Assert.DoesNotContain('\n', ex.Message);
        Assert.Contains($"127.0.0.1:{Server.Port}/{database}", ex.Message, StringComparison.Ordinal);
        Assert.Contains("password authentication failed", ex.Message, StringComparison.Ordinal);
        Assert.Contains("PGPASSWORD", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Wrong, ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(PostgresServer.Password, ex.Message, StringComparison.Ordinal);
        Assert.False(ex.IsTransient);
    }

    [Fact]
    public async Task Open_MissingDatabase_SaysHowToCreateIt()
    {
        var ex = await Assert.ThrowsAsync<PostgresStoreException>(() => PostgresTlsReportStore.OpenAsync(Server.Url("no_such_db"), _time, Ct));

        Assert.DoesNotContain('\n', ex.Message);
        Assert.Contains("does not exist", ex.Message, StringComparison.Ordinal);
        Assert.Contains("createdb", ex.Message, StringComparison.Ordinal);
        Assert.IsAssignableFrom<RampartException>(ex);
    }

    private static TlsRptStoredReport TwoPolicies()
    {
        var one = Stored();
        return one with { Report = one.Report with { Policies = [.. one.Report.Policies, one.Report.Policies[0] with { PolicyDomain = "b.example" }] } };
    }
}
