using System.Globalization;
using MimeKit;

namespace Rampart.Core.TlsRpt;

/// <summary>What a message read as a bounce of one of our mailed reports turned out to be.</summary>
public enum TlsRptBounceKind
{
    /// <summary>No <c>message/delivery-status</c> part (RFC 3464): not a delivery status notification.</summary>
    NotADeliveryStatus,

    /// <summary>A delivery status notification about a message that is not a TLS report of ours (or that does not say which).</summary>
    NotOurReport,

    /// <summary>About one of our reports, but no recipient failed for good (delayed, delivered, relayed).</summary>
    NoPermanentFailure,

    /// <summary>About one of our reports, and at least one recipient failed for good (<c>Action: failed</c>, status 5.x.x).</summary>
    Bounced,
}

/// <summary>A recipient of one of our reports that the receiving side refused for good.</summary>
/// <param name="Address">The recipient (Final-Recipient, or Original-Recipient when that is all there is).</param>
/// <param name="Status">The RFC 3463 status, e.g. <c>5.1.1</c>.</param>
/// <param name="Diagnostic">The remote server's reply (Diagnostic-Code), one line; null when not given.</param>
public sealed record TlsRptBouncedRecipient(string Address, string Status, string? Diagnostic);

/// <summary>A delivery status notification read for the TLS-RPT sender.</summary>
/// <param name="Kind">What it is.</param>
/// <param name="ReportId">The report-id of the returned report (from its Subject, RFC 8460 §5.3), when returned.</param>
/// <param name="ReportDomain">The returned report's <c>TLS-Report-Domain</c>.</param>
/// <param name="Recipients">The recipients that failed for good (empty unless <see cref="TlsRptBounceKind.Bounced"/>).</param>
/// <param name="Detail">One line saying what was found.</param>
public sealed record TlsRptBounce(TlsRptBounceKind Kind, string? ReportId, string? ReportDomain, IReadOnlyList<TlsRptBouncedRecipient> Recipients, string Detail);

/// <summary>
/// Reads a bounce of one of our mailed reports: an RFC 3464 delivery status notification (<c>multipart/report;
/// report-type=delivery-status</c>, as Postfix, Exim and every MTA send them) whose returned message or headers
/// (<c>message/rfc822</c> or <c>text/rfc822-headers</c>) carry RFC 8460's <c>TLS-Report-Domain</c>. Only a message
/// that says it is about one of our reports is acted on: the caller then matches each recipient against the ruas our
/// reports were accepted for, so a forged bounce cannot suppress a rua we never sent to.
/// </summary>
public static class TlsRptBounceReader
{
    /// <summary>A bounce larger than this is not read (a DSN returns at most the report, which is small).</summary>
    public const long MaxBytes = 10 * 1024 * 1024;

    private const int MaxDiagnosticChars = 300;

