using Rampart.Core;
using Rampart.Core.TlsRpt;
using Rampart.Storage.Tests.Support;
using Rampart.Storage.TlsRpt;

namespace Rampart.Storage.Tests.TlsRpt;

/// <summary>The SQLite report store: the report-store contract on a file in a fresh directory, and what only a file can get wrong.</summary>
public sealed class TlsRptSqliteStoreTests : TlsReportStoreContractTests, IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private Task<SqliteTlsReportStore> OpenAsync() => SqliteTlsReportStore.OpenInDirectoryAsync(_dir.Path, Time, Ct);

    protected override async Task<ITlsReportStore> OpenNewAsync() => await OpenAsync();

    protected override async Task<ITlsReportStore> ReopenAsync() => await OpenAsync();

    protected override string ExpectedLocation => Path.Combine(_dir.Path, "tlsrpt.sqlite");

    protected override Task<(long Reports, long Policies, long Failures)> CountRowsAsync(ITlsReportStore store) =>
        ((SqliteTlsReportStore)store).CountRowsAsync(Ct);

    protected override void FailWhileAdding(ITlsReportStore store, Exception? fault) =>
        ((SqliteTlsReportStore)store).AfterPolicyWritten = fault is null ? null : _ => throw fault;

    [Fact]
    public async Task AfterDispose_CallsThrowObjectDisposed_AndASecondDisposeIsHarmless()
    {
        var store = await OpenAsync();
        await store.DisposeAsync();
        await store.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => store.AggregateAsync(new TlsRptSummaryQuery(), Ct));
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
