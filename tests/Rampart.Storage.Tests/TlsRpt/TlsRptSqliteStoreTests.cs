using Microsoft.Data.Sqlite;
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

    private int _stores;
    private string? _current;

    /// <summary>The state directory of the last <see cref="OpenNewAsync"/> (the test's directory until then).</summary>
    private string Current => _current ?? _dir.Path;

    private Task<SqliteTlsReportStore> OpenAsync() => SqliteTlsReportStore.OpenInDirectoryAsync(Current, Time, Ct);

    /// <summary>A store in a directory of its own, so tests opening several (the property test, in parallel) never share one.</summary>
    protected override async Task<ITlsReportStore> OpenNewAsync()
    {
        var directory = Path.Combine(_dir.Path, "store" + Interlocked.Increment(ref _stores).ToString(System.Globalization.CultureInfo.InvariantCulture));
        _current = directory;
        return await SqliteTlsReportStore.OpenInDirectoryAsync(directory, Time, Ct);
    }

    protected override async Task<ITlsReportStore> ReopenAsync() => await OpenAsync();

    protected override string ExpectedLocation => Path.Combine(Current, "tlsrpt.sqlite");

    protected override Task<(long Reports, long Policies, long Failures)> CountRowsAsync(ITlsReportStore store) =>
        ((SqliteTlsReportStore)store).CountRowsAsync(Ct);

    protected override void FailWhileAdding(ITlsReportStore store, Exception? fault) =>
        ((SqliteTlsReportStore)store).AfterPolicyWritten = fault is null ? null : _ => throw fault;

    protected override async Task<(TlsRptAggregates Aggregates, TlsRptDaily Daily)> ScanAsync(ITlsReportStore store, TlsRptSummaryQuery query) =>
        (await ((SqliteTlsReportStore)store).ScanAggregateAsync(query, Ct), await ((SqliteTlsReportStore)store).ScanDailyAsync(query, Ct));

    protected override async Task MakeVersionAsync(int version)
    {
        await using var connection = new SqliteConnection($"Data Source={ExpectedLocation};Pooling=False");
        await connection.OpenAsync(Ct);
        using var command = connection.CreateCommand();
        command.CommandText = DowngradeSql(version);
        await command.ExecuteNonQueryAsync(Ct);
    }

    protected override int PropertyIterations => 60;

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
