using System.Text;
using Microsoft.Extensions.Time.Testing;
using Rampart.Core.Tests.Fakes;
using Rampart.Core.TlsRpt;

namespace Rampart.Core.Tests.TlsRpt;

/// <summary>
/// Bounces of our mailed reports (RFC 3464 delivery status notifications, as Postfix writes them): what is read from
/// them, and what the sender does with them — the rua the report was accepted for is suppressed and the report is
/// offered to the record's next rua; a bounce about anything else changes nothing.
/// </summary>
public sealed class TlsRptBounceTests : IAsyncDisposable
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

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A bounce as Postfix 3.7 writes it: notification, delivery report, the returned message's headers.</summary>
    private static string PostfixBounce(
        string recipient = "r@a.example", string reportId = "20261206.0a1b2c3d.a.example@sender.example",
        string action = "failed", string status = "5.1.1", string reportDomainHeader = "TLS-Report-Domain: a.example\n",
        string diagnostic = "smtp; 550 5.1.1 <r@a.example>: Recipient address rejected: User\n    unknown in local recipient table") =>
        $"""
        From: MAILER-DAEMON@sender.example (Mail Delivery System)
        Subject: Undelivered Mail Returned to Sender
        To: tlsrpt-noreply@sender.example
        Auto-Submitted: auto-replied
        MIME-Version: 1.0
        Content-Type: multipart/report; report-type=delivery-status;
        	boundary="4B1C2.1733533200/sender.example"
        Message-Id: <20261207010000.4B1C2@sender.example>

        This is a MIME-encapsulated message.

        --4B1C2.1733533200/sender.example
        Content-Description: Notification
        Content-Type: text/plain; charset=us-ascii

        I'm sorry to have to inform you that your message could not
        be delivered to one or more recipients.

        <{recipient}>: host mx.a.example[192.0.2.1] said: 550 5.1.1 <{recipient}>:
            Recipient address rejected: User unknown (in reply to RCPT TO command)

        --4B1C2.1733533200/sender.example
        Content-Description: Delivery report
        Content-Type: message/delivery-status

        Reporting-MTA: dns; sender.example
        X-Postfix-Queue-ID: 4B1C2
        X-Postfix-Sender: rfc822; tlsrpt-noreply@sender.example
        Arrival-Date: Mon,  7 Dec 2026 01:00:00 +0000 (UTC)

        Final-Recipient: rfc822; {recipient}
        Original-Recipient: rfc822;{recipient}
        Action: {action}
        Status: {status}
        Remote-MTA: dns; mx.a.example
        Diagnostic-Code: {diagnostic}

        --4B1C2.1733533200/sender.example
        Content-Description: Undelivered Message Headers
        Content-Type: text/rfc822-headers

        From: tlsrpt-noreply@sender.example
        To: {recipient}
        Subject: Report Domain: a.example Submitter: sender.example Report-ID: <{reportId}>
        {reportDomainHeader}TLS-Report-Submitter: sender.example
        Content-Type: multipart/report; report-type="tlsrpt"; boundary="x"

        --4B1C2.1733533200/sender.example--

        """.Replace("\r\n", "\n", StringComparison.Ordinal).Replace("\n", "\r\n", StringComparison.Ordinal);

    private static Task<TlsRptBounce> ReadAsync(string message) =>
        TlsRptBounceReader.ReadAsync(new MemoryStream(Encoding.UTF8.GetBytes(message)), Ct);

    [Fact]
    public async Task Read_PostfixBounceWithReturnedHeaders_TheRecipientItsStatusAndTheServersReply()
    {
        var bounce = await ReadAsync(PostfixBounce());

        Assert.Equal(TlsRptBounceKind.Bounced, bounce.Kind);
        Assert.Equal("20261206.0a1b2c3d.a.example@sender.example", bounce.ReportId);
        Assert.Equal("a.example", bounce.ReportDomain);
        var recipient = Assert.Single(bounce.Recipients);
        Assert.Equal("r@a.example", recipient.Address);
        Assert.Equal("5.1.1", recipient.Status);
        Assert.Equal("550 5.1.1 <r@a.example>: Recipient address rejected: User unknown in local recipient table", recipient.Diagnostic);
        Assert.Equal(s_day, TlsRptBounceReader.DayOf(bounce.ReportId));
    }

    [Fact]
    public async Task Read_TheWholeReportReturnedAsMessageRfc822_ReadTheSame()
    {
        var whole = PostfixBounce()
            .Replace("Content-Type: text/rfc822-headers", "Content-Type: message/rfc822", StringComparison.Ordinal)
            .Replace("boundary=\"x\"\r\n", "boundary=\"x\"\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nreport\r\n--x--\r\n", StringComparison.Ordinal);

        var bounce = await ReadAsync(whole);

        Assert.Equal(TlsRptBounceKind.Bounced, bounce.Kind);
        Assert.Equal("r@a.example", Assert.Single(bounce.Recipients).Address);
    }

    [Theory]
    [InlineData("delayed", "4.4.1")] // a delay warning: the MTA is still trying
    [InlineData("failed", "4.4.7")]  // given up after a temporary failure: not the rua refusing
    [InlineData("delivered", "2.0.0")]
    public async Task Read_NotAPermanentFailure_NothingBounced(string action, string status)
    {
        var bounce = await ReadAsync(PostfixBounce(action: action, status: status));

        Assert.Equal(TlsRptBounceKind.NoPermanentFailure, bounce.Kind);
        Assert.Empty(bounce.Recipients);
    }

    [Fact]
    public async Task Read_ReturnedMessageNotATlsReport_NotOurs()
    {
        var bounce = await ReadAsync(PostfixBounce(reportDomainHeader: ""));

        Assert.Equal(TlsRptBounceKind.NotOurReport, bounce.Kind);
        Assert.Contains("TLS-Report-Domain", bounce.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Read_AnOrdinaryMessage_NotADeliveryStatus()
    {
        var bounce = await ReadAsync("From: a@b.example\r\nTo: c@d.example\r\nSubject: hello\r\n\r\nhi\r\n");

        Assert.Equal(TlsRptBounceKind.NotADeliveryStatus, bounce.Kind);
    }

    [Fact]
    public async Task Read_HostileDiagnostic_OneLineWithoutControlCharactersAndBounded()
    {
        var bounce = await ReadAsync(PostfixBounce(diagnostic: "smtp; 550 \u001b[31mred\u0007 " + new string('x', 5000)));

        var diagnostic = Assert.Single(bounce.Recipients).Diagnostic!;
        Assert.DoesNotContain(diagnostic, char.IsControl);
        Assert.StartsWith("550 \\u001B[31mred\\u0007 xxx", diagnostic, StringComparison.Ordinal);
        Assert.True(diagnostic.Length <= 301, $"{diagnostic.Length} characters");
    }

    [Fact]
    public async Task Read_LargerThanTheBound_OneLineFormatException()
    {
        var huge = new MemoryStream(Encoding.ASCII.GetBytes("Subject: big\r\n\r\n" + new string('a', (int)TlsRptBounceReader.MaxBytes)));

        var error = await Assert.ThrowsAsync<FormatException>(() => TlsRptBounceReader.ReadAsync(huge, Ct));

        Assert.Contains("larger than 10 MiB", error.Message, StringComparison.Ordinal);
    }

    private TlsRptSender Sender() =>
        new(new FixedTlsSessionStore([new TlsSessionDayPolicy(s_day, "a.example", "v=TLSRPTv1; rua=mailto:r@a.example,https://rpt.a.example/v1",
                TlsSessionPolicy.NoPolicyFound, 5, 0, [])]),
            _outbox, new TlsRptRuaLookup(_dns), [_mail, _https], s_reporter, new TlsRptSendSettings(), _time, new Random(7));

    [Fact]
    public async Task Apply_BounceOfAMailedReport_RuaSuppressed_ReportOfferedToTheNextRua()
    {
        _dns.Txt("_smtp._tls.a.example", "v=TLSRPTv1; rua=mailto:r@a.example,https://rpt.a.example/v1");
        var sender = Sender();
        await sender.QueueAsync(s_day, Ct);
        Assert.Equal(TlsRptOutboxState.Sent, Assert.Single(await sender.SendDueAsync(Ct)).State); // the local MTA accepted it
        var reportId = Assert.Single(_outbox.Entries).Report.Report.ReportId;
        _time.Advance(TimeSpan.FromMinutes(3));

        var outcomes = await new TlsRptBounceHandler(_outbox, _time, TimeSpan.FromDays(30)).ApplyAsync(await ReadAsync(PostfixBounce(reportId: reportId)), Ct);

        var outcome = Assert.Single(outcomes);
        Assert.Equal("mailto:r@a.example", outcome.Rua);
        Assert.True(outcome.Requeued);
        var suppressed = Assert.Single(await _outbox.SuppressionsAsync(_time.GetUtcNow(), Ct));
        Assert.Equal(("mailto:r@a.example", _time.GetUtcNow().AddDays(30)), (suppressed.Rua, suppressed.Until));
        Assert.StartsWith("bounced 5.1.1: 550 5.1.1", suppressed.Reason, StringComparison.Ordinal);

        var again = Assert.Single(await sender.SendDueAsync(Ct));
        Assert.Equal(TlsRptOutboxState.Sent, again.State);
        Assert.Equal("https://rpt.a.example/v1", Assert.Single(_outbox.Entries).SentTo);
        Assert.Single(_mail.Calls); // the bounced rua was not tried again
        Assert.Single(_https.Calls);
    }

    [Theory]
    [InlineData("someone-else@a.example", "20261206.0a1b2c3d.a.example@sender.example")] // a rua we never sent to
    [InlineData("r@a.example", "20261206.ffffffff.a.example@sender.example")]              // not the report sent there
    [InlineData("r@a.example", "someone-elses-id@sender.example")]                         // not a report-id of ours: no day to look in
    public async Task Apply_BounceNotAboutAReportWeSentThere_NothingChanges(string recipient, string reportId)
    {
        _dns.Txt("_smtp._tls.a.example", "v=TLSRPTv1; rua=mailto:r@a.example,https://rpt.a.example/v1");
        var sender = Sender();
        await sender.QueueAsync(s_day, Ct);
        await sender.SendDueAsync(Ct);

        var outcomes = await new TlsRptBounceHandler(_outbox, _time, TimeSpan.FromDays(30))
            .ApplyAsync(await ReadAsync(PostfixBounce(recipient: recipient, reportId: reportId)), Ct);

        Assert.Null(Assert.Single(outcomes).Rua);
        Assert.Empty(await _outbox.SuppressionsAsync(_time.GetUtcNow(), Ct));
        Assert.Equal(TlsRptOutboxState.Sent, Assert.Single(_outbox.Entries).State);
    }
}
