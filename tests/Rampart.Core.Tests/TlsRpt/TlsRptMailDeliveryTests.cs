using System.Net;
using System.Security.Cryptography;
using System.Text;
using MimeKit;
using Rampart.Core.Tests.Fakes;
using Rampart.Core.Tests.Servers;
using Rampart.Core.TlsRpt;
using static Rampart.Core.Tests.TlsRpt.TlsRptTestData;

namespace Rampart.Core.Tests.TlsRpt;

/// <summary>
/// Mailed reports (RFC 8460 §5.3): the message's form, a DKIM signature over the TLS-Report headers that verifies, and
/// SMTP submission whose replies map to accepted / retry / suppress.
/// </summary>
public sealed class TlsRptMailDeliveryTests : IDisposable
{
    private static readonly RSA s_key = RSA.Create(2048);
    private static readonly DateOnly s_day = new(2026, 12, 6);
    private readonly string _dir = Directory.CreateTempSubdirectory("rampart-tlsrpt-mail-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static OutgoingTlsRptReport Report() => TlsRptReportBuilder.Build(s_day,
        [
            new TlsSessionDayPolicy(s_day, "a.example", "v=TLSRPTv1; rua=mailto:tlsrpt@a.example",
                new TlsSessionPolicy(TlsRptPolicyTypes.Sts, "a.example", ["version: STSv1", "mode: enforce", "mx: mx.a.example", "max_age: 86400"], ["mx.a.example"]),
                12, 2, [new TlsSessionFailureCount(new TlsSessionFailure(TlsRptResultTypes.StartTlsNotSupported, "192.0.2.1", "mx.a.example"), 2)]),
        ],
        new TlsRptReporter("Sender Org", "mailto:postmaster@sender.example", "sender.example"))[0];

    private TlsRptMailDelivery Delivery(IPEndPoint? submit = null, bool signed = true)
    {
        TlsRptDkimKey? dkim = null;
        if (signed)
        {
            var keyFile = Path.Combine(_dir, "dkim.pem");
            File.WriteAllText(keyFile, s_key.ExportRSAPrivateKeyPem());
            dkim = new TlsRptDkimKey("sender.example", "tlsrpt", keyFile);
        }
        return new TlsRptMailDelivery(new TlsRptMailSettings
        {
            Sender = MailboxAddress.Parse("tlsrpt@sender.example"),
            Submit = submit is null ? TlsRptMailSettings.DefaultSubmit : new DnsEndPoint(submit.Address.ToString(), submit.Port),
            Dkim = dkim,
            Timeout = TimeSpan.FromSeconds(10),
        }, TimeProvider.System);
    }

    [Fact]
    public async Task Compose_MultipartReportWithGzipAttachment_SignedOverTheTlsReportHeaders_AndReadsBack()
    {
        var report = Report();
        var message = Delivery().Compose(MailboxAddress.Parse("tlsrpt@a.example"), report);

        Assert.Equal($"Report Domain: a.example Submitter: sender.example Report-ID: <{report.Report.ReportId}>", message.Subject);
        Assert.Equal("a.example", message.Headers["TLS-Report-Domain"]);
        Assert.Equal("sender.example", message.Headers["TLS-Report-Submitter"]);
        Assert.Equal("No", message.Headers["TLS-Required"]);
        var body = Assert.IsType<MultipartReport>(message.Body);
        Assert.Equal("tlsrpt", body.ReportType);
        Assert.Equal("text/plain", body[0].ContentType.MimeType);
        var attachment = Assert.IsType<MimePart>(body[1]);
        Assert.Equal("application/tlsrpt+gzip", attachment.ContentType.MimeType);
        Assert.Equal(report.FileName, attachment.FileName);
        var signature = message.Headers[HeaderId.DkimSignature] ?? "";
        Assert.Contains("d=sender.example", signature, StringComparison.Ordinal);
        Assert.Contains("s=tlsrpt", signature, StringComparison.Ordinal);
        var signed = System.Text.RegularExpressions.Regex.Match(signature, @"h=([^;]+)").Groups[1].Value.Replace(" ", "", StringComparison.Ordinal).ToLowerInvariant();
        Assert.Contains("tls-report-domain", signed.Split(':'));
        Assert.Contains("tls-report-submitter", signed.Split(':'));

        // The receiving side's own reader: the DKIM signature verifies and the report is the one built.
        var input = Assert.Single(await ReadAsync(Bytes(message), dkim: new TlsRptDkimVerifier(new FixedDkimKeyLocator(s_key))));
        Assert.Equal(TlsRptDkimStatus.Pass, input.Dkim.Status);
        Assert.Equal("sender.example", input.Dkim.Domain);
        Assert.Equal(TlsRptReportWriter.ToJson(report.Report), TlsRptReportWriter.ToJson(input.Report!));
    }

