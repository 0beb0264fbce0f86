using Rampart.Core.TlsRpt;
using Rampart.Storage.Tests.Support;
using Rampart.Storage.TlsRpt;

namespace Rampart.Storage.Tests.TlsRpt;

/// <summary>The daemon's record of its answers: the answer in force at a time, lists kept exactly, purging keeps what is still in force.</summary>
public sealed class SqliteTlsPolicyAnswerStoreTests : IDisposable
{
    private static readonly DateTimeOffset s_t0 = new(2026, 12, 7, 10, 0, 0, TimeSpan.Zero);
    private static readonly TlsSessionPolicy s_sts = new(TlsRptPolicyTypes.Sts, "example.net",
        ["version: STSv1", "mode: enforce", "mx: *.example.net", "max_age: 604800"], ["*.example.net"]);
    private static readonly TlsSessionPolicy s_stsFailed = new(TlsRptPolicyTypes.Sts, "example.net", [], []);

    private readonly TempDirectory _dir = new();
    private readonly CancellationToken _ct = TestContext.Current.CancellationToken;

    public void Dispose() => _dir.Dispose();

    private Task<SqliteTlsPolicyAnswerStore> OpenAsync() => SqliteTlsPolicyAnswerStore.OpenAsync(SqliteTlsPolicyAnswerStore.PathIn(_dir.Path), _ct);

    [Fact]
    public async Task FindAsync_TheLatestAnswerAtOrBefore_WithinASecondOfSlack()
    {
        await using var store = await OpenAsync();
        await store.RecordAsync(
        [
            new("example.net", s_t0, TlsSessionPolicy.NoPolicyFound, null),
            new("example.net", s_t0.AddHours(1), s_sts, null),
            new("example.net", s_t0.AddHours(2).AddMilliseconds(400), s_stsFailed, TlsRptResultTypes.StsPolicyFetchError),
            new("other.test", s_t0, s_sts with { PolicyDomain = "other.test" }, null),
        ], _ct);

        Assert.Null(await store.FindAsync("example.net", s_t0.AddSeconds(-2), _ct));
        Assert.Equal(TlsSessionPolicy.NoPolicyFound.PolicyType, (await store.FindAsync("example.net", s_t0.AddMinutes(59), _ct))!.Policy.PolicyType);
        var sts = (await store.FindAsync("example.net", s_t0.AddHours(1).AddMinutes(1), _ct))!;
        Assert.Equal(s_sts.PolicyStrings, sts.Policy.PolicyStrings);
        Assert.Equal(s_sts.MxHostPatterns, sts.Policy.MxHostPatterns);
        Assert.Equal("example.net", sts.Policy.PolicyDomain);
        Assert.Null(sts.PolicyFailure);
        // The log's whole second 10:00:00 after a decision at 12:00:00.400: the decision came first.
        var failed = (await store.FindAsync("example.net", s_t0.AddHours(2), _ct))!;
        Assert.Equal(TlsRptResultTypes.StsPolicyFetchError, failed.PolicyFailure);
        Assert.Empty(failed.Policy.PolicyStrings);
        Assert.Null(await store.FindAsync("nowhere.test", s_t0.AddDays(1), _ct));
    }

    [Fact]
    public async Task PurgeBeforeAsync_KeepsEachDomainsAnswerStillInForce()
    {
        await using var store = await OpenAsync();
        await store.RecordAsync(
        [
            new("example.net", s_t0, TlsSessionPolicy.NoPolicyFound, null),
            new("example.net", s_t0.AddHours(1), s_sts, null),
            new("example.net", s_t0.AddDays(3), s_stsFailed, TlsRptResultTypes.StsPolicyInvalid),
            new("quiet.test", s_t0, s_sts, null),
        ], _ct);

        var removed = await store.PurgeBeforeAsync(s_t0.AddDays(2), _ct);

        Assert.Equal(1, removed); // example.net's first answer; its 11:00 one is still in force on day 2, quiet.test's only one too
        Assert.Equal(TlsRptPolicyTypes.Sts, (await store.FindAsync("example.net", s_t0.AddDays(2), _ct))!.Policy.PolicyType);
        Assert.NotNull(await store.FindAsync("quiet.test", s_t0.AddDays(2), _ct));
        Assert.Null(await store.FindAsync("example.net", s_t0.AddMinutes(30), _ct));
    }

    [Fact]
    public async Task ReopenAsync_AnswersSurvive()
    {
        await using (var store = await OpenAsync())
        {
            await store.RecordAsync([new("example.net", s_t0, s_sts, null)], _ct);
        }
        await using var reopened = await OpenAsync();
        Assert.Equal(s_sts.PolicyStrings, (await reopened.FindAsync("example.net", s_t0, _ct))!.Policy.PolicyStrings);
    }
}
