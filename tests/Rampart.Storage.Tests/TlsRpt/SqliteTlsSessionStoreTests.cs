using System.Diagnostics;
using System.Globalization;
using System.Text;
using Rampart.Core.TlsRpt;
using Rampart.Storage.TlsRpt;

using Rampart.Storage.Tests.Support;

namespace Rampart.Storage.Tests.TlsRpt;

/// <summary>
/// The session store in the state directory: the contract, a file that is not a database, and what committed survives
/// SIGKILL of the writer.
/// </summary>
public sealed class SqliteTlsSessionStoreTests : TlsSessionStoreContractTests, IDisposable
{
    private const string ChildDbVariable = "RAMPART_TEST_SESSIONS_DB";
    private const string ChildReadyVariable = "RAMPART_TEST_SESSIONS_READY";
    private const int ChildBatch = 50;

    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    protected override async Task<ITlsSessionStore> OpenAsync() => await OpenSqliteAsync();

    private Task<SqliteTlsSessionStore> OpenSqliteAsync() => SqliteTlsSessionStore.OpenAsync(SqliteTlsSessionStore.PathIn(_dir.Path), TimeProvider.System, Ct);

    [Fact]
    public async Task OpenAsync_NotADatabase_OneLineNamingTheFile()
    {
        var path = SqliteTlsSessionStore.PathIn(_dir.Path);
        await File.WriteAllTextAsync(path, new string('x', 4096), Ct);

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
                await Task.Delay(10, Ct);
            }
            child.Kill(entireProcessTree: false); // SIGKILL while it is adding batches
            await child.WaitForExitAsync(Ct);
        }
        finally
        {
            if (!child.HasExited)
            {
                child.Kill();
            }
        }
        Assert.Equal(128 + 9, child.ExitCode);

        await using var store = await SqliteTlsSessionStore.OpenAsync(db, TimeProvider.System, Ct);
        var batches = int.Parse((await store.ReadCursorAsync(TlsSessionSources.Log, Ct))!, CultureInfo.InvariantCulture);
        Assert.True(batches >= 20, $"only {batches} batches");
        var (successful, failed) = await TotalsAsync(store);
        Assert.Equal((batches * (ChildBatch - 1), (long)batches), (successful, failed));

        for (var n = 0; n < batches + 3; n++)
        {
            await store.AddAsync(TlsSessionSources.Log, ChildBatchEntries(n), null, Ct);
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
        var store = await SqliteTlsSessionStore.OpenAsync(db, TimeProvider.System, Ct);
        for (var n = 0; n < 1_000_000; n++) // bounded; the parent kills us long before
        {
            await store.AddAsync(TlsSessionSources.Log, ChildBatchEntries(n), (n + 1).ToString(CultureInfo.InvariantCulture), Ct);
            if (n == 20)
            {
                await File.WriteAllTextAsync(ready, "writing", Ct);
            }
        }
        GC.KeepAlive(store);
    }

    /// <summary>Batch <paramref name="n"/>: <see cref="ChildBatch"/> results, one of them failed, each with its own record key.</summary>
    private static List<TlsSessionEntry> ChildBatchEntries(int n) =>
        Enumerable.Range(0, ChildBatch)
            .Select(i => new TlsSessionEntry(i == 0 ? Failure(s_stripped, domain: $"d{n % 7}.example") : Success($"d{(n + i) % 7}.example"), $"b{n}:{i}"))
            .ToList();

}
