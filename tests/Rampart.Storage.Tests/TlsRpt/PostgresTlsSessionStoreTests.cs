using Rampart.Core;
using Rampart.Core.TlsRpt;
using Rampart.Storage.Tests.Servers;
using Rampart.Storage.TlsRpt;

namespace Rampart.Storage.Tests.TlsRpt;

/// <summary>
/// The fleet's session store on a real PostgreSQL server: the session-store contract (each test on its own database),
/// and what only a fleet brings: several hosts adding into the same counts, record keys and cursors per host, hosts
/// racing on the same rows, and one-line messages for an unusable host name or an unreachable server.
/// </summary>
[Trait("Category", "integration")]
public sealed class PostgresTlsSessionStoreTests(PostgresServerFixture fixture) : TlsSessionStoreContractTests, IClassFixture<PostgresServerFixture>
{
    private string? _database;

    private PostgresServer Server => fixture.Server;

    protected override async Task<ITlsSessionStore> OpenAsync() => await OpenAsHostAsync("mx1");

    private async Task<PostgresTlsSessionStore> OpenAsHostAsync(string host)
    {
        _database ??= await Server.CreateDatabaseAsync();
        return await PostgresTlsSessionStore.OpenAsync(Server.Url(_database), host, TimeProvider.System, Ct);
    }

    [Fact]
    public async Task AddAsync_TwoHostsSameLine_BothCount_ReplayOfOneHostDoesNot()
    {
        await using var mx1 = await OpenAsHostAsync("mx1");
        await using var mx2 = await OpenAsHostAsync("mx2");
        // The same delivery line (same record key) on two hosts is two sessions; the same host reading it again is one.
        IReadOnlyList<TlsSessionEntry> line = [new(Failure(s_stripped), "a1b2c3"), new(Success(), "d4e5f6")];

        Assert.Equal(2, await mx1.AddAsync(TlsSessionSources.Log, line, null, Ct));
        Assert.Equal(2, await mx2.AddAsync(TlsSessionSources.Log, line, null, Ct));
        Assert.Equal(0, await mx1.AddAsync(TlsSessionSources.Log, line, null, Ct));
        await using (var mx1Again = await OpenAsHostAsync("mx1")) // a restart of mx1's daemon
        {
            Assert.Equal(0, await mx1Again.AddAsync(TlsSessionSources.Log, line, null, Ct));
        }

        var policy = Assert.Single(await mx2.ReadDayAsync(new DateOnly(2026, 12, 7), null, Ct));
        Assert.Equal((2L, 2L), (policy.Successful, policy.Failed));
        Assert.Equal(2, Assert.Single(policy.Failures).Sessions);
    }

    [Fact]
    public async Task ReadCursor_KeptPerHost()
    {
        await using var mx1 = await OpenAsHostAsync("mx1");
        await using var mx2 = await OpenAsHostAsync("mx2");

        await mx1.AddAsync(TlsSessionSources.Log, [], "mx1's mail.log at 100", Ct);
        await mx2.AddAsync(TlsSessionSources.Log, [], "mx2's mail.log at 7", Ct);

        Assert.Equal("mx1's mail.log at 100", await mx1.ReadCursorAsync(TlsSessionSources.Log, Ct));
        Assert.Equal("mx2's mail.log at 7", await mx2.ReadCursorAsync(TlsSessionSources.Log, Ct));
        await using var mx3 = await OpenAsHostAsync("mx3");
        Assert.Null(await mx3.ReadCursorAsync(TlsSessionSources.Log, Ct));
    }

    [Fact]
    public async Task AddAsync_FourHostsRacingOnTheSameRows_ExactSums()
    {
        // Four hosts (separate pools), each adding 25 batches over the same 20 domains and failures in its own order.
        const int Hosts = 4, Batches = 25, Domains = 20;
        var stores = new List<PostgresTlsSessionStore>();
        for (var h = 0; h < Hosts; h++)
        {
            stores.Add(await OpenAsHostAsync($"mx{h}"));
        }
        try
        {
            await Task.WhenAll(stores.Select((store, h) => Task.Run(async () =>
            {
                for (var n = 0; n < Batches; n++)
                {
                    var batch = Enumerable.Range(0, Domains)
                        .OrderBy(d => (d * (h + 3) + n) % Domains)
                        .SelectMany(d => new[]
                        {
                            new TlsSessionEntry(Success($"d{d}.example"), $"line {n}/{d}/ok"),
                            new TlsSessionEntry(Failure(d % 2 == 0 ? s_stripped : s_forged, $"d{d}.example"), $"line {n}/{d}/failed"),
                        })
                        .ToList();
                    Assert.Equal(2 * Domains, await store.AddAsync(TlsSessionSources.Log, batch, null, Ct));
                }
            }, Ct)));

            var day = await stores[0].ReadDayAsync(new DateOnly(2026, 12, 7), null, Ct);
            Assert.Equal(Domains, day.Count);
            Assert.All(day, p => Assert.Equal(((long)Hosts * Batches, (long)Hosts * Batches), (p.Successful, p.Failed)));
            Assert.All(day, p => Assert.Equal((long)Hosts * Batches, Assert.Single(p.Failures).Sessions));
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
    public async Task AddAsync_NulCharacters_StoredAsReplacementAndKeysStillHold()
    {
        // PostgreSQL text cannot hold U+0000 (a datagram's JSON can say \u0000): stored as U+FFFD, never a fault.
        await using var store = await OpenAsHostAsync("mx1");
        var odd = new TlsSessionFailure(TlsRptResultTypes.ValidationFailure, null, "mx\0.example", null, null, null, "a\0b");
        IReadOnlyList<TlsSessionEntry> entries = [new(Failure(odd, domain: "nul\0.example"), "key\0one")];

        Assert.Equal(1, await store.AddAsync(TlsSessionSources.Log, entries, "cursor\0", Ct));
        Assert.Equal(0, await store.AddAsync(TlsSessionSources.Log, entries, null, Ct));

        var policy = Assert.Single(await store.ReadDayAsync(new DateOnly(2026, 12, 7), null, Ct));
        Assert.Equal("nul\uFFFD.example", policy.ReportDomain);
        Assert.Equal(("mx\uFFFD.example", "a\uFFFDb"), (policy.Failures[0].Failure.ReceivingMxHostname, policy.Failures[0].Failure.FailureReasonCode));
    }

    [Theory]
    [InlineData("", "is empty")]
    [InlineData("mx 1", "must not contain spaces")]
    public async Task Open_BadHostName_OneLineNamingIt(string host, string rule)
    {
        var database = await Server.CreateDatabaseAsync();

        var ex = await Assert.ThrowsAsync<RampartException>(() => PostgresTlsSessionStore.OpenAsync(Server.Url(database), host, TimeProvider.System, Ct));

        Assert.Contains(rule, ex.Message, StringComparison.Ordinal);
        Assert.Contains("host name", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(PostgresServer.Password, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Open_NothingListening_OneLineNamingTheServerWithoutPassword()
    {
        var port = ServerProcess.FreeLoopbackPort();
        var url = $"postgres://rampart:{Uri.EscapeDataString(PostgresServer.Password)}@127.0.0.1:{port}/sessions?connect_timeout=3";

        var ex = await Assert.ThrowsAsync<PostgresStoreException>(() => PostgresTlsSessionStore.OpenAsync(url, "mx1", TimeProvider.System, Ct));

        Assert.StartsWith($"TLS-RPT session store postgres://rampart@127.0.0.1:{port}/sessions cannot be used:", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(PostgresServer.Password, ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', ex.Message);
        Assert.True(ex.IsTransient);
    }
}
