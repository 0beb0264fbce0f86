using Rampart.Core;
using Rampart.Core.MtaSts;
using Rampart.Storage.Tests.Support;
using static Rampart.Storage.Tests.Support.Policies;

namespace Rampart.Storage.Tests;

/// <summary>The SQLite store: the policy-store contract on a file in a fresh directory, and what only a bounded file can get wrong.</summary>
public sealed class SqliteMtaStsPolicyStoreTests : MtaStsPolicyStoreContractTests
{
    private readonly TempDirectory _dir = new();

    private string DbPath => SqlitePolicyStoreOptions.PathIn(_dir.Path);

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        _dir.Dispose();
    }

    protected override async Task<IPersistentMtaStsPolicyStore> OpenStoreAsync() => await OpenAsync();

    private Task<SqliteMtaStsPolicyStore> OpenAsync(int maxEntries = SqlitePolicyStoreOptions.DefaultMaxEntries, string? path = null) =>
        SqliteMtaStsPolicyStore.OpenAsync(path ?? DbPath, new SqlitePolicyStoreOptions { MaxEntries = maxEntries }, Time, Ct);

    [Fact]
    public async Task GetAsync_ExpiredEntry_StillReturnedLikeTheInMemoryStore()
    {
        await using var store = await OpenAsync();
        await store.SetAsync(Entry("old.example", maxAge: TimeSpan.FromMinutes(1)), Ct);
        Time.Advance(TimeSpan.FromHours(1));

        var got = await store.GetAsync("old.example", Ct);

        Assert.NotNull(got);
        Assert.False(got.IsValidAt(Time.GetUtcNow()));
    }

    [Fact]
    public async Task SetAsync_SameDomainAgain_ReplacesTheEntry()
    {
        await using var store = await OpenAsync();
        await store.SetAsync(Entry("example.com", id: "one"), Ct);
        var second = Entry("EXAMPLE.com", EnforceCrlf, id: "two", fetched: T0.AddHours(1));

        await store.SetAsync(second, Ct);

        AssertSameEntry(second, await store.GetAsync("example.com", Ct));
        Assert.Equal(1, await store.CountAsync(Ct));
    }

    [Fact]
    public async Task OpenAsync_AfterDispose_KeepsEntries()
    {
        var entries = Enumerable.Range(0, 20).Select(i => Entry($"d{i}.example", Texts[i % Texts.Length], id: $"id{i}", fetched: T0.AddSeconds(i))).ToList();
        await using (var store = await OpenAsync())
        {
            foreach (var entry in entries)
            {
                await store.SetAsync(entry, Ct);
            }
        }

        Assert.False(File.Exists(DbPath + "-wal"), "a clean close checkpoints and removes the WAL");
        await using var reopened = await OpenAsync();

        Assert.Equal(20, await reopened.CountAsync(Ct));
        foreach (var entry in entries)
        {
            AssertSameEntry(entry, await reopened.GetAsync(entry.Domain, Ct));
        }
    }

    [Fact]
    public async Task OpenAsync_MissingStateDirectory_CreatesItOwnerOnly()
    {
        string stateDir = Path.Combine(_dir.Path, "state", "rampart");
        await using var store = await OpenAsync(path: SqlitePolicyStoreOptions.PathIn(stateDir));

        Assert.True(File.Exists(Path.Combine(stateDir, "policy-cache.sqlite")));
        Assert.Equal(Path.Combine(stateDir, "policy-cache.sqlite"), store.Path);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(stateDir));
        }
    }

    [Theory]
    [InlineData("garbage")]
    [InlineData("short")]
    [InlineData("header-only")]
    public async Task OpenAsync_NotADatabase_ThrowsOneLineRampartExceptionNamingTheFile(string kind)
    {
        byte[] bytes = kind switch
        {
            "garbage" => Enumerable.Range(0, 8192).Select(i => (byte)(i * 131 + 7)).ToArray(),
            "short" => "hello"u8.ToArray(),
            _ => [.. "SQLite format 3\0"u8, .. Enumerable.Repeat((byte)0xFF, 4080)],
        };
        await File.WriteAllBytesAsync(DbPath, bytes, Ct);

        var ex = await Assert.ThrowsAsync<RampartException>(() => OpenAsync());

        AssertUsableMessage(ex, DbPath);
        Assert.Contains("move it aside", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OpenAsync_TruncatedDatabase_ThrowsRampartException()
    {
        await using (var store = await OpenAsync())
        {
            for (int i = 0; i < 300; i++)
            {
                await store.SetAsync(Entry($"d{i}.example", Texts[i % Texts.Length], fetched: T0.AddSeconds(i)), Ct);
            }
        }

        await using (var file = new FileStream(DbPath, FileMode.Open))
        {
            file.SetLength(file.Length / 2);
        }

        var ex = await Assert.ThrowsAsync<RampartException>(() => OpenAsync());

        AssertUsableMessage(ex, DbPath);
    }

    [Fact]
    public async Task OpenAsync_DirectoryInPlaceOfTheFile_ThrowsRampartException()
    {
        Directory.CreateDirectory(DbPath);

        var ex = await Assert.ThrowsAsync<RampartException>(() => OpenAsync());

        AssertUsableMessage(ex, DbPath);
        Assert.Contains("is a directory", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OpenAsync_StateDirectoryIsAFile_ThrowsRampartException()
    {
        string notADir = _dir.File("state");
        await File.WriteAllTextAsync(notADir, "x", Ct);

        var ex = await Assert.ThrowsAsync<RampartException>(() => OpenAsync(path: SqlitePolicyStoreOptions.PathIn(notADir)));

        AssertUsableMessage(ex, notADir);
    }

    [Fact]
    public async Task OpenAsync_NewerSchemaVersion_ThrowsRampartException()
    {
        await (await OpenAsync()).DisposeAsync();
        Execute(DbPath, "UPDATE schema_version SET version = 99");

        var ex = await Assert.ThrowsAsync<RampartException>(() => OpenAsync());

        AssertUsableMessage(ex, DbPath);
        Assert.Contains("schema version 99", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OpenAsync_FileFromBeforeTheDaneVerdictColumn_ItsRowsAnswerFirstAndAnOlderWriterStillWorks()
    {
        // A file written before decided_without_dane: its policies were fetched only once DANE had not applied.
        Execute(DbPath, """
            CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (1);
            CREATE TABLE mta_sts_policy (domain TEXT NOT NULL PRIMARY KEY, policy_id TEXT NOT NULL, policy_text TEXT NOT NULL,
                fetched_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL, checked_ms INTEGER NOT NULL);
            """);
        InsertAsAnOlderRampart("old.example");

        await using (var store = await OpenAsync())
        {
            Assert.True((await store.GetAsync("old.example", Ct))!.DecidedWithoutDane);
            await store.SetAsync(Entry("dane.example") with { DecidedWithoutDane = false }, Ct);
        }
        InsertAsAnOlderRampart("older-writer.example"); // a rollback: the older code's insert does not name the column
        await using var reopened = await OpenAsync();

        Assert.True((await reopened.GetAsync("older-writer.example", Ct))!.DecidedWithoutDane);
        Assert.False((await reopened.GetAsync("dane.example", Ct))!.DecidedWithoutDane);
    }

    private void InsertAsAnOlderRampart(string domain)
    {
        long now = Time.GetUtcNow().ToUnixTimeMilliseconds();
        Execute(DbPath, $"INSERT INTO mta_sts_policy (domain, policy_id, policy_text, fetched_ms, expires_ms, checked_ms) " +
            $"VALUES ('{domain}', 'id1', 'version: STSv1\nmode: enforce\nmx: mx.{domain}\nmax_age: 86400\n', {now}, {now + 86_400_000}, {now})");
    }

    [Fact]
    public async Task OpenAsync_ExistingFile_UsesWalAndRecordsTheSchemaVersion()
    {
        await (await OpenAsync()).DisposeAsync();
        await using var store = await OpenAsync();

        using var raw = Raw(DbPath);
        using var command = raw.CreateCommand();
        command.CommandText = "PRAGMA journal_mode";
        Assert.Equal("wal", command.ExecuteScalar());
        command.CommandText = "SELECT count(*) || ':' || max(version) FROM schema_version";
        Assert.Equal("1:1", command.ExecuteScalar());
    }

    [Fact]
    public async Task PurgeExpiredAsync_MixedEntries_RemovesOnlyExpired()
    {
        await using var store = await OpenAsync();
        await store.SetAsync(Entry("gone.example", maxAge: TimeSpan.FromMinutes(5)), Ct);
        await store.SetAsync(Entry("edge.example", maxAge: TimeSpan.FromMinutes(10)), Ct); // expires exactly now: expired
        await store.SetAsync(Entry("kept.example", maxAge: TimeSpan.FromMinutes(11)), Ct);
        Time.Advance(TimeSpan.FromMinutes(10));

        int purged = await store.PurgeExpiredAsync(Ct);

        Assert.Equal(2, purged);
        Assert.Equal(1, await store.CountAsync(Ct));
        Assert.NotNull(await store.GetAsync("kept.example", Ct));
        Assert.Null(await store.GetAsync("edge.example", Ct));
    }

    [Fact]
    public async Task EnumerateValidAsync_MixedEntries_ReturnsOnlyUnexpired()
    {
        await using var store = await OpenAsync();
        await store.SetAsync(Entry("a.example", maxAge: TimeSpan.FromDays(1)), Ct);
        await store.SetAsync(Entry("b.example", EnforceCrlf, maxAge: TimeSpan.FromDays(3)), Ct);
        await store.SetAsync(Entry("c.example", maxAge: TimeSpan.FromHours(1)), Ct);
        Time.Advance(TimeSpan.FromDays(2));

        var valid = await store.EnumerateValidAsync(Ct).ToListAsync(Ct);

        Assert.Equal(["b.example"], valid.Select(e => e.Domain));
        Assert.Equal(EnforceCrlf, valid[0].Policy.Text);
        Assert.Equal(3, await store.CountAsync(Ct)); // loading does not purge
    }

    [Fact]
    public async Task SetAsync_FullWithExpiredEntries_EvictsExpiredFirst()
    {
        await using var store = await OpenAsync(maxEntries: 3);
        await store.SetAsync(Entry("oldest.example", fetched: T0, maxAge: TimeSpan.FromDays(30)), Ct);
        await store.SetAsync(Entry("expired1.example", fetched: T0.AddHours(1), maxAge: TimeSpan.FromHours(1)), Ct);
        await store.SetAsync(Entry("expired2.example", fetched: T0.AddHours(2), maxAge: TimeSpan.FromHours(1)), Ct);
        Time.Advance(TimeSpan.FromDays(1));

        await store.SetAsync(Entry("new.example", fetched: Time.GetUtcNow()), Ct);

        Assert.Equal(2, await store.CountAsync(Ct));
        Assert.NotNull(await store.GetAsync("oldest.example", Ct)); // the oldest survives: expired ones went first
        Assert.Null(await store.GetAsync("expired1.example", Ct));
        Assert.Null(await store.GetAsync("expired2.example", Ct));
        Assert.NotNull(await store.GetAsync("new.example", Ct));
    }

    [Fact]
    public async Task SetAsync_FullWithNothingExpired_EvictsTheOldestFetched()
    {
        await using var store = await OpenAsync(maxEntries: 3);
        await store.SetAsync(Entry("b.example", fetched: T0.AddMinutes(2)), Ct);
        await store.SetAsync(Entry("a.example", fetched: T0.AddMinutes(1)), Ct); // oldest fetch, not first inserted
        await store.SetAsync(Entry("c.example", fetched: T0.AddMinutes(3)), Ct);

        await store.SetAsync(Entry("d.example", fetched: T0.AddMinutes(4)), Ct);

        Assert.Equal(3, await store.CountAsync(Ct));
        Assert.Null(await store.GetAsync("a.example", Ct));
        foreach (var kept in new[] { "b.example", "c.example", "d.example" })
        {
            Assert.NotNull(await store.GetAsync(kept, Ct));
        }
    }

    [Fact]
    public async Task SetAsync_FullAndDomainAlreadyCached_EvictsNothing()
    {
        await using var store = await OpenAsync(maxEntries: 2);
        await store.SetAsync(Entry("a.example", fetched: T0), Ct);
        await store.SetAsync(Entry("b.example", fetched: T0.AddMinutes(1)), Ct);

        await store.SetAsync(Entry("b.example", id: "newer", fetched: T0.AddMinutes(2)), Ct);

        Assert.Equal(2, await store.CountAsync(Ct));
        Assert.NotNull(await store.GetAsync("a.example", Ct));
    }

    [Fact]
    public async Task SetAsync_ManyMoreThanTheBound_NeverExceedsIt()
    {
        await using var store = await OpenAsync(maxEntries: 50);
        for (int i = 0; i < 500; i++)
        {
            await store.SetAsync(Entry($"d{i}.example", fetched: T0.AddSeconds(i)), Ct);
            Assert.InRange(await store.CountAsync(Ct), 1, 50);
        }

        Assert.NotNull(await store.GetAsync("d499.example", Ct));
        Assert.Null(await store.GetAsync("d449.example", Ct));
        Assert.NotNull(await store.GetAsync("d450.example", Ct));
    }

    [Theory]
    [InlineData("policy_text = 'version: STSv2'", "text no longer parses")]
    [InlineData("policy_text = x'76657273696f6e'", "text stored as a blob")]
    [InlineData("fetched_ms = 'yesterday'", "time stored as text")]
    [InlineData("expires_ms = 1.5", "time stored as a real")]
    [InlineData("checked_ms = 9223372036854775807", "time out of range")]
    [InlineData("policy_id = x'00'", "id stored as a blob")]
    public async Task GetAsync_CorruptRow_ReturnsNullAndDeletesIt(string damage, string what)
    {
        await using var store = await OpenAsync();
        await store.SetAsync(Entry("bad.example"), Ct);
        await store.SetAsync(Entry("good.example"), Ct);
        Execute(DbPath, $"UPDATE mta_sts_policy SET {damage} WHERE domain = 'bad.example'");

        Assert.Null(await store.GetAsync("bad.example", Ct));

        Assert.True(1 == await store.CountAsync(Ct), $"the row with {what} is deleted");
        Assert.Equal(1, store.DroppedEntries);
        Assert.NotNull(await store.GetAsync("good.example", Ct));
        await store.SetAsync(Entry("bad.example"), Ct); // and the domain can be cached again
        Assert.NotNull(await store.GetAsync("bad.example", Ct));
    }

    [Fact]
    public async Task EnumerateValidAsync_CorruptRows_SkipsAndDeletesThem()
    {
        await using var store = await OpenAsync();
        await store.SetAsync(Entry("good.example"), Ct);
        Execute(DbPath, """
            INSERT INTO mta_sts_policy (domain, policy_id, policy_text, fetched_ms, expires_ms, checked_ms) VALUES ('unparsable.example', 'x', 'mode: enforce', 0, 9999999999999, 0);
            INSERT INTO mta_sts_policy (domain, policy_id, policy_text, fetched_ms, expires_ms, checked_ms) VALUES ('mistyped.example', 'x', 'version: STSv1', 0, 'never', 0);
            INSERT INTO mta_sts_policy (domain, policy_id, policy_text, fetched_ms, expires_ms, checked_ms) VALUES ('UPPER.example', 'x', 'version: STSv1' || char(10) || 'mode: none' || char(10) || 'max_age: 1', 0, 9999999999999, 0);
            """);

        var valid = await store.EnumerateValidAsync(Ct).ToListAsync(Ct);

        Assert.Equal(["good.example"], valid.Select(e => e.Domain));
        Assert.Equal(1, await store.CountAsync(Ct));
        Assert.Equal(3, store.DroppedEntries);
    }

    [Fact]
    public async Task EnumerateValidAsync_MorePagesThanOne_EachValidEntryOnceInDomainOrder()
    {
        await using var store = await OpenAsync();
        await store.SetAsync(Entry("d0000.example", maxAge: TimeSpan.FromDays(1)), Ct);
        // 3,499 copies (every third one expired) and one unparsable row past the first page
        Execute(DbPath, """
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3499)
            INSERT INTO mta_sts_policy (domain, policy_id, policy_text, fetched_ms, expires_ms, checked_ms)
            SELECT printf('d%04d.example', i), policy_id, policy_text, fetched_ms, CASE WHEN i % 3 = 0 THEN fetched_ms ELSE expires_ms END, checked_ms
            FROM n, (SELECT * FROM mta_sts_policy WHERE domain = 'd0000.example');
            UPDATE mta_sts_policy SET policy_text = 'mode: enforce' WHERE domain = 'd2101.example';
            """);
        var expected = Enumerable.Range(0, 3500).Where(i => i == 0 || (i % 3 != 0 && i != 2101)).Select(i => $"d{i:D4}.example").ToList();
        Assert.True(expected.Count > 2 * SqliteMtaStsPolicyStore.ValidPageSize, "the walk must cross pages");

        var valid = await store.EnumerateValidAsync(Ct).ToListAsync(Ct);

        Assert.Equal(expected, valid.Select(e => e.Domain));
        Assert.Equal(1, store.DroppedEntries);
    }

    [Fact]
    public async Task EnumerateValidAsync_CallerWritesBetweenEntries_TheStoreIsNotHeld()
    {
        await using var store = await OpenAsync();
        foreach (var i in Enumerable.Range(0, 5))
        {
            await store.SetAsync(Entry($"d{i}.example"), Ct);
        }

        var seen = new List<string>();
        await foreach (var entry in store.EnumerateValidAsync(Ct))
        {
            // what a sweep does with each entry: read it and write it back (one connection: this would wait forever
            // if the walk held it)
            var current = await store.GetAsync(entry.Domain, Ct).AsTask().WaitAsync(TimeSpan.FromSeconds(30), Ct);
            await store.SetAsync(current! with { CheckedAt = T0.AddHours(1) }, Ct).AsTask().WaitAsync(TimeSpan.FromSeconds(30), Ct);
            seen.Add(entry.Domain);
        }

        Assert.Equal(["d0.example", "d1.example", "d2.example", "d3.example", "d4.example"], seen);
        Assert.Equal(T0.AddHours(1), (await store.GetAsync("d3.example", Ct))!.CheckedAt);
    }

    [Fact]
    public async Task PurgeExpiredAsync_RowWithMistypedExpiry_RemovesIt()
    {
        await using var store = await OpenAsync();
        Execute(DbPath, "INSERT INTO mta_sts_policy (domain, policy_id, policy_text, fetched_ms, expires_ms, checked_ms) VALUES ('odd.example', 'x', 'y', 0, 'soon', 0)");

        Assert.Equal(1, await store.PurgeExpiredAsync(Ct));
        Assert.Equal(0, await store.CountAsync(Ct));
    }

    [Fact]
    public async Task SetAndGet_FiftyConcurrentTasks_EveryTaskReadsItsOwnLastWrite()
    {
        await using var store = await OpenAsync();
        var tasks = Enumerable.Range(0, 50).Select(t => Task.Run(async () =>
        {
            var random = new Random(t);
            for (int i = 0; i < 20; i++)
            {
                await store.SetAsync(Entry($"task{t}.example", Texts[(t + i) % Texts.Length], id: $"t{t}i{i}"), Ct);
                await store.SetAsync(Entry("shared.example", id: $"t{t}i{i}"), Ct);
                var own = await store.GetAsync($"task{t}.example", Ct);
                Assert.Equal($"t{t}i{i}", own?.Id);
                Assert.Equal(Texts[(t + i) % Texts.Length], own!.Policy.Text);
                var other = await store.GetAsync($"task{random.Next(50)}.example", Ct);
                Assert.True(other is null || other.Id.StartsWith('t'));
                Assert.NotNull(await store.GetAsync("shared.example", Ct));
            }
        }, Ct)).ToArray();

        await Task.WhenAll(tasks);

        Assert.Equal(51, await store.CountAsync(Ct));
        Assert.Equal(50, (await store.EnumerateValidAsync(Ct).ToListAsync(Ct)).Count(e => e.Domain.StartsWith("task", StringComparison.Ordinal)));
        Assert.Equal(0, store.DroppedEntries);
    }

    /// <summary>What an operator sees: one line that names the file, no stack trace, no inner exception type names.</summary>
    private static void AssertUsableMessage(RampartException ex, string path)
    {
        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', ex.Message);
        Assert.DoesNotContain("   at ", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", ex.Message, StringComparison.Ordinal);
        Assert.False(ex.IsTransient);
    }
}
