using System.Diagnostics;
using Rampart.Core;
using Rampart.Storage.Tests.Servers;
using Rampart.Storage.Tests.Support;
using static Rampart.Storage.Tests.Support.Policies;

namespace Rampart.Storage.Tests;

/// <summary>
/// A cache server that is down, dies, hangs or refuses us: every call fails quickly with a one-line
/// <see cref="RampartException"/>, never a hang. Each test has its own redis-server, since they kill it.
/// </summary>
public sealed class RedisMtaStsPolicyStoreFaultTests
{
    /// <summary>Generous: the store's own deadline is 250 ms; this only proves "no hang".</summary>
    private static readonly TimeSpan s_noHang = TimeSpan.FromSeconds(5);

    private readonly CancellationToken _ct = TestContext.Current.CancellationToken;

    /// <summary>The defaults: 250 ms per operation, 1 s to connect.</summary>
    private static RedisPolicyStoreOptions Options(string url) => new() { Url = url };

    /// <summary>For tests about what fails, not how fast: deadlines for a machine shared with parallel builds.</summary>
    private static RedisPolicyStoreOptions Patient(string url) =>
        new() { Url = url, OperationTimeout = RedisMtaStsPolicyStoreTests.Generous, ConnectTimeout = RedisMtaStsPolicyStoreTests.Generous };

    [Fact]
    public async Task OpenAsync_ClosedPort_FailsAtOnceNamingTheAddress()
    {
        int port = ServerProcess.FreeLoopbackPort();
        var clock = Stopwatch.StartNew();

        var ex = await Assert.ThrowsAsync<RedisPolicyStoreException>(() =>
            RedisMtaStsPolicyStore.OpenAsync(Options($"redis://:hunter2@127.0.0.1:{port}/0"), TimeProvider.System, _ct));

        Assert.True(clock.Elapsed < s_noHang, $"took {clock.Elapsed}");
        RedisMtaStsPolicyStoreTests.AssertUsableMessage(ex, $"redis://127.0.0.1:{port}/0");
        Assert.DoesNotContain("hunter2", ex.Message, StringComparison.Ordinal);
        Assert.True(ex.IsTransient);
    }

    [Fact]
    public async Task OpenAsync_MissingUnixSocket_FailsNamingThePath()
    {
        using var dir = new TempDirectory();
        string socket = dir.File("no-such.sock");

        var ex = await Assert.ThrowsAsync<RedisPolicyStoreException>(() =>
            RedisMtaStsPolicyStore.OpenAsync(Options($"unix://{socket}?db=0"), TimeProvider.System, _ct));

        RedisMtaStsPolicyStoreTests.AssertUsableMessage(ex, socket);
    }

