using System.Net;
using System.Net.Sockets;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;
using MimeKit.Cryptography;

namespace Rampart.Core.TlsRpt;

/// <summary>The key that signs mailed reports: <c>tlsrpt_reporting.dkim</c>.</summary>
/// <param name="Domain">d=: the signing domain.</param>
/// <param name="Selector">s=: the key is published at <c>SELECTOR._domainkey.DOMAIN</c>.</param>
/// <param name="KeyFile">The private key, PEM (RSA, PKCS#1 or PKCS#8).</param>
public sealed record TlsRptDkimKey(string Domain, string Selector, string KeyFile);

/// <summary>How reports are mailed: who sends them, through which SMTP server, signed with which key.</summary>
public sealed record TlsRptMailSettings
{
    /// <summary>The default submission server: the local MTA.</summary>
    public static readonly DnsEndPoint DefaultSubmit = new("127.0.0.1", 25);

    /// <summary>Envelope sender and From of every report (<c>tlsrpt_reporting.sender_address</c>).</summary>
    public required MailboxAddress Sender { get; init; }

    /// <summary>The SMTP server reports are submitted to (<c>tlsrpt_reporting.submit</c>); no TLS, no authentication: the local MTA.</summary>
    public DnsEndPoint Submit { get; init; } = DefaultSubmit;

    /// <summary>The DKIM key; null = unsigned (warned at start: receivers may discard unsigned reports).</summary>
    public TlsRptDkimKey? Dkim { get; init; }

    /// <summary>The whole submission's deadline.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(60);
}