    /// <summary>Parses a message from <paramref name="input"/> (at most <see cref="MaxBytes"/>) and reads it.</summary>
    /// <exception cref="FormatException">The input is larger than <see cref="MaxBytes"/> or not a message at all.</exception>
    public static async Task<TlsRptBounce> ReadAsync(Stream input, CancellationToken cancellationToken)
    {
        MimeMessage message;
        try
        {
            var bounded = new BoundedReadStream(input, MaxBytes, leaveOpen: true);
            await using (bounded.ConfigureAwait(false))
            {
                message = await MimeMessage.LoadAsync(bounded, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (TlsRptSizeLimitException)
        {
            throw new FormatException($"larger than {MaxBytes / (1024 * 1024)} MiB: not a bounce of a report (RFC 3464 returns at most the report)");
        }
        catch (FormatException ex) // MimeKit's ParseException, and the FormatException it throws for headers it cannot read
        {
            throw new FormatException("not an email message: " + TlsRptReportParser.OneLine(ex.Message));
        }
        return Read(message);
    }

    public static TlsRptBounce Read(MimeMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var status = message.BodyParts.OfType<MessageDeliveryStatus>().FirstOrDefault();
        if (status is null)
        {
            return new(TlsRptBounceKind.NotADeliveryStatus, null, null, [], "no message/delivery-status part: not a delivery status notification (RFC 3464)");
        }

        var returned = message.BodyParts.OfType<MessagePart>().Select(p => p.Message).FirstOrDefault(m => m is not null)?.Headers;
        var reportDomain = Clean(returned?["TLS-Report-Domain"]);
        if (returned is null || string.IsNullOrEmpty(reportDomain))
        {
            return new(TlsRptBounceKind.NotOurReport, null, null, [],
                returned is null
                    ? "the notification returns neither the message nor its headers, so it cannot be told to be about a TLS report"
                    : "the returned message has no TLS-Report-Domain header: not a TLS report (RFC 8460 §5.3)");
        }
        var reportId = ReportIdOf(returned[HeaderId.Subject]);

        var failed = new List<TlsRptBouncedRecipient>();
        var actions = new List<string>();
        foreach (var fields in status.StatusGroups.Skip(1)) // the first group is about the message, the rest one per recipient
        {
            var action = (fields["Action"] ?? "").Trim().ToLowerInvariant();
            var code = (fields["Status"] ?? "").Trim();
            actions.Add(action.Length == 0 ? "(no action)" : action);
            if (action != "failed" || !code.StartsWith("5.", StringComparison.Ordinal))
            {
                continue;
            }
            if ((Address(fields["Final-Recipient"]) ?? Address(fields["Original-Recipient"])) is { } address)
            {
                failed.Add(new(address, Clean(code) ?? "5.0.0", Diagnostic(fields["Diagnostic-Code"])));
            }
        }
        return failed.Count > 0
            ? new(TlsRptBounceKind.Bounced, reportId, reportDomain, failed,
                $"report {reportId ?? "(no report-id)"} about {reportDomain}: {failed.Count} recipient(s) refused for good")
            : new(TlsRptBounceKind.NoPermanentFailure, reportId, reportDomain, [],
                $"report {reportId ?? "(no report-id)"} about {reportDomain}: no recipient failed for good ({string.Join(", ", actions.DefaultIfEmpty("no recipients"))})");
    }

    /// <summary>The report-id of <c>Subject: Report Domain: D Submitter: S Report-ID: &lt;id&gt;</c> (RFC 8460 §5.3).</summary>
    internal static string? ReportIdOf(string? subject)
    {
        const string Marker = "Report-ID:";
        var at = subject?.IndexOf(Marker, StringComparison.OrdinalIgnoreCase) ?? -1;
        if (at < 0)
        {
            return null;
        }
        var id = subject![(at + Marker.Length)..].Trim().Trim('<', '>').Trim();
        return Clean(id);
    }

    /// <summary>The day in a report-id of ours (<c>YYYYMMDD.…</c>), when it has one.</summary>
    public static DateOnly? DayOf(string? reportId) =>
        reportId is { Length: > 9 } && reportId[8] == '.'
        && DateOnly.TryParseExact(reportId[..8], "yyyyMMdd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day)
            ? day
            : null;

    /// <summary>The address of <c>rfc822; user@example.org</c> (or the <c>utf-8</c> address type of RFC 6533).</summary>
    private static string? Address(string? field)
    {
        var parts = field?.Split(';', 2);
        if (parts is not { Length: 2 } || !(parts[0].Trim().Equals("rfc822", StringComparison.OrdinalIgnoreCase) || parts[0].Trim().Equals("utf-8", StringComparison.OrdinalIgnoreCase)))
        {
            return null;
        }
        var address = parts[1].Trim().Trim('<', '>');
        return address.Contains('@', StringComparison.Ordinal) && Clean(address) == address ? address : null;
    }

    /// <summary><c>smtp; 550 5.1.1 …</c> without its type, one line, bounded.</summary>
    private static string? Diagnostic(string? field)
    {
        if (Clean(field) is not { } text)
        {
            return null;
        }
        var semicolon = text.IndexOf(';', StringComparison.Ordinal);
        text = (semicolon >= 0 ? text[(semicolon + 1)..] : text).Trim();
        return text.Length > MaxDiagnosticChars ? text[..MaxDiagnosticChars] + "…" : text;
    }

    /// <summary>One line: folded and repeated whitespace made one space, control characters shown escaped (<see cref="DisplayText"/>); null when nothing is left.</summary>
    private static string? Clean(string? value)
    {
        if (value is null)
        {
            return null;
        }
        var text = DisplayText.Sanitize(string.Join(' ', value.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)), 2 * MaxDiagnosticChars);
        return text.Length == 0 ? null : text;
    }
}

/// <summary>What a bounce did to one recipient.</summary>
/// <param name="Recipient">The bounced recipient.</param>
/// <param name="Rua">The rua our report was accepted for, now suppressed; null when no report of ours was sent there.</param>
/// <param name="Requeued">The report was put back in the queue, to be offered to its next rua.</param>
public sealed record TlsRptBounceOutcome(TlsRptBouncedRecipient Recipient, string? Rua, bool Requeued);

/// <summary>
/// Acts on a bounce of one of our mailed reports: the <c>mailto:</c> rua it was accepted for (by the local MTA, which
/// then could not deliver it) is suppressed as if it had refused at once, and the report goes back into the queue, so
/// the next pass offers it to the record's other ruas (the bounced one now skipped; a report whose every rua is
/// suppressed is dropped, as the sender always does). A recipient no report of ours was sent to is left alone.
/// </summary>
public sealed class TlsRptBounceHandler(ITlsRptOutbox outbox, TimeProvider time, TimeSpan suppressFor)
{
    public async Task<IReadOnlyList<TlsRptBounceOutcome>> ApplyAsync(TlsRptBounce bounce, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(bounce);
        if (bounce.Kind != TlsRptBounceKind.Bounced)
        {
            return [];
        }
        // Our report-ids start with their day: only that day's reports are read. Without one the bounce cannot be tied
        // to a report of ours, and nothing is changed (nor is the whole outbox read to guess).
        if (TlsRptBounceReader.DayOf(bounce.ReportId) is not { } day)
        {
            return [.. bounce.Recipients.Select(r => new TlsRptBounceOutcome(r, null, false))];
        }
        var entries = await outbox.ListAsync(day, cancellationToken).ConfigureAwait(false);
        var outcomes = new List<TlsRptBounceOutcome>();
        foreach (var recipient in bounce.Recipients)
        {
            var sent = entries
                .Where(e => e.SentTo is { } rua && IsMailedTo(rua, recipient.Address) && e.Report.Report.ReportId == bounce.ReportId)
                .ToList();
            if (sent.Count == 0)
            {
                outcomes.Add(new(recipient, null, false));
                continue;
            }
            var now = time.GetUtcNow();
            var rua = sent[0].SentTo!;
            var reason = $"bounced {recipient.Status}" + (recipient.Diagnostic is { } why ? ": " + why : "");
            await outbox.SuppressAsync(new TlsRptSuppression(rua, now + suppressFor, reason), cancellationToken).ConfigureAwait(false);
            var requeued = false;
            foreach (var entry in sent.Where(e => e.State == TlsRptOutboxState.Sent))
            {
                await outbox.UpdateAsync(entry.Id, TlsRptOutboxState.Pending, now, entry.Attempts, $"{rua} {reason}", null, cancellationToken).ConfigureAwait(false);
                requeued = true;
            }
            outcomes.Add(new(recipient, rua, requeued));
        }
        return outcomes;
    }

    private static bool IsMailedTo(string rua, string address) =>
        Uri.TryCreate(rua, UriKind.Absolute, out var uri)
        && TlsRptMailDelivery.TryRecipient(uri, out var recipient)
        && string.Equals(recipient.Address, address, StringComparison.OrdinalIgnoreCase);
}
