using Microsoft.Extensions.Time.Testing;
using Rampart.Core.Dns;
using Rampart.Core.Tests.Fakes;
using Rampart.Core.TlsRpt;

namespace Rampart.Core.Tests.TlsRpt;

/// <summary>
/// The sender's decisions (RFC 8460 §4–5): which days are built and when they are due, the rua looked up again at send
/// time, the first rua that accepts, retries with backoff for a day, and the suppression list.
/// </summary>
public sealed class TlsRptSenderTests : IAsyncDisposable
{
    private static readonly DateOnly s_day = new(2026, 12, 6);
    private static readonly DateTimeOffset s_midnight = new(2026, 12, 7, 0, 0, 0, TimeSpan.Zero);
    private static readonly TlsRptReporter s_reporter = new("Sender Org", "mailto:postmaster@sender.example", "sender.example");

    private readonly FakeTimeProvider _time = new(s_midnight.AddHours(6));
    private readonly FakeDnsResolver _dns = new();
    private readonly InMemoryTlsRptOutbox _outbox = new();
    private readonly ScriptedTlsRptDelivery _mail = new("mailto");
    private readonly ScriptedTlsRptDelivery _https = new("https");

    public ValueTask DisposeAsync() => _outbox.DisposeAsync();

    private static TlsSessionDayPolicy Row(DateOnly day, string domain, long ok = 5, long failed = 1) =>
        new(day, domain, $"v=TLSRPTv1; rua=mailto:tlsrpt@{domain}", TlsSessionPolicy.NoPolicyFound, ok, failed,
            failed > 0 ? [new TlsSessionFailureCount(new TlsSessionFailure(TlsRptResultTypes.StartTlsNotSupported), failed)] : []);

    private TlsRptSender Sender(params TlsSessionDayPolicy[] rows) => Sender(new FixedTlsSessionStore(rows), new TlsRptSendSettings());

    private TlsRptSender Sender(ITlsSessionStore sessions, TlsRptSendSettings settings) =>
        new(sessions, _outbox, new TlsRptRuaLookup(_dns), [_mail, _https], s_reporter, settings, _time, new Random(7));

    [Theory]
    [InlineData(14, "2026-11-23")] // today 2026-12-07: today and the 14 finished days before it stay
    [InlineData(2, "2026-12-05")]
    [InlineData(0, "2026-12-05")]  // below the minimum: yesterday's counts must outlive the spread
    public async Task PurgeOldDays_KeepsTodayAndTheLastKeepDays(int keepDays, string firstKept)
    {
        var kept = DateOnly.Parse(firstKept, System.Globalization.CultureInfo.InvariantCulture);
        var sessions = new FixedTlsSessionStore([.. Enumerable.Range(0, 40).Select(i => Row(new DateOnly(2026, 12, 7).AddDays(-i), "a.example"))]);

        var (first, purged) = await Sender(sessions, new TlsRptSendSettings { KeepDays = keepDays }).PurgeOldDaysAsync(TestContext.Current.CancellationToken);

        Assert.Equal((kept, 40 - (new DateOnly(2026, 12, 7).DayNumber - kept.DayNumber + 1)), (first, purged));
        Assert.Equal(kept, (await sessions.DaysAsync(TestContext.Current.CancellationToken))[0]);
    }

