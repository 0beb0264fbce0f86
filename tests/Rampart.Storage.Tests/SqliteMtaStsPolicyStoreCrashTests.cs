using System.Diagnostics;
using System.Text;
using Rampart.Storage.Tests.Support;
using static Rampart.Storage.Tests.Support.Policies;

namespace Rampart.Storage.Tests;

/// <summary>
/// "Survives kill -9": what SetAsync committed is readable after the writer dies without closing the file.
/// Two ways: a snapshot of the files of a store still open (what a crash leaves on disk, minus the kernel's view),
/// and a real child process (this test assembly, running <see cref="CrashChild_WritesThenWaitsForSigkill"/>) killed
/// with SIGKILL.
/// </summary>
public sealed class SqliteMtaStsPolicyStoreCrashTests
{
    private const string ChildDbVariable = "RAMPART_TEST_CRASH_DB";
    private const string ChildReadyVariable = "RAMPART_TEST_CRASH_READY";
    private const int ChildEntries = 200;

    private readonly CancellationToken _ct = TestContext.Current.CancellationToken;

    [Fact]
    public async Task SetAsync_FilesCopiedWhileStillOpen_CopyHasTheEntry()
    {
        using var dir = new TempDirectory();
        string live = dir.File("live.sqlite");
        string snapshot = Path.Combine(dir.Path, "snapshot", "policy-cache.sqlite");
        var entry = Entry("crash.example", EnforceCrlf, id: "snap");
        var store = await SqliteMtaStsPolicyStore.OpenAsync(live, new SqlitePolicyStoreOptions(), TimeProvider.System, _ct);
        try
        {
            await store.SetAsync(Entry("first.example"), _ct);
            await store.SetAsync(entry, _ct);

            Directory.CreateDirectory(Path.GetDirectoryName(snapshot)!);
            Assert.True(new FileInfo(live + "-wal").Length > 0, "the commits are still in the WAL, not checkpointed");
            File.Copy(live, snapshot);
            File.Copy(live + "-wal", snapshot + "-wal"); // no -shm: it is rebuilt from the WAL, as after a reboot
        }
        finally
        {
            await store.DisposeAsync();
        }

        await using var recovered = await SqliteMtaStsPolicyStore.OpenAsync(snapshot, new SqlitePolicyStoreOptions(), TimeProvider.System, _ct);

        AssertSameEntry(entry, await recovered.GetAsync("crash.example", _ct));
        Assert.Equal(2, await recovered.CountAsync(_ct));
    }

    [Fact]
    public async Task SetAsync_WriterKilledWithSigkill_EveryEntryReadable()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "SIGKILL is a Unix signal");
        using var dir = new TempDirectory();
        string db = dir.File("policy-cache.sqlite");
        string ready = dir.File("ready");
        var output = new StringBuilder();
        using var child = StartChild(db, ready, output);
        try
        {
            var deadline = Stopwatch.StartNew();
            while (!File.Exists(ready))
            {
                Assert.False(child.HasExited, $"the child exited early ({(child.HasExited ? child.ExitCode : 0)}): {output}");
                Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(60), $"the child never wrote its entries: {output}");
                await Task.Delay(20, _ct);
            }

            Assert.False(child.HasExited);
            child.Kill(entireProcessTree: false); // SIGKILL on Unix: no finally blocks, no Dispose, no checkpoint
            await child.WaitForExitAsync(_ct);
        }
        finally
        {
            if (!child.HasExited)
            {
                child.Kill();
            }
        }

        Assert.Equal(128 + 9, child.ExitCode);
        Assert.True(File.Exists(db + "-wal"), "killed before closing, so the WAL is still there");
        await using var store = await SqliteMtaStsPolicyStore.OpenAsync(db, new SqlitePolicyStoreOptions(), TimeProvider.System, _ct);
        Assert.Equal(ChildEntries, await store.CountAsync(_ct));
        for (int i = 0; i < ChildEntries; i++)
        {
            AssertSameEntry(ChildEntry(i), await store.GetAsync($"killed{i}.example", _ct));
        }
    }

    /// <summary>
    /// Not a test: the child process of <see cref="SetAsync_WriterKilledWithSigkill_EveryEntryReadable"/>. It writes,
    /// says so with a file, and waits to be killed. Explicit, so a normal run does not start it.
    /// </summary>
    [Fact(Explicit = true)]
    public async Task CrashChild_WritesThenWaitsForSigkill()
    {
        string? db = Environment.GetEnvironmentVariable(ChildDbVariable);
        string? ready = Environment.GetEnvironmentVariable(ChildReadyVariable);
        if (db is null || ready is null)
        {
            return;
        }

        var store = await SqliteMtaStsPolicyStore.OpenAsync(db, new SqlitePolicyStoreOptions(), TimeProvider.System, _ct);
        for (int i = 0; i < ChildEntries; i++)
        {
            await store.SetAsync(ChildEntry(i), _ct);
        }

        await File.WriteAllTextAsync(ready, "written", _ct);
        await Task.Delay(TimeSpan.FromMinutes(2), _ct); // never disposed: the parent kills us first
        GC.KeepAlive(store);
    }

    private static Rampart.Core.MtaSts.CachedMtaStsPolicy ChildEntry(int i) =>
        Entry($"killed{i}.example", Texts[i % Texts.Length], id: $"k{i}", fetched: T0.AddSeconds(i), maxAge: TimeSpan.FromDays(1));

    /// <summary>Runs this test assembly again, filtered to the child method, under the same host as this run.</summary>
    private static Process StartChild(string db, string ready, StringBuilder output) =>
        TestChildProcess.Start(typeof(SqliteMtaStsPolicyStoreCrashTests), nameof(CrashChild_WritesThenWaitsForSigkill),
            new Dictionary<string, string> { [ChildDbVariable] = db, [ChildReadyVariable] = ready }, output);
}
