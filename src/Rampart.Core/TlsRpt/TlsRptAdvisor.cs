namespace Rampart.Core.TlsRpt;

/// <summary>One piece of advice on a domain's reports: what the numbers mean and what to fix (docs/tlsrpt.md explains each id).</summary>
/// <param name="Id">Stable id: <c>failure-rate</c>, or <c>result-type:&lt;type&gt;</c>.</param>
/// <param name="Severity"><c>info</c>, <c>warning</c> or <c>failure</c>.</param>
/// <param name="Message">What the reports show.</param>
/// <param name="Fix">What to do about it.</param>
public sealed record TlsRptAdvice(string Id, string Severity, string Message, string Fix);

/// <summary>Failure-rate thresholds: at <see cref="WarningRate"/> a warning, at <see cref="FailureRate"/> a failure.</summary>
public sealed record TlsRptAdviceSettings
{
    /// <summary>Share of failed sessions from which senders are clearly having trouble (default 1 %).</summary>
    public double WarningRate { get; init; } = 0.01;

    /// <summary>Share of failed sessions from which mail is at risk of being deferred or sent in clear (default 5 %).</summary>
    public double FailureRate { get; init; } = 0.05;
}

/// <summary>Turns a domain summary into advice: the overall failure rate against thresholds, then each result type seen.</summary>
public static class TlsRptAdvisor
{
    public static IReadOnlyList<TlsRptAdvice> Advise(TlsRptDomainSummary domain, TlsRptAdviceSettings? settings = null)
    {
        ArgumentNullException.ThrowIfNull(domain);
        settings ??= new TlsRptAdviceSettings();
        var advice = new List<TlsRptAdvice>();
        var rate = domain.FailureRate;
        if (domain.Failed > 0)
        {
            var severity = rate >= settings.FailureRate ? "failure" : rate >= settings.WarningRate ? "warning" : "info";
            var meaning = severity switch
            {
                "failure" => "Senders that enforce DANE or MTA-STS defer mail to you on these failures; senders that do not may deliver in clear.",
                "warning" => "Some senders cannot set up a verified TLS session with your MX hosts.",
                _ => "A few sessions failed; below the warning threshold, but worth a look if it persists.",
            };
            advice.Add(new TlsRptAdvice(
                "failure-rate", severity,
                $"{domain.Failed} of {domain.Successful + domain.Failed} reported sessions failed ({rate:P1}). {meaning}",
                domain.FailureTypes.Count > 0
                    ? $"Start with the most frequent result type ({domain.FailureTypes.First().Key}) and the MX hosts listed under failures."
                    : "The reports give no failure details: compare your MX certificates, TLSA records and MTA-STS policy with 'rampart check'."));
        }
        foreach (var (type, sessions) in domain.FailureTypes)
        {
            var (message, fix) = Explain(type, domain.PolicyDomain);
            advice.Add(new TlsRptAdvice($"result-type:{type}", sessions > 0 && rate >= settings.WarningRate ? "warning" : "info",
                $"{sessions} session(s) failed with {type}: {message}", fix));
        }
        return advice;
    }

    /// <summary>What a result type means for <paramref name="policyDomain"/> and the usual fix, with the domain named where the text says &lt;domain&gt;.</summary>
    public static (string Meaning, string Fix) Explain(string resultType, string policyDomain)
    {
        var (meaning, fix) = Explain(resultType);
        return policyDomain.Length == 0 ? (meaning, fix) : (meaning.Replace("<domain>", policyDomain, StringComparison.Ordinal), fix.Replace("<domain>", policyDomain, StringComparison.Ordinal));
    }

    /// <summary>What a result type means for the receiving domain and the usual fix (RFC 8460 §4.3).</summary>
    public static (string Meaning, string Fix) Explain(string resultType) => resultType switch
    {
        TlsRptResultTypes.StartTlsNotSupported => (
            "an MX host did not offer STARTTLS (or something on the path stripped it).",
            "Enable STARTTLS on every MX (Postfix: smtpd_tls_security_level = may with a certificate); if it is enabled, look for a middlebox stripping it."),
        TlsRptResultTypes.CertificateHostMismatch => (
            "an MX host presented a certificate that does not name it.",
            "Give each MX a certificate whose SAN lists its MX host name (the name in your MX records and MTA-STS mx: lines)."),
        TlsRptResultTypes.CertificateExpired => (
            "an MX host presented an expired certificate.",
            "Renew the certificate and reload the MTA; automate renewal, and roll TLSA records before the key changes (docs/publishing.md#tlsa-rotation-runbook-certificate-or-key-change-on-an-mx)."),
        TlsRptResultTypes.CertificateNotTrusted => (
            "the MX certificate does not chain to a CA the sender trusts.",
            "Use a WebPKI certificate for MTA-STS and send the full chain (smtpd_tls_chain_files); self-signed works only with DANE-EE."),
        TlsRptResultTypes.ValidationFailure => (
            "the sender could not validate the MX (a generic failure, often an MX not covered by the MTA-STS policy).",
            "Check that every MX host matches an mx: line of your MTA-STS policy and presents a valid certificate ('rampart check')."),
        TlsRptResultTypes.TlsaInvalid => (
            "the MX certificate matches none of the published TLSA records.",
            "Publish TLSA records for the current certificate or key ('rampart tlsa generate'); publish the new record before rotating keys."),
        TlsRptResultTypes.DnssecInvalid => (
            "the sender's resolver found your DNSSEC broken (bogus signatures, expired RRSIGs).",
            "Fix the zone's signing (expired signatures, DS mismatch at the parent); until then DANE senders defer mail."),
        TlsRptResultTypes.DaneRequired => (
            "the sender requires DANE but found no usable TLSA records.",
            "Publish usable TLSA records (usage 2 or 3) for every MX in a signed zone."),
        TlsRptResultTypes.StsPolicyFetchError => (
            "the MTA-STS policy could not be fetched from https://mta-sts.<domain>/.well-known/mta-sts.txt.",
            "Make https://mta-sts.<domain>/.well-known/mta-sts.txt answer 200 with Content-Type text/plain, a valid certificate and no redirect."),
        TlsRptResultTypes.StsPolicyInvalid => (
            "the MTA-STS policy file did not parse.",
            "Validate it with 'rampart mta-sts parse' and fix every error (version, mode, max_age, mx lines)."),
        TlsRptResultTypes.StsWebpkiInvalid => (
            "the certificate of the MTA-STS policy host (mta-sts.<domain>) was not valid.",
            "Give mta-sts.<domain> a WebPKI certificate that names it and send the full chain."),
        _ => (
            "a result type RFC 8460 does not define; the reporter's own words.",
            "Read failure_reason_code and additional-information in the stored report, or ask the reporter's contact-info."),
    };
}
