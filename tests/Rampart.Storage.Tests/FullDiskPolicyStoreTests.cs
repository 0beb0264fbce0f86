using System.Diagnostics;
using Microsoft.Extensions.Time.Testing;
using Rampart.Core.MtaSts;
using Rampart.Storage.Tests.Support;
using static Rampart.Storage.Tests.Support.Policies;

namespace Rampart.Storage.Tests;

/// <summary>
/// The daemon's policy cache on a full file system (a real tmpfs, filled): writes fail, and the answers must not
/// change: every policy that was fetched is still served, the fault is reported once (not per lookup) and counted,
/// and when space returns the policies are written again. Needs root for the mount, as test.sh runs.
/// </summary>
public sealed class FullDiskPolicyStoreTests : IAsyncLifetime
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private readonly TempDirectory _mount = new();
    private readonly FakeTimeProvider _time = new(T0);
    private readonly List<string?> _faults = [];
    private bool _mounted;

    public async ValueTask InitializeAsync()
    {
        Assert.True(Environment.IsPrivilegedProcess, "this test mounts a small tmpfs and needs root (test.sh runs as root)");
        await RunAsync("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", _mount.Path);
        _mounted = true;
    }

    public async ValueTask DisposeAsync()
    {
        if (_mounted)
        {
            await RunAsync("umount", "-l", _mount.Path);
        }
        _mount.Dispose();
    }

    [Fact]
    public async Task FullDisk_WritesFail_EveryFetchedPolicyStillServedAndTheFaultReportedOnce()
    {
        var sqlite = await SqliteMtaStsPolicyStore.OpenAsync(SqlitePolicyStoreOptions.PathIn(_mount.Path), new SqlitePolicyStoreOptions(), _time, Ct);
        await using var store = new FallbackMtaStsPolicyStore(sqlite, new InMemoryMtaStsPolicyStore(), _faults.Add, mirrorReads: false, _time);
        var filler = _mount.File("filler");
        Fill(filler);

        var entries = Enumerable.Range(0, 300).Select(i => Entry($"d{i}.example", Enforce, id: $"id{i}", fetched: T0.AddSeconds(i))).ToList();
        foreach (var entry in entries)
        {
            await store.SetAsync(entry, Ct); // never throws: the disk is full, the policy is kept in memory
        }

        foreach (var entry in entries)
        {
            AssertSameEntry(entry, await store.GetAsync(entry.Domain, Ct));
        }
        Assert.True(store.IsDegraded);
        Assert.True(store.Faults >= 1);
        var fault = Assert.Single(_faults);
        Assert.NotNull(fault);
        Assert.StartsWith("write failed: ", fault, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', fault);

        File.Delete(filler);
        await store.SetAsync(entries[0], Ct);

        Assert.False(store.IsDegraded);
        Assert.Null(_faults[^1]);
        AssertSameEntry(entries[0], await sqlite.GetAsync(entries[0].Domain, Ct));
    }

    [Fact]
    public async Task FullDisk_StillFailingAfterTheInterval_ReportedAgainNotPerOperation()
    {
        var sqlite = await SqliteMtaStsPolicyStore.OpenAsync(SqlitePolicyStoreOptions.PathIn(_mount.Path), new SqlitePolicyStoreOptions(), _time, Ct);
        await using var store = new FallbackMtaStsPolicyStore(sqlite, new InMemoryMtaStsPolicyStore(), _faults.Add, mirrorReads: false, _time);
        Fill(_mount.File("filler"));

        for (int i = 0; i < 50; i++)
        {
            await store.SetAsync(Entry($"d{i}.example", Enforce, id: $"id{i}", fetched: T0.AddSeconds(i)), Ct);
        }
        _time.Advance(FallbackMtaStsPolicyStore.ReminderInterval);
        await store.SetAsync(Entry("late.example", Enforce, id: "late", fetched: T0.AddHours(1)), Ct);

        Assert.Equal(2, _faults.Count);
        Assert.All(_faults, f => Assert.NotNull(f));
    }

    private static void Fill(string path)
    {
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write);
        var block = new byte[64 * 1024];
        try
        {
            while (true)
            {
                file.Write(block);
                file.Flush();
            }
        }
        catch (IOException)
        {
            // ENOSPC: the file system is full
        }
    }

    private static async Task RunAsync(string command, params string[] args)
    {
        using var process = Process.Start(new ProcessStartInfo(command, args) { RedirectStandardError = true })!;
        var error = await process.StandardError.ReadToEndAsync(Ct);
        await process.WaitForExitAsync(Ct);
        Assert.True(process.ExitCode == 0, $"{command} {string.Join(' ', args)}: {error}");
    }
}
