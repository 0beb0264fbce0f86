using Microsoft.Extensions.Time.Testing;
using Rampart.Core.TlsRpt;
using Rampart.Storage.Tests.Servers;
using Rampart.Storage.TlsRpt;
using static Rampart.Storage.Tests.TlsRpt.TlsRptTestReports;

namespace Rampart.Storage.Tests.TlsRpt;

/// <summary>A server that crashes in the middle of a report's transaction: after recovery, nothing of that report is there.</summary>
[Trait("Category", "integration")]
public sealed class PostgresTlsReportStoreCrashTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Add_ServerCrashesBeforeCommit_AfterRecoveryNothingPartialAndReimportWorks()
    {
        await using var server = await PostgresServer.StartAsync();
        var database = await server.CreateDatabaseAsync();
        var time = new FakeTimeProvider(Day);
        var committed = Stored(id: "committed");
        var details = Enumerable.Range(0, 5_000).Select(i => new TlsRptFailureDetail("tlsa-invalid", "192.0.2.9", "mx.a.example", null, null, 1, null, null)).ToArray();
        var cut = Stored(id: "cut", ok: 0, failed: 5_000, details: details);

        await using (var store = await PostgresTlsReportStore.OpenAsync(server.Url(database), time, Ct))
        {
            await store.AddAsync(committed, Ct);
            store.BeforeCommit = async (_, _) => await server.CrashAsync(); // every row of the report written, then the server dies

            var ex = await Assert.ThrowsAsync<PostgresStoreException>(() => store.AddAsync(cut, Ct));

            Assert.DoesNotContain('\n', ex.Message);
            Assert.Contains(store.Location, ex.Message, StringComparison.Ordinal);
        }

        await server.RestartAsync();
        await using var recovered = await PostgresTlsReportStore.OpenAsync(server.Url(database), time, Ct);
        Assert.Equal((1L, 1L, 1L), await recovered.CountRowsAsync(Ct));
        Assert.Equal(TlsRptStoreOutcome.Duplicate, await recovered.AddAsync(committed, Ct));
        Assert.Equal(TlsRptStoreOutcome.Imported, await recovered.AddAsync(cut, Ct));
        Assert.Equal((2L, 2L, 5_001L), await recovered.CountRowsAsync(Ct));
    }
}
