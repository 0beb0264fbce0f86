namespace Rampart.Core.TlsRpt;

/// <summary>How one attempt to hand a report to one rua ended.</summary>
public enum TlsRptDeliveryStatus
{
    /// <summary>Accepted (SMTP 250 from the submission server, HTTP 2xx): the report is sent.</summary>
    Accepted,

    /// <summary>Not now (connection refused, timeout, SMTP 4xx, HTTP 5xx/408/429, a certificate problem): try again later.</summary>
    TemporaryFailure,

    /// <summary>Never (SMTP 5xx, HTTP 4xx): the rua goes on the suppression list.</summary>
    PermanentFailure,
}

/// <summary>The outcome of one attempt, with one line saying what the other side said.</summary>
public sealed record TlsRptDeliveryResult(TlsRptDeliveryStatus Status, string Detail)
{
    public static TlsRptDeliveryResult Accepted(string detail) => new(TlsRptDeliveryStatus.Accepted, detail);

    public static TlsRptDeliveryResult Temporary(string detail) => new(TlsRptDeliveryStatus.TemporaryFailure, detail);

    public static TlsRptDeliveryResult Permanent(string detail) => new(TlsRptDeliveryStatus.PermanentFailure, detail);
}

/// <summary>Hands a report to one rua of one scheme (RFC 8460 §5): <c>mailto</c> or <c>https</c>.</summary>
public interface ITlsRptDelivery
{
    /// <summary>The URI scheme this delivery serves.</summary>
    string Scheme { get; }

    /// <summary>One attempt; never throws for what the network or the other side does (cancellation aside).</summary>
    Task<TlsRptDeliveryResult> DeliverAsync(Uri rua, OutgoingTlsRptReport report, CancellationToken cancellationToken);
}
