using Rampart.Core.TlsRpt;

namespace Rampart.Storage.Tests.TlsRpt;

/// <summary>
/// What every outbox promises (SQLite in the state directory, PostgreSQL for a fleet), run against each by a subclass
/// that only opens it: queued days, each report's delivery state and the suppressed ruas survive closing and reopening
/// (a restart), a day is queued once, and of two senders only one claims a report, so a report is neither lost nor sent
/// twice.
/// </summary>
public abstract class TlsRptOutboxContractTests
{
    protected static readonly DateOnly s_day = new(2026, 12, 6);
    protected static readonly DateTimeOffset s_due = new(2026, 12, 7, 1, 30, 0, TimeSpan.Zero);
    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>An outbox on this test's storage (fresh for each test; opening again opens the same storage).</summary>
    protected abstract Task<ITlsRptOutbox> OpenAsync();

    protected static IReadOnlyList<OutgoingTlsRptReport> Reports() => TlsRptReportBuilder.Build(s_day,
        [
            new TlsSessionDayPolicy(s_day, "a.example", "v=TLSRPTv1; rua=mailto:r@a.example", TlsSessionPolicy.NoPolicyFound, 3, 1,
                [new TlsSessionFailureCount(new TlsSessionFailure(TlsRptResultTypes.StartTlsNotSupported, "192.0.2.1"), 1)]),
            new TlsSessionDayPolicy(s_day, "b.example", null, TlsSessionPolicy.NoPolicyFound, 7, 0, []),
        ],
        new TlsRptReporter("Sender Org", "mailto:postmaster@sender.example", "sender.example"));

    [Fact]
    public async Task QueueDay_Once_AndReportsReadBackAsBuilt_AfterReopen()
    {
        var reports = Reports();
        await using (var outbox = await OpenAsync())
        {
            Assert.True(await outbox.QueueDayAsync(s_day, [.. reports.Select(r => (r, s_due))], Ct));
            Assert.False(await outbox.QueueDayAsync(s_day, [.. reports.Select(r => (r, s_due))], Ct)); // the day is built once
        }

        await using var reopened = await OpenAsync();
        Assert.True(await reopened.IsDayQueuedAsync(s_day, Ct));
        Assert.False(await reopened.IsDayQueuedAsync(s_day.AddDays(1), Ct));
        var entries = await reopened.ListAsync(s_day, Ct);
        Assert.Equal(2, entries.Count);
        for (var i = 0; i < reports.Count; i++)
        {
            Assert.Equal(TlsRptReportWriter.ToJson(reports[i].Report), TlsRptReportWriter.ToJson(entries[i].Report.Report));
            Assert.Equal((reports[i].Day, reports[i].ReportDomain, reports[i].TlsRptRecord, reports[i].FileName),
                (entries[i].Report.Day, entries[i].Report.ReportDomain, entries[i].Report.TlsRptRecord, entries[i].Report.FileName));
            Assert.Equal((TlsRptOutboxState.Pending, s_due, 0), (entries[i].State, entries[i].DueAt, entries[i].Attempts));
        }
    }

    [Fact]
    public async Task Due_OnlyPendingAtOrBeforeNow_AndUpdatesSurviveReopen()
    {
        await using (var outbox = await OpenAsync())
        {
            await outbox.QueueDayAsync(s_day, [.. Reports().Select((r, i) => (r, s_due.AddMinutes(i * 10)))], Ct);
            Assert.Empty(await outbox.DueAsync(s_due.AddSeconds(-1), Ct));
            var due = Assert.Single(await outbox.DueAsync(s_due, Ct));
            await outbox.UpdateAsync(due.Id, TlsRptOutboxState.Sent, due.NextTry, 1, "250 ok", "mailto:r@a.example", Ct);
            var second = (await outbox.DueAsync(s_due.AddHours(1), Ct)).Single();
            await outbox.UpdateAsync(second.Id, TlsRptOutboxState.Pending, s_due.AddHours(2), 1, "421 busy", null, Ct);
        }

        await using var reopened = await OpenAsync();
        Assert.Empty(await reopened.DueAsync(s_due.AddHours(1), Ct)); // sent is never due again; the retry waits
        var retry = Assert.Single(await reopened.DueAsync(s_due.AddHours(2), Ct));
        Assert.Equal(("b.example", 1, "421 busy"), (retry.Report.ReportDomain, retry.Attempts, retry.Detail));
        var sent = (await reopened.ListAsync(null, Ct)).Single(e => e.State == TlsRptOutboxState.Sent);
        Assert.Equal("mailto:r@a.example", sent.SentTo);
    }

