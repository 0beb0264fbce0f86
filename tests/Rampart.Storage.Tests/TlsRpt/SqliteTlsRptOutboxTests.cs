using Rampart.Core.TlsRpt;
using Rampart.Storage.Tests.Support;
using Rampart.Storage.TlsRpt;

namespace Rampart.Storage.Tests.TlsRpt;

/// <summary>
/// The outbox of our reports: queued days, each report's delivery state and the suppressed ruas survive closing and
/// reopening the file (a restart), so a report is neither lost nor sent twice.
/// </summary>
public sealed class SqliteTlsRptOutboxTests : IDisposable
{
    private static readonly DateOnly s_day = new(2026, 12, 6);
    private static readonly DateTimeOffset s_due = new(2026, 12, 7, 1, 30, 0, TimeSpan.Zero);
    private readonly TempDirectory _dir = new();
    private readonly CancellationToken _ct = TestContext.Current.CancellationToken;

    public void Dispose() => _dir.Dispose();

    private Task<SqliteTlsRptOutbox> OpenAsync() => SqliteTlsRptOutbox.OpenAsync(SqliteTlsRptOutbox.PathIn(_dir.Path), _ct);

    private static IReadOnlyList<OutgoingTlsRptReport> Reports() => TlsRptReportBuilder.Build(s_day,
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
            Assert.True(await outbox.QueueDayAsync(s_day, [.. reports.Select(r => (r, s_due))], _ct));
            Assert.False(await outbox.QueueDayAsync(s_day, [.. reports.Select(r => (r, s_due))], _ct)); // the day is built once
        }

        await using var reopened = await OpenAsync();
        Assert.True(await reopened.IsDayQueuedAsync(s_day, _ct));
        Assert.False(await reopened.IsDayQueuedAsync(s_day.AddDays(1), _ct));
        var entries = await reopened.ListAsync(s_day, _ct);
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
            await outbox.QueueDayAsync(s_day, [.. Reports().Select((r, i) => (r, s_due.AddMinutes(i * 10)))], _ct);
            Assert.Empty(await outbox.DueAsync(s_due.AddSeconds(-1), _ct));
            var due = Assert.Single(await outbox.DueAsync(s_due, _ct));
            await outbox.UpdateAsync(due.Id, TlsRptOutboxState.Sent, due.NextTry, 1, "250 ok", "mailto:r@a.example", _ct);
            var second = (await outbox.DueAsync(s_due.AddHours(1), _ct)).Single();
            await outbox.UpdateAsync(second.Id, TlsRptOutboxState.Pending, s_due.AddHours(2), 1, "421 busy", null, _ct);
        }

        await using var reopened = await OpenAsync();
        Assert.Empty(await reopened.DueAsync(s_due.AddHours(1), _ct)); // sent is never due again; the retry waits
        var retry = Assert.Single(await reopened.DueAsync(s_due.AddHours(2), _ct));
        Assert.Equal(("b.example", 1, "421 busy"), (retry.Report.ReportDomain, retry.Attempts, retry.Detail));
        var sent = (await reopened.ListAsync(null, _ct)).Single(e => e.State == TlsRptOutboxState.Sent);
        Assert.Equal("mailto:r@a.example", sent.SentTo);
    }

    [Fact]
    public async Task Claim_TwoSendersOnOneFile_OnlyOneGetsTheReport_AndItIsDueAgainWhenTheLeaseEnds()
    {
        await using var daemon = await OpenAsync();
        await using var cli = await OpenAsync(); // 'rampart tlsrpt send' beside the daemon: a second connection
        await daemon.QueueDayAsync(s_day, [(Reports()[0], s_due)], _ct);
        var seenByDaemon = Assert.Single(await daemon.DueAsync(s_due, _ct));
        var seenByCli = Assert.Single(await cli.DueAsync(s_due, _ct));

        Assert.True(await daemon.ClaimAsync(seenByDaemon.Id, seenByDaemon.NextTry, s_due.AddMinutes(10), _ct));
        Assert.False(await cli.ClaimAsync(seenByCli.Id, seenByCli.NextTry, s_due.AddMinutes(10), _ct));
        Assert.Empty(await cli.DueAsync(s_due.AddMinutes(9), _ct));
        Assert.Single(await cli.DueAsync(s_due.AddMinutes(10), _ct)); // the claimer died: due again after the lease
    }

    [Fact]
    public async Task Suppression_HoldsUntilItsTime_AndSurvivesReopen()
    {
        await using (var outbox = await OpenAsync())
        {
            await outbox.SuppressAsync(new TlsRptSuppression("mailto:r@a.example", s_due.AddDays(30), "550 no such user"), _ct);
        }

        await using var reopened = await OpenAsync();
        var held = await reopened.SuppressionAsync("mailto:r@a.example", s_due, _ct);
        Assert.Equal("550 no such user", held?.Reason);
        Assert.Null(await reopened.SuppressionAsync("mailto:r@a.example", s_due.AddDays(31), _ct));
        Assert.Null(await reopened.SuppressionAsync("https://other.example/", s_due, _ct));
    }

    [Fact]
    public async Task Suppressions_ListsThoseInForce_ClearLiftsOne()
    {
        await using var outbox = await OpenAsync();
        await outbox.SuppressAsync(new TlsRptSuppression("mailto:z@a.example", s_due.AddDays(30), "550 no such user"), _ct);
        await outbox.SuppressAsync(new TlsRptSuppression("https://b.example/tlsrpt", s_due.AddDays(2), "HTTP 404"), _ct);
        await outbox.SuppressAsync(new TlsRptSuppression("mailto:old@c.example", s_due.AddDays(-1), "550 gone"), _ct);

        Assert.Equal(["https://b.example/tlsrpt", "mailto:z@a.example"], (await outbox.SuppressionsAsync(s_due, _ct)).Select(x => x.Rua));
        Assert.True(await outbox.ClearSuppressionAsync("mailto:z@a.example", s_due, _ct));
        Assert.False(await outbox.ClearSuppressionAsync("mailto:z@a.example", s_due, _ct));   // already lifted
        Assert.False(await outbox.ClearSuppressionAsync("mailto:old@c.example", s_due, _ct)); // expired: was not in force
        Assert.False(await outbox.ClearSuppressionAsync("mailto:Z@a.example", s_due, _ct));   // exactly as recorded
        Assert.Null(await outbox.SuppressionAsync("mailto:z@a.example", s_due, _ct));
        Assert.Equal(["https://b.example/tlsrpt"], (await outbox.SuppressionsAsync(s_due, _ct)).Select(x => x.Rua));
    }
}