    [Fact]
    public async Task OpenAsync_BadUrl_FailsWithTheRuleBeforeConnecting()
    {
        var ex = await Assert.ThrowsAsync<RampartException>(() =>
            RedisMtaStsPolicyStore.OpenAsync(Options("redis://:s3cret@host:99999/0"), TimeProvider.System, _ct));

        Assert.Contains("port", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', ex.Message);
    }

    [Fact]
    public async Task OpenAsync_WrongPassword_FailsSayingSoWithoutThePassword()
    {
        await using var server = await RedisServer.StartAsync(password: "right-one");

        var ex = await Assert.ThrowsAsync<RedisPolicyStoreException>(() =>
            RedisMtaStsPolicyStore.OpenAsync(Patient($"redis://:wrong-one@127.0.0.1:{server.Port}/0"), TimeProvider.System, _ct));
        var none = await Assert.ThrowsAsync<RedisPolicyStoreException>(() =>
            RedisMtaStsPolicyStore.OpenAsync(Patient($"redis://127.0.0.1:{server.Port}/0"), TimeProvider.System, _ct));

        RedisMtaStsPolicyStoreTests.AssertUsableMessage(ex, $"redis://127.0.0.1:{server.Port}/0");
        Assert.True(ex.Message.Contains("check the user and password", StringComparison.Ordinal), ex.ToString());
        Assert.DoesNotContain("wrong-one", ex.Message, StringComparison.Ordinal);
        Assert.True(none.Message.Contains("check the user and password", StringComparison.Ordinal), none.ToString());
        Assert.False(ex.IsTransient);
    }

    [Fact]
    public async Task OpenAsync_RightPassword_InUrlOrQuery_Works()
    {
        await using var server = await RedisServer.StartAsync(password: "p@ss:w/rd");
        await using var tcp = await RedisMtaStsPolicyStore.OpenAsync(Patient(server.TcpUrl), TimeProvider.System, _ct);
        await using var unix = await RedisMtaStsPolicyStore.OpenAsync(Patient(server.UnixUrl), TimeProvider.System, _ct);

        await tcp.SetAsync(Entry("auth.example", fetched: DateTimeOffset.UtcNow), _ct);

        Assert.NotNull(await unix.GetAsync("auth.example", _ct));
        Assert.DoesNotContain("p@ss", tcp.Location, StringComparison.Ordinal);
        Assert.DoesNotContain("p@ss", unix.Location, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ServerKilledMidRun_GetAndSetThrowQuickly_ThenRecoverWhenItReturns(bool tcp)
    {
        await using var server = await RedisServer.StartAsync();
        await using var store = await RedisMtaStsPolicyStore.OpenAsync(Options(tcp ? server.TcpUrl : server.UnixUrl), TimeProvider.System, _ct);
        await EventuallyAsync(() => store.SetAsync(Entry("before.example", fetched: DateTimeOffset.UtcNow), _ct).AsTask());

        await server.KillAsync();

        for (int i = 0; i < 3; i++)
        {
            await AssertFailsQuicklyAsync(() => store.GetAsync("before.example", _ct).AsTask(), store.Location);
            await AssertFailsQuicklyAsync(() => store.SetAsync(Entry("during.example", fetched: DateTimeOffset.UtcNow), _ct).AsTask(), store.Location);
        }

        await AssertFailsQuicklyAsync(() => store.CountAsync(_ct).AsTask(), store.Location);
        await AssertFailsQuicklyAsync(() => store.EnumerateValidAsync(_ct).ToListAsync(_ct).AsTask(), store.Location);

        await server.RestartAsync(); // empty: nothing was saved
        await EventuallyAsync(() => store.SetAsync(Entry("after.example", fetched: DateTimeOffset.UtcNow), _ct).AsTask()); // reconnected in the background
        Assert.NotNull(await store.GetAsync("after.example", _ct));
    }

    [Fact]
    public async Task ServerFrozen_GetAndSetThrowWithinTheDeadline_ThenWorkWhenItThaws()
    {
        await using var server = await RedisServer.StartAsync();
        await using var store = await RedisMtaStsPolicyStore.OpenAsync(Options(server.UnixUrl), TimeProvider.System, _ct);
        await EventuallyAsync(() => store.SetAsync(Entry("frozen.example", fetched: DateTimeOffset.UtcNow), _ct).AsTask());

        await server.FreezeAsync();
        try
        {
            var get = await AssertFailsQuicklyAsync(() => store.GetAsync("frozen.example", _ct).AsTask(), store.Location);
            await AssertFailsQuicklyAsync(() => store.SetAsync(Entry("frozen.example", fetched: DateTimeOffset.UtcNow), _ct).AsTask(), store.Location);
            Assert.Contains("no answer within 250 ms", get.Message, StringComparison.Ordinal);
        }
        finally
        {
            await server.ThawAsync();
        }

        await EventuallyAsync(async () => Assert.NotNull(await store.GetAsync("frozen.example", _ct)));
    }

    [Fact]
    public async Task OpenAsync_FrozenServer_FailsWithinTheDeadline()
    {
        await using var server = await RedisServer.StartAsync();
        await server.FreezeAsync();
        try
        {
            var clock = Stopwatch.StartNew();
            var ex = await Assert.ThrowsAsync<RedisPolicyStoreException>(() =>
                RedisMtaStsPolicyStore.OpenAsync(Options(server.TcpUrl), TimeProvider.System, _ct));

            Assert.True(clock.Elapsed < s_noHang, $"took {clock.Elapsed}");
            RedisMtaStsPolicyStoreTests.AssertUsableMessage(ex, $"127.0.0.1:{server.Port}");
        }
        finally
        {
            await server.ThawAsync();
        }
    }

    /// <summary>
    /// Retries <paramref name="call"/> for up to 30 s while it fails with the store's fault: the 250 ms default
    /// deadline is sometimes too short on a machine shared with parallel builds, and reconnection takes a moment.
    /// </summary>
    private async Task EventuallyAsync(Func<Task> call)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                await call();
                return;
            }
            catch (RedisPolicyStoreException) when (deadline.Elapsed < TimeSpan.FromSeconds(30))
            {
                await Task.Delay(100, _ct);
            }
        }
    }

    private static async Task<RedisPolicyStoreException> AssertFailsQuicklyAsync(Func<Task> call, string location)
    {
        var clock = Stopwatch.StartNew();
        var ex = await Assert.ThrowsAsync<RedisPolicyStoreException>(call);
        Assert.True(clock.Elapsed < s_noHang, $"took {clock.Elapsed}: {ex.Message}");
        RedisMtaStsPolicyStoreTests.AssertUsableMessage(ex, location);
        Assert.True(ex.IsTransient, ex.Message);
        return ex;
    }
}