    [Fact]
    public async Task Claim_TwoSenders_OnlyOneGetsTheReport_AndItIsDueAgainWhenTheLeaseEnds()
    {
        await using var daemon = await OpenAsync();
        await using var cli = await OpenAsync(); // 'rampart tlsrpt send' beside the daemon: a second connection
        await daemon.QueueDayAsync(s_day, [(Reports()[0], s_due)], Ct);
        var seenByDaemon = Assert.Single(await daemon.DueAsync(s_due, Ct));
        var seenByCli = Assert.Single(await cli.DueAsync(s_due, Ct));

        Assert.True(await daemon.ClaimAsync(seenByDaemon.Id, seenByDaemon.NextTry, s_due.AddMinutes(10), Ct));
        Assert.False(await cli.ClaimAsync(seenByCli.Id, seenByCli.NextTry, s_due.AddMinutes(10), Ct));
        Assert.Empty(await cli.DueAsync(s_due.AddMinutes(9), Ct));
        Assert.Single(await cli.DueAsync(s_due.AddMinutes(10), Ct)); // the claimer died: due again after the lease
    }

    [Fact]
    public async Task Suppression_HoldsUntilItsTime_AndSurvivesReopen()
    {
        await using (var outbox = await OpenAsync())
        {
            await outbox.SuppressAsync(new TlsRptSuppression("mailto:r@a.example", s_due.AddDays(30), "550 no such user"), Ct);
        }

        await using var reopened = await OpenAsync();
        var held = await reopened.SuppressionAsync("mailto:r@a.example", s_due, Ct);
        Assert.Equal("550 no such user", held?.Reason);
        Assert.Null(await reopened.SuppressionAsync("mailto:r@a.example", s_due.AddDays(31), Ct));
        Assert.Null(await reopened.SuppressionAsync("https://other.example/", s_due, Ct));
    }

    [Fact]
    public async Task Suppressions_ListsThoseInForce_ClearLiftsOne()
    {
        await using var outbox = await OpenAsync();
        await outbox.SuppressAsync(new TlsRptSuppression("mailto:z@a.example", s_due.AddDays(30), "550 no such user"), Ct);
        await outbox.SuppressAsync(new TlsRptSuppression("https://b.example/tlsrpt", s_due.AddDays(2), "HTTP 404"), Ct);
        await outbox.SuppressAsync(new TlsRptSuppression("mailto:old@c.example", s_due.AddDays(-1), "550 gone"), Ct);

        Assert.Equal(["https://b.example/tlsrpt", "mailto:z@a.example"], (await outbox.SuppressionsAsync(s_due, Ct)).Select(x => x.Rua));
        Assert.True(await outbox.ClearSuppressionAsync("mailto:z@a.example", s_due, Ct));
        Assert.False(await outbox.ClearSuppressionAsync("mailto:z@a.example", s_due, Ct));   // already lifted
        Assert.False(await outbox.ClearSuppressionAsync("mailto:old@c.example", s_due, Ct)); // expired: was not in force
        Assert.False(await outbox.ClearSuppressionAsync("mailto:Z@a.example", s_due, Ct));   // exactly as recorded
        Assert.Null(await outbox.SuppressionAsync("mailto:z@a.example", s_due, Ct));
        Assert.Equal(["https://b.example/tlsrpt"], (await outbox.SuppressionsAsync(s_due, Ct)).Select(x => x.Rua));
    }

    [Fact]
    public async Task QueueDay_TwoBuildersAtOnce_OneQueuesTheDay()
    {
        // Two daemons of a fleet finishing the same day together: the day's reports are queued once.
        await using var first = await OpenAsync();
        await using var second = await OpenAsync();
        var reports = Reports();

        var queued = await Task.WhenAll(
            Task.Run(() => first.QueueDayAsync(s_day, [.. reports.Select(r => (r, s_due))], Ct), Ct),
            Task.Run(() => second.QueueDayAsync(s_day, [.. reports.Select(r => (r, s_due))], Ct), Ct));

        Assert.Equal(1, queued.Count(q => q));
        Assert.Equal(reports.Count, (await first.ListAsync(s_day, Ct)).Count);
    }

    [Fact]
    public async Task Claim_ManySendersRacing_EachReportClaimedOnce()
    {
        await using var outbox = await OpenAsync();
        await outbox.QueueDayAsync(s_day, [.. Reports().Select(r => (r, s_due))], Ct);
        var senders = new List<ITlsRptOutbox>();
        for (var i = 0; i < 4; i++)
        {
            senders.Add(await OpenAsync());
        }
        try
        {
            var claims = await Task.WhenAll(senders.Select(sender => Task.Run(async () =>
            {
                var won = new List<long>();
                foreach (var entry in await sender.DueAsync(s_due, Ct))
                {
                    if (await sender.ClaimAsync(entry.Id, entry.NextTry, s_due.AddMinutes(10), Ct))
                    {
                        won.Add(entry.Id);
                    }
                }
                return won;
            }, Ct)));

            var all = claims.SelectMany(c => c).ToList();
            Assert.Equal(Reports().Count, all.Count);
            Assert.Equal(all.Count, all.Distinct().Count());
        }
        finally
        {
            foreach (var sender in senders)
            {
                await sender.DisposeAsync();
            }
        }
    }
}
