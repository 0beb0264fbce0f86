using Microsoft.Data.Sqlite;
using Rampart.Core;
using Rampart.Core.Check;
using Rampart.Storage.Check;
using Rampart.Storage.Tests.Support;

namespace Rampart.Storage.Tests.Check;

/// <summary>check-history.sqlite: a reopened file remembers first-seen times, one domain's round is all or nothing, bad files are one-line errors.</summary>
public sealed class FindingHistoryTests
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 6, 30, 15, 123, TimeSpan.Zero);

    private static RememberedFinding R(string id, DateTimeOffset firstSeen, CheckSeverity severity = CheckSeverity.Warning, string subject = "mx1.example.org") =>
        new(new CheckFinding(id, severity, subject, $"message of {id} ✓", $"fix {id}", "RFC 7672 §3.1"), firstSeen);

    [Fact]
    public async Task AfterDispose_CallsThrowObjectDisposed_AndASecondDisposeIsHarmless()
    {
        using var dir = new TempDirectory();
        var ct = TestContext.Current.CancellationToken;
        var history = await SqliteFindingHistory.OpenInDirectoryAsync(dir.Path, ct);
        await history.DisposeAsync();
        await history.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => history.LoadAsync("example.org", ct));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => history.SaveAsync("example.org", [], ct));
    }

    [Fact]
    public async Task SaveThenReopen_RemembersFindingsAndFirstSeen()
    {
        using var dir = new TempDirectory();
        var ct = TestContext.Current.CancellationToken;
        IReadOnlyList<RememberedFinding> saved = [R("dane.mismatch", T0, CheckSeverity.Failure), R("tls.weak", T0.AddHours(1)), R("dane.none", T0.AddHours(2), CheckSeverity.Info, "example.org")];
        await using (var history = await SqliteFindingHistory.OpenInDirectoryAsync(dir.Path, ct))
        {
            Assert.Equal(dir.File(SqliteFindingHistory.FileName), history.Location);
            Assert.Empty(await history.LoadAsync("example.org", ct));
            await history.SaveAsync("example.org", saved, ct);
        }

        await using var reopened = await SqliteFindingHistory.OpenInDirectoryAsync(dir.Path, ct);
        var loaded = await reopened.LoadAsync("example.org", ct);

        Assert.Equal(saved, loaded);
        Assert.Empty(await reopened.LoadAsync("example.net", ct));
    }

    [Fact]
    public async Task ReadAll_VerdictFindingsAndTimeline_AppearedAtFirstSeen_ClearedWhenGone()
    {
        using var dir = new TempDirectory();
        var ct = TestContext.Current.CancellationToken;
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(T0);
        await using var history = await SqliteFindingHistory.OpenInDirectoryAsync(dir.Path, ct);
        history.Clock = clock;
        await history.SaveAsync("a.example", [R("dane.mismatch", T0, CheckSeverity.Failure), R("tls.weak", T0)], ct);
        await history.SaveAsync("b.example", [], ct);
        clock.Advance(TimeSpan.FromHours(1));
        await history.SaveAsync("a.example", [R("dane.mismatch", T0, CheckSeverity.Failure), R("tls.weak", T0)], ct); // nothing changed
        clock.Advance(TimeSpan.FromHours(1));
        await history.SaveAsync("a.example", [R("dane.mismatch", T0, CheckSeverity.Failure), R("mx.new", clock.GetUtcNow())], ct);

        var all = await history.ReadAllAsync(ct);

        Assert.Equal(["a.example", "b.example"], all.Select(d => d.Domain));
        var a = all[0];
        Assert.Equal(CheckStatus.Failure, a.Status);
        Assert.Equal(T0.AddHours(2), a.LastChecked);
        Assert.Equal(["dane.mismatch", "mx.new"], a.Findings.Select(f => f.Finding.Id));
        Assert.Equal(
            [(T0.AddHours(2), "appeared", "mx.new"), (T0.AddHours(2), "cleared", "tls.weak"), (T0, "appeared", "tls.weak"), (T0, "appeared", "dane.mismatch")],
            a.Timeline.Select(e => (e.At, e.Change, e.Id)).OrderByDescending(e => e.At).ThenBy(e => e.Change, StringComparer.Ordinal).ThenByDescending(e => e.Id, StringComparer.Ordinal));
        Assert.Equal(CheckSeverity.Warning, a.Timeline.Single(e => e.Change == "cleared").Severity);
        Assert.Equal((CheckStatus.Ok, T0, 0, 0), (all[1].Status, all[1].LastChecked!.Value, all[1].Findings.Count, all[1].Timeline.Count));
    }

    [Fact]
    public async Task Save_ReplacesOnlyThatDomain()
    {
        using var dir = new TempDirectory();
        var ct = TestContext.Current.CancellationToken;
        await using var history = await SqliteFindingHistory.OpenInDirectoryAsync(dir.Path, ct);
        await history.SaveAsync("a.example", [R("x.one", T0), R("x.two", T0)], ct);
        await history.SaveAsync("b.example", [R("x.one", T0)], ct);

        await history.SaveAsync("a.example", [R("x.two", T0)], ct);

        Assert.Equal(["x.two"], (await history.LoadAsync("a.example", ct)).Select(r => r.Finding.Id));
        Assert.Equal(["x.one"], (await history.LoadAsync("b.example", ct)).Select(r => r.Finding.Id));
        await history.SaveAsync("a.example", [], ct);
        Assert.Empty(await history.LoadAsync("a.example", ct));
    }

    [Fact]
    public async Task FaultMidSave_DomainKeepsItsPreviousState()
    {
        using var dir = new TempDirectory();
        var ct = TestContext.Current.CancellationToken;
        await using var history = await SqliteFindingHistory.OpenInDirectoryAsync(dir.Path, ct);
        IReadOnlyList<RememberedFinding> before = [R("x.old", T0)];
        await history.SaveAsync("example.org", before, ct);
        history.AfterFindingWritten = i =>
        {
            if (i == 1)
            {
                throw new InvalidOperationException("crash mid-round");
            }
        };

        await Assert.ThrowsAsync<InvalidOperationException>(() => history.SaveAsync("example.org", [R("x.new1", T0), R("x.new2", T0), R("x.new3", T0)], ct));
        history.AfterFindingWritten = null;

        Assert.Equal(before, await history.LoadAsync("example.org", ct));
    }

    [Fact]
    public async Task Open_UsesWal()
    {
        using var dir = new TempDirectory();
        var ct = TestContext.Current.CancellationToken;
        await using var history = await SqliteFindingHistory.OpenInDirectoryAsync(dir.Path, ct);
        await history.SaveAsync("example.org", [R("x.one", T0)], ct);

        await using var reader = new SqliteConnection($"Data Source={history.Location};Mode=ReadOnly;Pooling=False");
        await reader.OpenAsync(ct);
        using var mode = reader.CreateCommand();
        mode.CommandText = "PRAGMA journal_mode";
        Assert.Equal("wal", (string?)await mode.ExecuteScalarAsync(ct));
    }

    [Fact]
    public async Task Open_NotADatabase_OneLineErrorNamingTheFile()
    {
        using var dir = new TempDirectory();
        var ct = TestContext.Current.CancellationToken;
        var path = dir.File(SqliteFindingHistory.FileName);
        await File.WriteAllTextAsync(path, new string('x', 4096), ct);

        var ex = await Assert.ThrowsAsync<RampartException>(() => SqliteFindingHistory.OpenAsync(path, ct));

        Assert.StartsWith($"check history '{path}' cannot be used:", ex.Message, StringComparison.Ordinal);
        Assert.Contains("not a SQLite database", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', ex.Message);
    }

    [Fact]
    public async Task Open_Directory_OneLineError()
    {
        using var dir = new TempDirectory();
        var path = dir.File(SqliteFindingHistory.FileName);
        Directory.CreateDirectory(path);

        var ex = await Assert.ThrowsAsync<RampartException>(() => SqliteFindingHistory.OpenAsync(path, TestContext.Current.CancellationToken));

        Assert.Contains("is a directory", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Open_MissingDirectory_CreatedOwnerOnly()
    {
        using var dir = new TempDirectory();
        var state = Path.Combine(dir.Path, "nested", "state");

        await using var history = await SqliteFindingHistory.OpenInDirectoryAsync(state, TestContext.Current.CancellationToken);

        Assert.True(File.Exists(history.Location));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(state));
        }
    }
}
