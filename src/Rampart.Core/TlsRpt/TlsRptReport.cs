namespace Rampart.Core.TlsRpt;

/// <summary>
/// One TLS-RPT aggregate report (RFC 8460 §4.4), as read from the reporter's JSON after the leniency of
/// <see cref="TlsRptReportParser"/>: times in UTC, domains in lower case without a trailing dot, empty strings read as
/// absent. Counts are kept exactly as the reporter gave them, even where they do not add up (see <see cref="Warnings"/>).
/// </summary>
/// <param name="OrganizationName">organization-name: who sent the report (part of the de-duplication key).</param>
/// <param name="StartDatetime">date-range.start-datetime, UTC.</param>
/// <param name="EndDatetime">date-range.end-datetime, UTC (some reporters end at 23:59:59, others at the next midnight).</param>
/// <param name="ContactInfo">contact-info, or null when absent, null or empty.</param>
/// <param name="ReportId">report-id (part of the de-duplication key).</param>
/// <param name="Policies">The policies[] entries, in the reporter's order.</param>
public sealed record TlsRptReport(
    string OrganizationName,
    DateTimeOffset StartDatetime,
    DateTimeOffset EndDatetime,
    string? ContactInfo,
    string ReportId,
    IReadOnlyList<TlsRptPolicyResult> Policies)
{
    /// <summary>Where the JSON bent RFC 8460 and how it was read (one line each); never a reason to drop the report.</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];

    /// <summary>Sum of the policies' total-successful-session-count.</summary>
    public long TotalSuccessful => Policies.Sum(p => p.TotalSuccessfulSessionCount);

    /// <summary>Sum of the policies' total-failure-session-count.</summary>
    public long TotalFailed => Policies.Sum(p => p.TotalFailureSessionCount);

    /// <summary>Sum of failed-session-count over every failure-details entry (may differ from <see cref="TotalFailed"/>).</summary>
    public long TotalFailureDetailSessions => Policies.Sum(p => p.FailureDetails.Sum(d => d.FailedSessionCount));
}

/// <summary>One policies[] entry of a report (RFC 8460 §4.4: policy, summary, failure-details).</summary>
/// <param name="PolicyType">policy-type as sent: <c>tlsa</c>, <c>sts</c>, <c>no-policy-found</c>, or an unknown value kept as it is.</param>
/// <param name="PolicyString">policy-string lines; a TLSA policy sent as one JSON-encoded array string is unpacked into its records.</param>
/// <param name="PolicyDomain">policy-domain in lower case; "" when the reporter left it out and nothing else names it.</param>
/// <param name="MxHosts">mx-host entries (a single string is read as a one-entry list).</param>
/// <param name="TotalSuccessfulSessionCount">summary.total-successful-session-count (0 when absent).</param>
/// <param name="TotalFailureSessionCount">summary.total-failure-session-count (0 when absent).</param>
/// <param name="FailureDetails">failure-details entries.</param>
public sealed record TlsRptPolicyResult(
    string PolicyType,
    IReadOnlyList<string> PolicyString,
    string PolicyDomain,
    IReadOnlyList<string> MxHosts,
    long TotalSuccessfulSessionCount,
    long TotalFailureSessionCount,
    IReadOnlyList<TlsRptFailureDetail> FailureDetails);

/// <summary>One failure-details entry (RFC 8460 §4.3, §4.4). Absent or empty fields are null.</summary>
/// <param name="ResultType">result-type as sent (lower case); unknown types are kept, see <see cref="TlsRptResultTypes.IsKnown"/>.</param>
/// <param name="SendingMtaIp">sending-mta-ip.</param>
/// <param name="ReceivingMxHostname">receiving-mx-hostname (also read from the misspelt receiving-mx-host-name).</param>
/// <param name="ReceivingMxHelo">receiving-mx-helo.</param>
/// <param name="ReceivingIp">receiving-ip.</param>
/// <param name="FailedSessionCount">failed-session-count.</param>
/// <param name="AdditionalInformation">additional-information (a URI per the RFC; free text in practice).</param>
/// <param name="FailureReasonCode">failure-reason-code (free text in practice).</param>
public sealed record TlsRptFailureDetail(
    string ResultType,
    string? SendingMtaIp,
    string? ReceivingMxHostname,
    string? ReceivingMxHelo,
    string? ReceivingIp,
    long FailedSessionCount,
    string? AdditionalInformation,
    string? FailureReasonCode);

/// <summary>The policy-type values of RFC 8460 §4.4.</summary>
public static class TlsRptPolicyTypes
{
    public const string Tlsa = "tlsa";
    public const string Sts = "sts";
    public const string NoPolicyFound = "no-policy-found";

    /// <summary>True for the three types RFC 8460 defines.</summary>
    public static bool IsKnown(string policyType) => policyType is Tlsa or Sts or NoPolicyFound;
}

/// <summary>The result-type values of RFC 8460 §4.3 (negotiation, DANE, MTA-STS failures).</summary>
public static class TlsRptResultTypes
{
    public const string StartTlsNotSupported = "starttls-not-supported";
    public const string CertificateHostMismatch = "certificate-host-mismatch";
    public const string CertificateExpired = "certificate-expired";
    public const string CertificateNotTrusted = "certificate-not-trusted";
    public const string ValidationFailure = "validation-failure";
    public const string TlsaInvalid = "tlsa-invalid";
    public const string DnssecInvalid = "dnssec-invalid";
    public const string DaneRequired = "dane-required";
    public const string StsPolicyFetchError = "sts-policy-fetch-error";
    public const string StsPolicyInvalid = "sts-policy-invalid";
    public const string StsWebpkiInvalid = "sts-webpki-invalid";

    /// <summary>Every type RFC 8460 §4.3 defines.</summary>
    public static IReadOnlyList<string> All { get; } =
    [
        StartTlsNotSupported, CertificateHostMismatch, CertificateExpired, CertificateNotTrusted, ValidationFailure,
        TlsaInvalid, DnssecInvalid, DaneRequired, StsPolicyFetchError, StsPolicyInvalid, StsWebpkiInvalid,
    ];

    /// <summary>True for a type RFC 8460 defines; other values are still stored and counted.</summary>
    public static bool IsKnown(string resultType) => All.Contains(resultType, StringComparer.Ordinal);
}