/// <summary>
/// Mails a report (RFC 8460 §5.3): <c>multipart/report; report-type="tlsrpt"</c> with a text part for people and the
/// gzip report as <c>application/tlsrpt+gzip</c> under its RFC file name; TLS-Report-Domain and TLS-Report-Submitter,
/// the RFC's Subject, <c>TLS-Required: No</c> (RFC 8689 §5: a report about TLS trouble must not need TLS to arrive),
/// DKIM-signed over those headers, and submitted by SMTP to the local MTA.
/// </summary>
public sealed class TlsRptMailDelivery : ITlsRptDelivery
{
    /// <summary>The headers the DKIM signature covers (RFC 8460 §5.3 names the two TLS-Report ones).</summary>
    public static readonly IReadOnlyList<string> SignedHeaders =
        ["From", "To", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type", "TLS-Report-Domain", "TLS-Report-Submitter", "TLS-Required", "Auto-Submitted"];

    private readonly TlsRptMailSettings _settings;
    private readonly DkimSigner? _signer;
    private readonly TimeProvider _time;

    /// <summary>Reads the DKIM key now: a missing or unreadable key is a <see cref="RampartException"/> naming the file.</summary>
    public TlsRptMailDelivery(TlsRptMailSettings settings, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _settings = settings;
        _time = time;
        if (settings.Dkim is { } dkim)
        {
            try
            {
                _signer = new DkimSigner(dkim.KeyFile, dkim.Domain, dkim.Selector, DkimSignatureAlgorithm.RsaSha256)
                {
                    HeaderCanonicalizationAlgorithm = DkimCanonicalizationAlgorithm.Relaxed,
                    BodyCanonicalizationAlgorithm = DkimCanonicalizationAlgorithm.Relaxed,
                };
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or ArgumentException or NotSupportedException or Org.BouncyCastle.Security.SecurityUtilityException)
            {
                throw new RampartException($"tlsrpt_reporting.dkim.key_file '{dkim.KeyFile}': not a usable RSA private key in PEM ({TlsRptReportParser.OneLine(ex.Message)})", ex);
            }
        }
    }

    public string Scheme => "mailto";

    /// <summary>The message as it is submitted (signed when a key is configured).</summary>
    public MimeMessage Compose(MailboxAddress recipient, OutgoingTlsRptReport report)
    {
        ArgumentNullException.ThrowIfNull(recipient);
        ArgumentNullException.ThrowIfNull(report);
        var message = new MimeMessage();
        message.From.Add(_settings.Sender);
        message.To.Add(recipient);
        message.Subject = report.Subject;
        message.Date = _time.GetUtcNow();
        message.MessageId = MimeKit.Utils.MimeUtils.GenerateMessageId(report.SubmitterDomain);
        message.Headers.Add("TLS-Report-Domain", report.ReportDomain);
        message.Headers.Add("TLS-Report-Submitter", report.SubmitterDomain);
        message.Headers.Add("TLS-Required", "No");
        message.Headers.Add("Auto-Submitted", "auto-generated");

        var text = new TextPart("plain")
        {
            Text = $"This is an aggregate TLS report (RFC 8460) from {report.Report.OrganizationName} about the SMTP TLS sessions " +
                   $"to {report.ReportDomain} on {report.Day:yyyy-MM-dd} (UTC): {report.Successful} successful, {report.Failed} failed.\r\n" +
                   $"Report-ID: {report.Report.ReportId}\r\nContact: {report.Report.ContactInfo}\r\n" +
                   "The report itself is the attached application/tlsrpt+gzip file.\r\n",
        };
        text.ContentType.Charset = "utf-8";
        var attachment = new MimePart("application", "tlsrpt+gzip")
        {
            Content = new MimeContent(new MemoryStream(TlsRptReportWriter.ToGzip(report.Report))),
            ContentDisposition = new ContentDisposition(ContentDisposition.Attachment),
            ContentTransferEncoding = ContentEncoding.Base64,
            FileName = report.FileName,
        };
        var body = new MultipartReport("tlsrpt") { text, attachment };
        message.Body = body;
        if (_signer is not null)
        {
            // The signature covers the bytes as submitted: fix the transfer encodings first (RFC 6376 §5.3).
            message.Prepare(EncodingConstraint.SevenBit);
            _signer.Sign(message, SignedHeaders.ToList());
        }
        return message;
    }

    public async Task<TlsRptDeliveryResult> DeliverAsync(Uri rua, OutgoingTlsRptReport report, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(rua);
        if (!TryRecipient(rua, out var recipient))
        {
            return TlsRptDeliveryResult.Permanent($"{rua} is not mailto:local@domain");
        }
        var message = Compose(recipient, report);
        var submit = $"{_settings.Submit.Host}:{_settings.Submit.Port}";
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(_settings.Timeout);
        using var client = new SmtpClient { Timeout = (int)_settings.Timeout.TotalMilliseconds, CheckCertificateRevocation = false };
        try
        {
            await client.ConnectAsync(_settings.Submit.Host, _settings.Submit.Port, SecureSocketOptions.None, deadline.Token).ConfigureAwait(false);
            var reply = await client.SendAsync(message, _settings.Sender, [recipient], deadline.Token).ConfigureAwait(false);
            await client.DisconnectAsync(quit: true, deadline.Token).ConfigureAwait(false);
            return TlsRptDeliveryResult.Accepted($"submitted to {submit}: {TlsRptReportParser.OneLine(reply)}");
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (SmtpCommandException ex)
        {
            var detail = $"{submit} refused ({(int)ex.StatusCode} {TlsRptReportParser.OneLine(ex.Message)})";
            return (int)ex.StatusCode >= 500 ? TlsRptDeliveryResult.Permanent(detail) : TlsRptDeliveryResult.Temporary(detail);
        }
        catch (Exception ex) when (ex is OperationCanceledException or TimeoutException)
        {
            return TlsRptDeliveryResult.Temporary($"{submit}: no answer within {_settings.Timeout.TotalSeconds:0} s");
        }
        catch (Exception ex) when (ex is SmtpProtocolException or IOException or SocketException or ServiceNotConnectedException or SslHandshakeException)
        {
            return TlsRptDeliveryResult.Temporary($"{submit}: {TlsRptReportParser.OneLine(ex.Message)}");
        }
    }

    /// <summary>The address of a <c>mailto:</c> rua (percent-decoded, query dropped).</summary>
    internal static bool TryRecipient(Uri rua, out MailboxAddress recipient)
    {
        recipient = null!;
        if (rua.Scheme != "mailto")
        {
            return false;
        }
        var address = Uri.UnescapeDataString(rua.OriginalString["mailto:".Length..].Split('?', 2)[0]);
        if (!MailboxAddress.TryParse(ParserOptions.Default, address, out var parsed) || parsed.Address.IndexOf('@', StringComparison.Ordinal) <= 0)
        {
            return false;
        }
        recipient = parsed;
        return true;
    }
}
