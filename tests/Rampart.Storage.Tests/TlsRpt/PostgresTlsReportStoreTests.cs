using Npgsql;
using Rampart.Core;
using Rampart.Core.TlsRpt;
using Rampart.Storage.Tests.Servers;
using Rampart.Storage.Tests.Support;
using Rampart.Storage.TlsRpt;
using static Rampart.Storage.Tests.TlsRpt.TlsRptTestReports;

namespace Rampart.Storage.Tests.TlsRpt;

/// <summary>
/// The PostgreSQL report store against a real server: the report-store contract, each test on its own database, and
/// what only a shared server brings (racing importers, sockets, passwords, a cut-off or refusing server).
/// </summary>
[Trait("Category", "integration")]
public sealed class PostgresTlsReportStoreTests(PostgresServerFixture fixture) : TlsReportStoreContractTests, IClassFixture<PostgresServerFixture>
{
    private string? _database;

    private PostgresServer Server => fixture.Server;

    private string Database => _database ?? throw new InvalidOperationException("no store opened yet");

    private async Task<(PostgresTlsReportStore Store, string Database)> OpenFreshAsync()
    {
        _database = await Server.CreateDatabaseAsync();
        return (await PostgresTlsReportStore.OpenAsync(Server.Url(_database), Time, Ct), _database);
    }

    protected override async Task<ITlsReportStore> OpenNewAsync() => (await OpenFreshAsync()).Store;

    protected override async Task<ITlsReportStore> ReopenAsync() => await PostgresTlsReportStore.OpenAsync(Server.Url(Database), Time, Ct);

    protected override string ExpectedLocation => $"postgres://rampart@127.0.0.1:{Server.Port}/{Database}";

    protected override Task<(long Reports, long Policies, long Failures)> CountRowsAsync(ITlsReportStore store) =>
        ((PostgresTlsReportStore)store).CountRowsAsync(Ct);

    protected override void FailWhileAdding(ITlsReportStore store, Exception? fault) =>
        ((PostgresTlsReportStore)store).BeforeCommit = fault is null ? null : (_, _) => throw fault;

    protected override async Task<(TlsRptAggregates Aggregates, TlsRptDaily Daily)> ScanAsync(ITlsReportStore store, TlsRptSummaryQuery query) =>
        (await ((PostgresTlsReportStore)store).ScanAggregateAsync(query, Ct), await ((PostgresTlsReportStore)store).ScanDailyAsync(query, Ct));

    protected override Task MakeVersionAsync(int version) => Server.ExecuteAsync(Database, DowngradeSql(version));

    protected override int PropertyIterations => 12;

    [Fact]
    public async Task RoundTrip_OverUnixSocket_ReopenedStoreKeepsAndDeduplicates()
    {
        var database = await Server.CreateDatabaseAsync();
        await using (var store = await PostgresTlsReportStore.OpenAsync(Server.SocketUrl(database), Time, Ct))
        {
            Assert.Equal(TlsRptStoreOutcome.Imported, await store.AddAsync(Stored(), Ct));
            Assert.Equal($"postgres://rampart@{Server.SocketDirectory}:{Server.Port}/{database}", store.Location);
        }
        await using var again = await PostgresTlsReportStore.OpenAsync(Server.Url(database), Time, Ct);

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
        await using var store = await PostgresTlsReportStore.OpenAsync(Server.Url(database) + "?options=-c%20synchronous_commit%3Doff", Time, Ct);
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
        var stores = await Task.WhenAll(Enumerable.Range(0, 2).Select(_ => PostgresTlsReportStore.OpenAsync(Server.Url(database), Time, Ct)));
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

        var stores = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => Task.Run(() => PostgresTlsReportStore.OpenAsync(Server.Url(database), Time, Ct), Ct)));
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
    public async Task Add_ServerRefusesARowMidReport_NothingOfItStored()
    {
        var (store, database) = await OpenFreshAsync();
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
        var (store, database) = await OpenFreshAsync();
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
    public async Task Add_TextWithNulCharacter_StoredAndStillDeduplicated()
    {
        var (store, _) = await OpenFreshAsync();
        await using var owner = store;

        Assert.Equal(TlsRptStoreOutcome.Imported, await store.AddAsync(Stored(id: "a\0b", details: [new TlsRptFailureDetail("x\0y", null, null, null, null, 1, "i\0", null)]), Ct));
        Assert.Equal(TlsRptStoreOutcome.Duplicate, await store.AddAsync(Stored(id: "a\0b"), Ct));

        var a = Assert.Single(TlsRptSummaryBuilder.Build(await store.AggregateAsync(new TlsRptSummaryQuery(), Ct)));
        Assert.Equal(["x\uFFFDy"], a.FailureTypes.Keys);
    }

    [Fact]
    public async Task Open_SchemaFromANewerRampart_Refused()
    {
        var (store, database) = await OpenFreshAsync();
        await store.DisposeAsync();
        await Server.ExecuteAsync(database, "UPDATE tlsrpt_schema_version SET version = 99");

        var ex = await Assert.ThrowsAsync<PostgresStoreException>(() => PostgresTlsReportStore.OpenAsync(Server.Url(database), Time, Ct));

        Assert.Contains("schema version 99", ex.Message, StringComparison.Ordinal);
        Assert.Contains("newer Rampart", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Open_WrongPassword_OneLineErrorWithoutEitherPassword()
    {
        var database = await Server.CreateDatabaseAsync();
        const string Wrong = "Wr0ng-Guess-77";

        var ex = await Assert.ThrowsAsync<PostgresStoreException>(() => PostgresTlsReportStore.OpenAsync(Server.Url(database, Wrong), Time, Ct));

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
        var ex = await Assert.ThrowsAsync<PostgresStoreException>(() => PostgresTlsReportStore.OpenAsync(Server.Url("no_such_db"), Time, Ct));

        Assert.DoesNotContain('\n', ex.Message);
        Assert.Contains("does not exist", ex.Message, StringComparison.Ordinal);
        Assert.Contains("createdb", ex.Message, StringComparison.Ordinal);
        Assert.IsAssignableFrom<RampartException>(ex);
    }
}
