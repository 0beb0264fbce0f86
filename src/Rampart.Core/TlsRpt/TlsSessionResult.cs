namespace Rampart.Core.TlsRpt;

/// <summary>
/// The outcome of one TLS session attempt of ours, under one policy, as a source reported it (Postfix 3.10's libtlsrpt
/// datagrams, Postfix 3.7's log joined with the daemon's decisions): the unit a sending report (RFC 8460 §4) counts.
/// The vocabulary is the report's: policy types are <see cref="TlsRptPolicyTypes"/>, result types
/// <see cref="TlsRptResultTypes"/>, the same strings the report reader keeps.
/// </summary>
/// <param name="ReportDomain">
/// The domain whose <c>_smtp._tls</c> record receives the report (libtlsrpt's <c>d</c>: Postfix's next-hop domain), in
/// lower case without a trailing dot. It may differ from <see cref="TlsSessionPolicy.PolicyDomain"/> (a DANE policy's
/// domain is the TLSA base domain).
/// </param>
/// <param name="TlsRptRecord">
/// The <c>_smtp._tls</c> TXT record the source saw (libtlsrpt's <c>pr</c>), or null when the source does not carry it
/// (libtlsrpt before 0.5.0; the log). A report goes to each distinct record's rua.
/// </param>
/// <param name="Policy">The policy the session was held to.</param>
/// <param name="Succeeded">The session's final result: true when it met the policy (libtlsrpt's <c>f</c> = 0).</param>
/// <param name="Failures">
/// What went wrong, most specific first; usually one entry on a failed session and none on a success. Sources do not
/// promise either (libtlsrpt checks neither), so both are kept as reported.
/// </param>
/// <param name="At">When the session ended (the log line's time) or was reported (a datagram's arrival); its UTC day is the report's day.</param>
public sealed record TlsSessionResult(
    string ReportDomain,
    string? TlsRptRecord,
    TlsSessionPolicy Policy,
    bool Succeeded,
    IReadOnlyList<TlsSessionFailure> Failures,
    DateTimeOffset At)
{
    /// <summary>The UTC day whose report counts this session.</summary>
    public DateOnly Day => DateOnly.FromDateTime(At.UtcDateTime);
}

/// <summary>The policy a session was held to: a report's <c>policy</c> object (RFC 8460 §4.4).</summary>
/// <param name="PolicyType"><see cref="TlsRptPolicyTypes.Sts"/>, <see cref="TlsRptPolicyTypes.Tlsa"/> or <see cref="TlsRptPolicyTypes.NoPolicyFound"/>.</param>
/// <param name="PolicyDomain">policy-domain, lower case; null when the source gave none (libtlsrpt omits a null domain, sys4 issue #51).</param>
/// <param name="PolicyStrings">policy-string: the MTA-STS policy's lines, or the TLSA records as "usage selector mtype HEX".</param>
/// <param name="MxHostPatterns">mx-host: the MTA-STS policy's mx patterns (empty for the other types).</param>
public sealed record TlsSessionPolicy(
    string PolicyType,
    string? PolicyDomain,
    IReadOnlyList<string> PolicyStrings,
    IReadOnlyList<string> MxHostPatterns)
{
    /// <summary>A session held to no policy (no DANE, no MTA-STS).</summary>
    public static TlsSessionPolicy NoPolicyFound { get; } = new(TlsRptPolicyTypes.NoPolicyFound, null, [], []);
}

/// <summary>One failure of a session: a report's failure-details entry before counting (RFC 8460 §4.3). Absent fields are null.</summary>
/// <param name="ResultType">One of <see cref="TlsRptResultTypes"/>.</param>
/// <param name="SendingMtaIp">sending-mta-ip: our address on the connection.</param>
/// <param name="ReceivingMxHostname">receiving-mx-hostname: the MX host we connected to.</param>
/// <param name="ReceivingMxHelo">receiving-mx-helo: the name the MX gave in its greeting or EHLO reply.</param>
/// <param name="ReceivingIp">receiving-ip: the MX host's address.</param>
/// <param name="AdditionalInformation">additional-information.</param>
/// <param name="FailureReasonCode">failure-reason-code (Postfix: OpenSSL's error text with '_' for spaces, or its own codes).</param>
public sealed record TlsSessionFailure(
    string ResultType,
    string? SendingMtaIp = null,
    string? ReceivingMxHostname = null,
    string? ReceivingMxHelo = null,
    string? ReceivingIp = null,
    string? AdditionalInformation = null,
    string? FailureReasonCode = null);