    [Fact]
    public async Task Queue_FinishedDaysOnce_DueWithinTheSpreadAfterMidnight_TodayWaits()
    {
        var today = DateOnly.FromDateTime(_time.GetUtcNow().UtcDateTime);
        var sender = Sender(Row(s_day, "a.example"), Row(s_day, "b.example"), Row(s_day.AddDays(-1), "a.example"), Row(today, "a.example"));

        var queued = await sender.QueueAsync(null, TestContext.Current.CancellationToken);
        var again = await sender.QueueAsync(null, TestContext.Current.CancellationToken);

        Assert.Equal(3, queued.Count);
        Assert.Empty(again);
        Assert.DoesNotContain(_outbox.Entries, e => e.Report.Day == today);
        foreach (var entry in _outbox.Entries)
        {
            var midnight = new DateTimeOffset(entry.Report.Day.AddDays(1).ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
            Assert.InRange(entry.DueAt, midnight, midnight.AddHours(4));
        }
        Assert.True(_outbox.Entries.Select(e => e.DueAt).Distinct().Count() > 1); // spread, not all at one moment
    }

    [Fact]
    public async Task Queue_DayGiven_DueNow()
    {
        await Sender(Row(s_day, "a.example")).QueueAsync(s_day, TestContext.Current.CancellationToken);

        Assert.Equal(_time.GetUtcNow(), Assert.Single(_outbox.Entries).DueAt);
    }

    private async Task<TlsRptSendOutcome> SendOneAsync(TlsRptSender sender)
    {
        await sender.QueueAsync(s_day, TestContext.Current.CancellationToken);
        return Assert.Single(await sender.SendDueAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Send_FirstRuaThatAccepts_Counts_InTheRecordsOrder()
    {
        _dns.Txt("_smtp._tls.a.example", "v=TLSRPTv1; rua=mailto:r@a.example,https://rpt.a.example/v1");
        _mail.Answer("mailto:r@a.example", TlsRptDeliveryResult.Temporary("451 try later"));

        var outcome = await SendOneAsync(Sender(Row(s_day, "a.example")));

        Assert.Equal(TlsRptOutboxState.Sent, outcome.State);
        Assert.Equal(["mailto:r@a.example", "https://rpt.a.example/v1"], outcome.Attempts.Select(a => a.Rua.OriginalString));
        Assert.Equal("https://rpt.a.example/v1", Assert.Single(_outbox.Entries).SentTo);
        // Sent is final: the next pass sends nothing.
        _time.Advance(TimeSpan.FromHours(1));
        Assert.Empty(await Sender(Row(s_day, "a.example")).SendDueAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Send_NoRecordNow_DroppedWithoutDelivery()
    {
        _dns.Txt("_smtp._tls.a.example", "v=spf1 -all");

        var outcome = await SendOneAsync(Sender(Row(s_day, "a.example")));

        Assert.Equal(TlsRptOutboxState.Dropped, outcome.State);
        Assert.Contains("no v=TLSRPTv1 record", outcome.Detail, StringComparison.Ordinal);
        Assert.Empty(_mail.Calls);
    }

    [Theory]
    [InlineData("v=TLSRPTv1; rua=ftp://reports.a.example/")]                 // a scheme RFC 8460 does not define
    [InlineData("v=TLSRPTv1; rua=mailto:r@a.example; rua=mailto:s@a.example")] // rua twice
    [InlineData("v=TLSRPTv1;")]                                                // no rua
    public async Task Send_InvalidRecord_DroppedNeverSent(string record)
    {
        _dns.Txt("_smtp._tls.a.example", record);

        var outcome = await SendOneAsync(Sender(Row(s_day, "a.example")));

        Assert.Equal(TlsRptOutboxState.Dropped, outcome.State);
        Assert.Empty(_mail.Calls);
        Assert.Empty(_https.Calls);
    }

    [Fact]
    public async Task Send_TwoRecords_DroppedNeverSent()
    {
        _dns.Txt("_smtp._tls.a.example", "v=TLSRPTv1; rua=mailto:r@a.example", "v=TLSRPTv1; rua=mailto:s@a.example");

        var outcome = await SendOneAsync(Sender(Row(s_day, "a.example")));

        Assert.Equal(TlsRptOutboxState.Dropped, outcome.State);
        Assert.Empty(_mail.Calls);
    }

    [Fact]
    public async Task Send_DnsError_KeptAndRetried_ThenSent()
    {
        _dns.Fail("_smtp._tls.a.example", "TXT");
        var sender = Sender(Row(s_day, "a.example"));

        var first = await SendOneAsync(sender);

        Assert.Equal(TlsRptOutboxState.Pending, first.State);
        Assert.Equal(_time.GetUtcNow().AddMinutes(5), first.NextTry);
        Assert.Empty(await sender.SendDueAsync(TestContext.Current.CancellationToken)); // not before its next try
        _dns.Txt("_smtp._tls.a.example", "v=TLSRPTv1; rua=mailto:r@a.example");
        _time.Advance(TimeSpan.FromMinutes(5));
        var second = Assert.Single(await sender.SendDueAsync(TestContext.Current.CancellationToken));
        Assert.Equal(TlsRptOutboxState.Sent, second.State);
    }

    [Fact]
    public async Task Send_KeepsFailing_BackoffDoubles_GivenUpADayAfterDue()
    {
        _dns.Txt("_smtp._tls.a.example", "v=TLSRPTv1; rua=mailto:r@a.example");
        _mail.Answer("mailto:r@a.example", [.. Enumerable.Repeat(TlsRptDeliveryResult.Temporary("421 busy"), 100)]);
        var sender = Sender(Row(s_day, "a.example"));
        await sender.QueueAsync(s_day, TestContext.Current.CancellationToken);
        var due = _time.GetUtcNow();
        var waits = new List<TimeSpan>();
        TlsRptSendOutcome? last = null;
        for (var i = 0; i < 50 && last?.State is null or TlsRptOutboxState.Pending; i++)
        {
            var before = _time.GetUtcNow();
            last = Assert.Single(await sender.SendDueAsync(TestContext.Current.CancellationToken));
            if (last.NextTry is { } next)
            {
                waits.Add(next - before);
                _time.SetUtcNow(next);
            }
        }

        Assert.Equal(TlsRptOutboxState.Expired, last!.State);
        Assert.Equal([5, 10, 20, 40, 80, 160, 240], waits.Take(7).Select(w => w.TotalMinutes));
        Assert.InRange(_time.GetUtcNow() - due, TimeSpan.FromHours(20), TimeSpan.FromHours(24));
    }

    [Fact]
    public async Task Send_PermanentRefusal_SuppressesTheRua_ForLaterReports()
    {
        _dns.Txt("_smtp._tls.a.example", "v=TLSRPTv1; rua=mailto:r@a.example");
        _mail.Answer("mailto:r@a.example", TlsRptDeliveryResult.Permanent("550 no such user"));
        var sender = Sender(Row(s_day, "a.example"), Row(s_day.AddDays(-1), "a.example"));
        await sender.QueueAsync(s_day.AddDays(-1), TestContext.Current.CancellationToken);
        var first = Assert.Single(await sender.SendDueAsync(TestContext.Current.CancellationToken));

        var second = await SendOneAsync(sender);

        Assert.Equal(TlsRptOutboxState.Dropped, first.State);
        Assert.Equal(TlsRptOutboxState.Dropped, second.State);
        Assert.Single(_mail.Calls); // the second report never tried the suppressed rua
        Assert.Contains("suppressed until", second.Attempts[0].Skipped, StringComparison.Ordinal);
    }
}