    [Fact]
    public async Task Compose_HeaderChangedInTransit_SignatureFails()
    {
        var message = Delivery().Compose(MailboxAddress.Parse("tlsrpt@a.example"), Report());
        message.Headers["TLS-Report-Domain"] = "other.example";

        var input = Assert.Single(await ReadAsync(Bytes(message), dkim: new TlsRptDkimVerifier(new FixedDkimKeyLocator(s_key))));

        Assert.Equal(TlsRptDkimStatus.Fail, input.Dkim.Status);
    }

    [Fact]
    public void New_KeyFileNotAKey_OneLineNamingTheFile()
    {
        var keyFile = Path.Combine(_dir, "bad.pem");
        File.WriteAllText(keyFile, "not a key\n");

        var ex = Assert.Throws<RampartException>(() => new TlsRptMailDelivery(new TlsRptMailSettings
        {
            Sender = MailboxAddress.Parse("tlsrpt@sender.example"),
            Dkim = new TlsRptDkimKey("sender.example", "tlsrpt", keyFile),
        }, TimeProvider.System));

        Assert.Contains(keyFile, ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', ex.Message);
    }

    private static SmtpScript Greeting(SmtpScript s) => s.Reply("220 mx.local ESMTP").Expect("EHLO").Reply("250-mx.local", "250 8BITMIME");

    [Fact]
    public async Task Deliver_ServerAccepts_AcceptedWithTheEnvelopeAndSignedBody()
    {
        var data = new List<string>();
        await using var server = ScriptedSmtpServer.Start(s => Greeting(s)
            .Expect("MAIL FROM:<tlsrpt@sender.example>").Reply("250 2.1.0 Ok")
            .Expect("RCPT TO:<tlsrpt@a.example>").Reply("250 2.1.5 Ok")
            .Expect("DATA").Reply("354 End data with <CR><LF>.<CR><LF>")
            .ReadData(data).Reply("250 2.0.0 Ok: queued as 4ABC")
            .Expect("QUIT").Reply("221 2.0.0 Bye"));

        var result = await Delivery(server.EndPoint).DeliverAsync(new Uri("mailto:tlsrpt@a.example"), Report(), TestContext.Current.CancellationToken);

        Assert.Equal(TlsRptDeliveryStatus.Accepted, result.Status);
        Assert.Contains("queued as 4ABC", result.Detail, StringComparison.Ordinal);
        await server.Completion;
        var sent = MimeMessage.Load(new MemoryStream(Encoding.UTF8.GetBytes(string.Join("\r\n", data) + "\r\n")), TestContext.Current.CancellationToken);
        var input = Assert.Single(await ReadAsync(Bytes(sent), dkim: new TlsRptDkimVerifier(new FixedDkimKeyLocator(s_key))));
        Assert.Equal(TlsRptDkimStatus.Pass, input.Dkim.Status);
    }

    [Theory]
    [InlineData("550 5.1.1 <tlsrpt@a.example>: Recipient address rejected", TlsRptDeliveryStatus.PermanentFailure)]
    [InlineData("451 4.3.0 Temporary lookup failure", TlsRptDeliveryStatus.TemporaryFailure)]
    public async Task Deliver_RecipientRefused_PermanentOrTemporaryByTheReplyClass(string reply, TlsRptDeliveryStatus expected)
    {
        await using var server = ScriptedSmtpServer.Start(s => Greeting(s)
            .Expect("MAIL FROM").Reply("250 2.1.0 Ok")
            .Expect("RCPT TO").Reply(reply));

        var result = await Delivery(server.EndPoint).DeliverAsync(new Uri("mailto:tlsrpt@a.example"), Report(), TestContext.Current.CancellationToken);

        Assert.Equal(expected, result.Status);
        Assert.Contains(reply[..3], result.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Deliver_NothingListening_Temporary()
    {
        var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop(); // nothing listens there now

        var result = await Delivery(new IPEndPoint(IPAddress.Loopback, port), signed: false)
            .DeliverAsync(new Uri("mailto:tlsrpt@a.example"), Report(), TestContext.Current.CancellationToken);

        Assert.Equal(TlsRptDeliveryStatus.TemporaryFailure, result.Status);
    }

    [Theory]
    [InlineData("mailto:tlsrpt@a.example", "tlsrpt@a.example")]
    [InlineData("mailto:tls%2Drpt@a.example?subject=x", "tls-rpt@a.example")]
    public void Recipient_FromMailtoUri(string uri, string address)
    {
        Assert.True(TlsRptMailDelivery.TryRecipient(new Uri(uri), out var recipient));
        Assert.Equal(address, recipient.Address);
    }
}
