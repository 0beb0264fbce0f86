using Microsoft.Extensions.Time.Testing;
using Rampart.Core.TlsRpt;
using Rampart.Storage.Tests.Servers;
using Rampart.Storage.Tests.Support;
using Rampart.Storage.TlsRpt;
using static Rampart.Storage.Tests.TlsRpt.TlsRptTestReports;

namespace Rampart.Storage.Tests.TlsRpt;

/// <summary>The same reports into SQLite and into PostgreSQL: the same import outcomes and, for every query, the same summary, number for number.</summary>
[Trait("Category", "integration")]
public sealed class PostgresSqliteSummaryEquivalenceTests(PostgresServerFixture fixture) : IClassFixture<PostgresServerFixture>, IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly FakeTimeProvider _time = new(Day.AddDays(100));

    public void Dispose() => _dir.Dispose();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task SameReports_SameOutcomesAndSummaries(int seed)
    {
        var reports = Varied(400, seed);
        await using var sqlite = await SqliteTlsReportStore.OpenInDirectoryAsync(_dir.Path, _time, Ct);
        await using var postgres = await PostgresTlsReportStore.OpenAsync(fixture.Server.Url(await fixture.Server.CreateDatabaseAsync()), _time, Ct);

        var fromSqlite = new List<TlsRptStoreOutcome>();
        var fromPostgres = new List<TlsRptStoreOutcome>();
        foreach (var report in reports)
        {
            fromSqlite.Add(await sqlite.AddAsync(report, Ct));
            fromPostgres.Add(await postgres.AddAsync(report, Ct));
        }

        Assert.Equal(fromSqlite, fromPostgres);
        Assert.Contains(TlsRptStoreOutcome.Duplicate, fromSqlite);
        var (reportsRows, policies, failures) = await sqlite.CountRowsAsync(Ct);
        Assert.Equal((reportsRows, policies, failures), await postgres.CountRowsAsync(Ct));
        TlsRptSummaryQuery[] queries =
        [
            new(),
            new("a.example"),
            new(" B.Example. "),
            new(""),
            new("nowhere.example"),
            new(null, Day.AddDays(30).AddTicks(7_777)),
            new("c.example", Day.AddDays(45)),
        ];
        foreach (var query in queries)
        {
            var expected = Render(TlsRptSummaryBuilder.Build(await sqlite.AggregateAsync(query, Ct)));
            var actual = Render(TlsRptSummaryBuilder.Build(await postgres.AggregateAsync(query, Ct)));
            Assert.Equal(expected, actual);
        }
        Assert.Contains("domain 'a.example'", Render(TlsRptSummaryBuilder.Build(await postgres.AggregateAsync(new TlsRptSummaryQuery(), Ct))), StringComparison.Ordinal);
    }
}
