using Microsoft.Extensions.Time.Testing;
using Rampart.Core.Check;
using Rampart.Storage.Check;
using Rampart.Storage.Tests.Support;

namespace Rampart.Storage.Tests.Check;

/// <summary>
/// <c>mta-sts.policy.testing-too-long</c> through the real check-history.sqlite: the date of mode testing is the first-seen
/// time the file keeps, so a monitor restarted between rounds still warns once the limit is passed.
/// </summary>
public sealed class CheckTestingTooLongHistoryTests
{
    private static readonly DateTimeOffset T0 = new(2026, 2, 1, 9, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task TestingFirstSeenBeforeRestart_WarningAfter31Days()
    {
        using var dir = new TempDirectory();
        var ct = TestContext.Current.CancellationToken;
        var time = new FakeTimeProvider(T0);
        var testing = new CheckFinding(CheckCatalog.StsTesting.Id, CheckSeverity.Info, "example.org", "mode testing", CheckCatalog.StsTesting.Fix, CheckCatalog.StsTesting.Reference);
        Task<IReadOnlyList<DomainCheckReport>> Check(IReadOnlyList<string> domains, CancellationToken token) =>
            Task.FromResult<IReadOnlyList<DomainCheckReport>>([.. domains.Select(d => new DomainCheckReport(d, [testing]))]);
        await using (var history = await SqliteFindingHistory.OpenInDirectoryAsync(dir.Path, ct))
        {
            var first = Assert.Single((await new WatchRound(Check, history, time).RunAsync(["example.org"], ct)).Results);
            Assert.False(first.Report.Has(CheckCatalog.StsTestingTooLong.Id));
        }
        time.Advance(TimeSpan.FromDays(31));

        await using var reopened = await SqliteFindingHistory.OpenInDirectoryAsync(dir.Path, ct);
        var later = Assert.Single((await new WatchRound(Check, reopened, time).RunAsync(["example.org"], ct)).Results);

        var warning = Assert.Single(later.Appeared);
        Assert.Equal(CheckCatalog.StsTestingTooLong.Id, warning.Finding.Id);
        Assert.Contains("since 2026-02-01 09:00Z (31 days", warning.Finding.Message, StringComparison.Ordinal);
        Assert.Equal(CheckStatus.Warning, later.Report.Status);
        Assert.Equal(T0 + TimeSpan.FromDays(31),
            (await reopened.LoadAsync("example.org", ct)).Single(r => r.Finding.Id == CheckCatalog.StsTestingTooLong.Id).FirstSeen);
    }
}
