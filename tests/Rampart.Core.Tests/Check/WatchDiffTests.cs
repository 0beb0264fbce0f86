using Microsoft.Extensions.Time.Testing;
using Rampart.Core.Check;

namespace Rampart.Core.Tests.Check;

/// <summary>The monitor's pure logic: appeared / persists (first-seen kept) / cleared by id + subject, the round over a history.</summary>
public sealed class WatchDiffTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 5, 8, 0, 0, TimeSpan.Zero);

    private static CheckFinding F(string id, CheckSeverity severity = CheckSeverity.Warning, string subject = "example.org", string message = "m") =>
        new(id, severity, subject, message, "fix", "RFC 0000");

    private static DomainCheckReport Report(params CheckFinding[] findings) => new("example.org", findings);

    [Fact]
    public void FirstRound_TrackedFindingsAppearAtNow_OkFindingsIgnored()
    {
        var time = new FakeTimeProvider(T0);

        var result = WatchDiff.Compare([], Report(F("mx.ok", CheckSeverity.Ok), F("dane.none", CheckSeverity.Info), F("tls.weak"), F("mx.lookup-error", CheckSeverity.Failure)), time);

        Assert.Equal(["dane.none", "tls.weak", "mx.lookup-error"], result.Appeared.Select(a => a.Finding.Id));
        Assert.All(result.Appeared, a => Assert.Equal(T0, a.FirstSeen));
        Assert.Empty(result.Persists);
        Assert.Empty(result.Cleared);
        Assert.True(result.Changed);
        Assert.Equal(3, result.Current.Count);
    }

    [Fact]
    public void LaterRound_SameKey_PersistsWithFirstSeenAndNewText()
    {
        var time = new FakeTimeProvider(T0);
        var first = WatchDiff.Compare([], Report(F("tls.cert-expiring", message: "expires in 20 days")), time);
        time.Advance(TimeSpan.FromHours(5));

        var second = WatchDiff.Compare(first.Current, Report(F("tls.cert-expiring", CheckSeverity.Failure, message: "expired")), time);

        var persists = Assert.Single(second.Persists);
        Assert.Equal(T0, persists.FirstSeen);
        Assert.Equal(CheckSeverity.Failure, persists.Finding.Severity);
        Assert.Equal("expired", persists.Finding.Message);
        Assert.Empty(second.Appeared);
        Assert.Empty(second.Cleared);
        Assert.False(second.Changed);
    }

    [Fact]
    public void Gone_IsClearedAsLastSeen()
    {
        var time = new FakeTimeProvider(T0);
        var first = WatchDiff.Compare([], Report(F("a.one", message: "old text"), F("b.two")), time);
        time.Advance(TimeSpan.FromHours(1));

        var second = WatchDiff.Compare(first.Current, Report(F("b.two")), time);

        var cleared = Assert.Single(second.Cleared);
        Assert.Equal("a.one", cleared.Finding.Id);
        Assert.Equal("old text", cleared.Finding.Message);
        Assert.Equal(T0, cleared.FirstSeen);
        Assert.True(second.Changed);
        Assert.Equal(["b.two"], second.Current.Select(c => c.Finding.Id));
    }

    [Fact]
    public void TurnedOk_IsCleared()
    {
        var time = new FakeTimeProvider(T0);
        var first = WatchDiff.Compare([], Report(F("mx.x", subject: "mx1.example.org")), time);

        var second = WatchDiff.Compare(first.Current, Report(F("mx.x", CheckSeverity.Ok, subject: "mx1.example.org")), time);

        Assert.Single(second.Cleared);
        Assert.Empty(second.Current);
    }

    [Fact]
    public void SameIdOtherSubject_IsADifferentFinding()
    {
        var time = new FakeTimeProvider(T0);
        var first = WatchDiff.Compare([], Report(F("smtp.no-starttls", subject: "192.0.2.1")), time);
        time.Advance(TimeSpan.FromMinutes(10));

        var second = WatchDiff.Compare(first.Current, Report(F("smtp.no-starttls", subject: "192.0.2.2")), time);

        Assert.Equal("192.0.2.2", Assert.Single(second.Appeared).Finding.Subject);
        Assert.Equal(T0 + TimeSpan.FromMinutes(10), second.Appeared[0].FirstSeen);
        Assert.Equal("192.0.2.1", Assert.Single(second.Cleared).Finding.Subject);
    }

    [Fact]
    public void DuplicateKeyInOneReport_CountsOnce()
    {
        var result = WatchDiff.Compare([], Report(F("x.y", message: "first"), F("x.y", message: "second")), new FakeTimeProvider(T0));

        Assert.Equal("first", Assert.Single(result.Appeared).Finding.Message);
    }

    [Fact]
    public async Task Round_ThroughHistory_RestartKeepsFirstSeen()
    {
        var time = new FakeTimeProvider(T0);
        var history = new MemoryHistory();
        var findings = new Dictionary<string, CheckFinding[]>
        {
            ["a.example"] = [F("tls.weak", subject: "a.example")],
            ["b.example"] = [],
        };
        Task<IReadOnlyList<DomainCheckReport>> Check(IReadOnlyList<string> domains, CancellationToken ct) =>
            Task.FromResult<IReadOnlyList<DomainCheckReport>>([.. domains.Select(d => new DomainCheckReport(d, findings[d]))]);

        var first = (await new WatchRound(Check, history, time).RunAsync(["a.example", "b.example"], TestContext.Current.CancellationToken)).Results;
        time.Advance(TimeSpan.FromDays(1));
        findings["b.example"] = [F("dane.mismatch", CheckSeverity.Failure, "b.example")];
        var afterRestart = (await new WatchRound(Check, history, time).RunAsync(["a.example", "b.example"], TestContext.Current.CancellationToken)).Results;

        Assert.Equal(["a.example", "b.example"], first.Select(r => r.Domain));
        Assert.Single(first[0].Appeared);
        Assert.Equal(T0, Assert.Single(afterRestart[0].Persists).FirstSeen);
        Assert.Equal(T0 + TimeSpan.FromDays(1), Assert.Single(afterRestart[1].Appeared).FirstSeen);
        Assert.Equal(T0 + TimeSpan.FromDays(1), Assert.Single(history.Saved["b.example"]).FirstSeen);
        Assert.Equal(4, history.Saves);
    }

    [Fact]
    public async Task Round_ResolverDown_NothingComparedNorSaved_NextRoundComparesWithTheLastGoodOne()
    {
        var ct = TestContext.Current.CancellationToken;
        var time = new FakeTimeProvider(T0);
        var history = new MemoryHistory();
        var down = false;
        var asked = 0;
        Task<IReadOnlyList<DomainCheckReport>> Check(IReadOnlyList<string> domains, CancellationToken token) =>
            Task.FromResult<IReadOnlyList<DomainCheckReport>>([.. domains.Select(d => new DomainCheckReport(d,
                down ? [F("mx.lookup-error", CheckSeverity.Failure, d)] : [F("tls.weak", subject: d)]))]);
        Task<string?> ResolverDown(IReadOnlyList<DomainCheckReport> reports, CancellationToken token)
        {
            asked++;
            return Task.FromResult(down ? "the local resolver does not answer" : null);
        }
        var round = new WatchRound(Check, history, time, resolverDown: ResolverDown);

        var first = await round.RunAsync(["a.example", "b.example"], ct);
        time.Advance(TimeSpan.FromHours(1));
        down = true;
        var outage = await round.RunAsync(["a.example", "b.example"], ct);
        time.Advance(TimeSpan.FromHours(1));
        down = false;
        var back = await round.RunAsync(["a.example", "b.example"], ct);

        Assert.True(first.Judged);
        Assert.False(outage.Judged);
        Assert.Equal("the local resolver does not answer", outage.ResolverDown);
        Assert.Empty(outage.Results);
        Assert.All(outage.Reports, r => Assert.Equal(CheckStatus.Failure, r.Status));
        Assert.Equal(4, history.Saves);
        Assert.Equal(3, asked);
        Assert.True(back.Judged);
        Assert.All(back.Results, r =>
        {
            Assert.Empty(r.Appeared);
            Assert.Empty(r.Cleared);
            Assert.Equal(T0, Assert.Single(r.Persists).FirstSeen);
        });
    }

    [Theory]
    [InlineData(31, true)]
    [InlineData(29, false)]
    [InlineData(30, false)]
    public async Task TestingSeenForDays_TooLongWarningOnlyPastTheLimit(int days, bool warned)
    {
        var (round, time, findings) = TestingMonitor();
        await round.RunAsync(["example.org"], TestContext.Current.CancellationToken);
        time.Advance(TimeSpan.FromDays(days));

        var result = Assert.Single((await round.RunAsync(["example.org"], TestContext.Current.CancellationToken)).Results);

        Assert.Equal(warned, result.Report.Has("mta-sts.policy.testing-too-long"));
        Assert.Equal(warned ? CheckStatus.Warning : CheckStatus.Ok, result.Report.Status);
        if (warned)
        {
            var appeared = Assert.Single(result.Appeared);
            Assert.Equal("mta-sts.policy.testing-too-long", appeared.Finding.Id);
            Assert.Equal(CheckSeverity.Warning, appeared.Finding.Severity);
            Assert.Equal("example.org", appeared.Finding.Subject);
            Assert.Contains("since 2026-01-05 08:00Z (31 days", appeared.Finding.Message, StringComparison.Ordinal);
            Assert.Contains("30-day limit", appeared.Finding.Message, StringComparison.Ordinal);
            Assert.Equal(CheckCatalog.StsTestingTooLong.Fix, appeared.Finding.Fix);
            Assert.Equal("RFC 8461 §5", appeared.Finding.Reference);
            var ids = result.Report.Findings.Select(f => f.Id).ToList();
            Assert.Equal(ids.IndexOf("mta-sts.policy.testing") + 1, ids.IndexOf("mta-sts.policy.testing-too-long"));
        }
    }

    [Fact]
    public async Task TestingTooLong_PersistsThenClearsWhenModeGoesToEnforce()
    {
        var (round, time, findings) = TestingMonitor();
        await round.RunAsync(["example.org"], TestContext.Current.CancellationToken);
        time.Advance(TimeSpan.FromDays(31));
        await round.RunAsync(["example.org"], TestContext.Current.CancellationToken);
        time.Advance(TimeSpan.FromHours(1));
        var persisting = Assert.Single((await round.RunAsync(["example.org"], TestContext.Current.CancellationToken)).Results);
        findings.Clear();
        findings.Add(F("mta-sts.policy.ok", CheckSeverity.Ok));
        time.Advance(TimeSpan.FromHours(1));

        var enforced = Assert.Single((await round.RunAsync(["example.org"], TestContext.Current.CancellationToken)).Results);

        Assert.Equal(T0 + TimeSpan.FromDays(31), Assert.Single(persisting.Persists, p => p.Finding.Id == "mta-sts.policy.testing-too-long").FirstSeen);
        Assert.Equal(["mta-sts.policy.testing", "mta-sts.policy.testing-too-long"], enforced.Cleared.Select(c => c.Finding.Id).Order());
        Assert.False(enforced.Report.Has("mta-sts.policy.testing-too-long"));
        Assert.Equal(CheckStatus.Ok, enforced.Report.Status);
    }

    [Fact]
    public async Task TestingLimit_IsASetting()
    {
        var (round, time, _) = TestingMonitor(TimeSpan.FromDays(7));
        await round.RunAsync(["example.org"], TestContext.Current.CancellationToken);
        time.Advance(TimeSpan.FromDays(8));

        var result = Assert.Single((await round.RunAsync(["example.org"], TestContext.Current.CancellationToken)).Results);

        Assert.Contains("7-day limit", result.Report.Findings.Single(f => f.Id == "mta-sts.policy.testing-too-long").Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TestingTooLong_WithoutHistory_NeverAdded()
    {
        var report = Report(F("mta-sts.policy.testing", CheckSeverity.Info));

        Assert.Same(report, TestingTooLongCheck.Apply([], report, T0 + TimeSpan.FromDays(365), CheckSettings.DefaultTestingLimit));
    }

    /// <summary>A monitor over one domain whose report is <c>findings</c> (mode testing at first), with an in-memory history.</summary>
    private static (WatchRound Round, FakeTimeProvider Time, List<CheckFinding> Findings) TestingMonitor(TimeSpan? limit = null)
    {
        var time = new FakeTimeProvider(T0);
        var findings = new List<CheckFinding> { F("mta-sts.policy.testing", CheckSeverity.Info) };
        Task<IReadOnlyList<DomainCheckReport>> Check(IReadOnlyList<string> domains, CancellationToken ct) =>
            Task.FromResult<IReadOnlyList<DomainCheckReport>>([.. domains.Select(d => new DomainCheckReport(d, [.. findings]))]);
        return (new WatchRound(Check, new MemoryHistory(), time, limit), time, findings);
    }

    private sealed class MemoryHistory : IWatchHistory
    {
        public Dictionary<string, IReadOnlyList<RememberedFinding>> Saved { get; } = [];

        public int Saves { get; private set; }

        public Task<IReadOnlyList<RememberedFinding>> LoadAsync(string domain, CancellationToken cancellationToken) =>
            Task.FromResult(Saved.TryGetValue(domain, out var found) ? found : []);

        public Task SaveAsync(string domain, IReadOnlyList<RememberedFinding> current, CancellationToken cancellationToken)
        {
            Saves++;
            Saved[domain] = current;
            return Task.CompletedTask;
        }
    }
}
