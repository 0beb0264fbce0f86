namespace Rampart.Core.Check;

/// <summary>
/// One kind of finding: its stable id, usual severity, the fix to suggest (one sentence of at most
/// <see cref="MaxFixLength"/> characters, so a monitoring line stays readable), the rule it rests on, and the
/// <see cref="Detail"/> that did not fit in the fix.
/// </summary>
public sealed record CheckDefinition(string Id, CheckSeverity Severity, string Fix, string Reference)
{
    /// <summary>The longest fix text (tested over the catalogue).</summary>
    public const int MaxFixLength = 160;

    /// <summary>What the fix leaves out: the procedure, an example, the why; empty when the fix says it all.</summary>
    public string Detail { get; init; } = "";

    /// <summary>A finding of this kind about <paramref name="subject"/>; <paramref name="severity"/> overrides the usual one.</summary>
    public CheckFinding For(string subject, string message, CheckSeverity? severity = null) =>
        new(Id, severity ?? Severity, subject, message, Fix, Reference) { Detail = Detail };

    /// <summary>A finding of this kind that names the exact zone-file lines to publish (<see cref="CheckFinding.Records"/>).</summary>
    public CheckFinding ForWithRecords(string subject, string message, IReadOnlyList<string> records, CheckSeverity? severity = null) =>
        For(subject, message, severity) with { Records = records };
}

/// <summary>
/// Every finding <c>rampart check</c> can report. The ids are a contract (monitors match on them) and each one is
/// documented in docs/checks.md with its severity, meaning, fix and reference.
/// </summary>
public static class CheckCatalog
{
    private const string Docs = "docs/checks.md#";

    private const string TlsRptExample =
        "For example: _smtp._tls.<domain>. IN TXT \"v=TLSRPTv1; rua=mailto:tlsrpt@<domain>\" (a mailbox you read; https:// URIs are allowed too, comma-separated).";

    // --- MX (RFC 5321 §5.1, RFC 7505)
    public static readonly CheckDefinition MxOk = new("mx.ok", CheckSeverity.Ok, "", "RFC 5321 §5.1");
    public static readonly CheckDefinition MxLookupError = new("mx.lookup-error", CheckSeverity.Failure,
        "Make the MX RRset resolvable and validly signed (check the zone's signatures, DS and name servers); senders defer while it fails.", "RFC 7672 §2.2.1");
    public static readonly CheckDefinition MxDomainMissing = new("mx.domain-missing", CheckSeverity.Failure,
        "The domain does not exist (NXDOMAIN): check its spelling and delegation.", "RFC 5321 §5.1");
    public static readonly CheckDefinition MxNone = new("mx.none", CheckSeverity.Warning,
        "Publish MX records; without them senders fall back to the domain's address records, which neither DANE nor MTA-STS can protect well.", "RFC 5321 §5.1");
    public static readonly CheckDefinition MxNull = new("mx.null", CheckSeverity.Info,
        "Nothing to do if the domain accepts no mail; otherwise replace the null MX with real MX records.", "RFC 7505 §3");
    public static readonly CheckDefinition MxNullMixed = new("mx.null-mixed", CheckSeverity.Failure,
        "A null MX (\".\") must be the only MX record: remove it, or remove the others.", "RFC 7505 §3");
    public static readonly CheckDefinition MxDuplicate = new("mx.duplicate", CheckSeverity.Warning,
        "List each MX host once (keep the preference you mean).", "RFC 5321 §5.1");
    public static readonly CheckDefinition MxUnresolvable = new("mx.unresolvable", CheckSeverity.Failure,
        "Give the MX host an A or AAAA record, or remove it from the MX RRset.", "RFC 5321 §5.1");
    public static readonly CheckDefinition MxAddressLookupError = new("mx.address-lookup-error", CheckSeverity.Failure,
        "Make the MX host's address records resolvable and validly signed; DANE senders defer while they fail.", "RFC 7672 §2.2.2");

    // --- DNSSEC
    public static readonly CheckDefinition DnssecSigned = new("dnssec.signed", CheckSeverity.Ok, "", "RFC 4035 §3.2.3");
    public static readonly CheckDefinition DnssecInsecure = new("dnssec.insecure", CheckSeverity.Info,
        "Sign the zone and publish its DS in the parent to make DANE possible; until then only MTA-STS can protect it.", "RFC 7672 §2.1");
    public static readonly CheckDefinition DnssecHostInsecure = new("dnssec.mx-host-insecure", CheckSeverity.Info,
        "Sign the zone of this MX host (or use a host in a signed zone) so DANE can apply to it.", "RFC 7672 §2.2.2");
    public static readonly CheckDefinition DnssecRrsigExpiring = new("dnssec.rrsig-expiring", CheckSeverity.Warning,
        "Re-sign the zone (check that the signer runs automatically); expired signatures make every answer bogus and mail is deferred.", "RFC 4034 §3.1.5");

    // --- SMTP and TLS, per MX address
    public static readonly CheckDefinition SmtpStartTls = new("smtp.starttls", CheckSeverity.Ok, "", "RFC 3207 §4");
    public static readonly CheckDefinition SmtpUnreachable = new("smtp.unreachable", CheckSeverity.Failure,
        "Make port 25 of this address reachable (firewall, listener, routing), or remove the address from DNS.", "RFC 5321 §5.1");
    public static readonly CheckDefinition SmtpError = new("smtp.error", CheckSeverity.Failure,
        "Fix the SMTP service: it must greet with 220 and answer EHLO within the timeout.", "RFC 5321 §4.3.2");
    public static readonly CheckDefinition SmtpStartTlsMissing = new("smtp.starttls-missing", CheckSeverity.Failure,
        "Enable STARTTLS (Postfix: smtpd_tls_security_level = may, with smtpd_tls_chain_files).", "RFC 3207 §4");
    public static readonly CheckDefinition SmtpTlsFailed = new("smtp.tls-failed", CheckSeverity.Failure,
        "Fix the server's TLS setup (certificate and key files, protocols, ciphers); senders that require TLS defer.", "RFC 3207 §4");
    public static readonly CheckDefinition SmtpTlsVersionOld = new("smtp.tls-version-old", CheckSeverity.Failure,
        "Allow TLS 1.2 and 1.3 (Postfix: smtpd_tls_protocols = >=TLSv1.2).", "RFC 8996 §5");

    // --- certificates, per MX address
    public static readonly CheckDefinition CertValid = new("tls.cert.valid", CheckSeverity.Ok, "", "RFC 8461 §4.2");
    public static readonly CheckDefinition CertUntrusted = new("tls.cert.untrusted", CheckSeverity.Warning,
        "Use a certificate from a public CA with its full chain; DANE hosts may keep theirs (then this is informational).", "RFC 8461 §4.2");
    public static readonly CheckDefinition CertNameMismatch = new("tls.cert.name-mismatch", CheckSeverity.Warning,
        "Put the MX host name in the certificate's subjectAltName.", "RFC 8461 §4.2");
    public static readonly CheckDefinition CertExpired = new("tls.cert.expired", CheckSeverity.Warning,
        "Renew the certificate now (and check the renewal job).", "RFC 8461 §4.2");
    public static readonly CheckDefinition CertExpiring = new("tls.cert.expiring", CheckSeverity.Warning,
        "Renew the certificate before it expires; with DANE, publish the next key's TLSA first (docs/dane.md).", "RFC 8461 §4.2");

    // --- DANE (RFC 7672)
    public static readonly CheckDefinition DaneMatch = new("dane.tlsa.match", CheckSeverity.Ok, "", "RFC 7672 §3");
    public static readonly CheckDefinition DaneNoMatch = new("dane.tlsa.no-match", CheckSeverity.Failure,
        "Publish the TLSA record of the certificate the server presents now (the records given; rampart tlsa generate --host), or put the previous certificate back.",
        "RFC 7672 §3")
    {
        Detail = "The certificate was changed before its TLSA record was published: DANE senders defer until a matching record is visible, " +
                 "or until the previous certificate is back. " + RotationRunbook.Steps,
    };
    public static readonly CheckDefinition DaneUnverified = new("dane.tlsa.unverified", CheckSeverity.Failure,
        "Fix STARTTLS on this address: TLSA records are published but no TLS session could be made to check them, so DANE senders defer.", "RFC 7672 §2.2");
    public static readonly CheckDefinition DaneLookupError = new("dane.tlsa.lookup-error", CheckSeverity.Failure,
        "Fix the TLSA RRset's signatures (re-sign, check for a broken or stripped RRSIG); a lookup error is never treated as 'no TLSA' and senders defer.", "RFC 7672 §2.2");
    public static readonly CheckDefinition DaneNone = new("dane.tlsa.none", CheckSeverity.Info,
        "Publish TLSA records (e.g. '3 1 1' of the server key and '2 1 1' of its issuer) to protect this host with DANE.", "RFC 7672 §2.2");
    public static readonly CheckDefinition DaneUnusable = new("dane.tlsa.unusable", CheckSeverity.Warning,
        "Replace usage 0/1 (or malformed) records with usable DANE-EE (3) or DANE-TA (2) records; senders must use TLS but cannot authenticate.", "RFC 7672 §3.1.3");
    public static readonly CheckDefinition DaneSomeUnusable = new("dane.tlsa.some-unusable", CheckSeverity.Info,
        "Remove the unusable TLSA records: SMTP senders ignore them.", "RFC 7672 §3.1.3");
    public static readonly CheckDefinition DaneRolloverReady = new("dane.tlsa.rollover-ready", CheckSeverity.Ok, "", "RFC 7671 §8.1");
    public static readonly CheckDefinition DaneRolloverNotReady = new("dane.tlsa.rollover-not-ready", CheckSeverity.Info,
        "Publish a second record (the next key's '3 1 1', or the issuer's '2 1 1') so a certificate change does not break delivery.", "RFC 7671 §8.1");
    public static readonly CheckDefinition DaneRotationReady = new("dane.rotation.ready", CheckSeverity.Ok, "", "RFC 7671 §8.1");
    public static readonly CheckDefinition DaneRotationNextNotCovered = new("dane.rotation.next-not-covered", CheckSeverity.Warning,
        "Publish the next certificate's TLSA record (the records given) beside the current one, and deploy the certificate only after the TLSA TTL has passed.",
        "RFC 7671 §8.1")
    {
        Detail = RotationRunbook.Steps,
    };
    public static readonly CheckDefinition DaneRotationNotApplicable = new("dane.rotation.not-applicable", CheckSeverity.Info,
        "No TLSA record to update: deploy the next certificate when ready (with MTA-STS it must be WebPKI-valid for the MX host name).", "RFC 7672 §2.2");
    public static readonly CheckDefinition DanePartial = new("dane.partial", CheckSeverity.Warning,
        "Publish TLSA records for every MX host: senders fall back to opportunistic TLS towards the hosts without them.", "RFC 7672 §2.2.1");

    // --- MTA-STS (RFC 8461)
    public static readonly CheckDefinition StsNone = new("mta-sts.none", CheckSeverity.Info,
        "Publish an MTA-STS policy (rampart publish) to protect senders that do not use DANE.", "RFC 8461 §3");
    public static readonly CheckDefinition StsTxtLookupError = new("mta-sts.txt.lookup-error", CheckSeverity.Failure,
        "Make _mta-sts.<domain> TXT resolvable and validly signed.", "RFC 8461 §3.1");
    public static readonly CheckDefinition StsTxtMultiple = new("mta-sts.txt.multiple", CheckSeverity.Failure,
        "Keep exactly one 'v=STSv1' TXT record at _mta-sts.<domain>; with more, senders see no policy.", "RFC 8461 §3.1");
    public static readonly CheckDefinition StsTxtInvalid = new("mta-sts.txt.invalid", CheckSeverity.Failure,
        "Fix the TXT record: 'v=STSv1; id=<1-32 letters and digits>;'.", "RFC 8461 §3.1");
    public static readonly CheckDefinition StsFetchFailed = new("mta-sts.fetch.failed", CheckSeverity.Failure,
        "Serve https://mta-sts.<domain>/.well-known/mta-sts.txt with status 200, text/plain, a WebPKI-valid certificate, no redirect, under 64 KiB.", "RFC 8461 §3.3");
    public static readonly CheckDefinition StsPolicyInvalid = new("mta-sts.policy.invalid", CheckSeverity.Failure,
        "Fix the policy text (rampart mta-sts parse FILE shows every error); senders ignore an invalid policy.", "RFC 8461 §3.2");
    public static readonly CheckDefinition StsPolicyWarning = new("mta-sts.policy.warning", CheckSeverity.Warning,
        "Clean up the policy text (rampart mta-sts parse FILE).", "RFC 8461 §3.2");
    public static readonly CheckDefinition StsPolicyOk = new("mta-sts.policy.ok", CheckSeverity.Ok, "", "RFC 8461 §3.2");
    public static readonly CheckDefinition StsModeNone = new("mta-sts.policy.mode-none", CheckSeverity.Info,
        "Mode none withdraws the policy; switch to testing, then enforce, when ready.", "RFC 8461 §3.2");
    public static readonly CheckDefinition StsTesting = new("mta-sts.policy.testing", CheckSeverity.Info,
        "Watch TLS-RPT reports, then switch to mode: enforce (and change the TXT id).", "RFC 8461 §5");
    public static readonly CheckDefinition StsMaxAgeShort = new("mta-sts.policy.max-age-short", CheckSeverity.Warning,
        "Raise max_age (RFC 8461 suggests weeks, e.g. 604800 or more): a short max_age lets an attacker who blocks the fetch wait the policy out.", "RFC 8461 §3.2");
    public static readonly CheckDefinition StsTestingMaxAgeLong = new("mta-sts.policy.testing-max-age-long", CheckSeverity.Warning,
        "Keep max_age short while testing (a day or so) and raise it with mode: enforce; a long testing max_age keeps senders unprotected that long.", "RFC 8461 §5");
    public static readonly CheckDefinition StsTestingTooLong = new("mta-sts.policy.testing-too-long", CheckSeverity.Warning,
        "Move the policy to mode: enforce (and change the TXT id) once TLS-RPT reports show no failures, or record why it must stay in testing.", "RFC 8461 §5")
    {
        Detail = "A testing policy reports failures but never protects mail, so a long test leaves senders open to downgrades all that time.",
    };
    public static readonly CheckDefinition StsMxNotCovered = new("mta-sts.policy.mx-not-covered", CheckSeverity.Failure,
        "Add an mx line for this host (and change the TXT id), or change the MX: policy-compliant senders refuse a host the policy does not list.", "RFC 8461 §4.1");
    public static readonly CheckDefinition StsPatternUnused = new("mta-sts.policy.pattern-unused", CheckSeverity.Warning,
        "Remove the mx pattern (and change the TXT id) or restore the MX it was for.", "RFC 8461 §4.1");
    public static readonly CheckDefinition StsEnforceReady = new("mta-sts.enforce.ready", CheckSeverity.Ok, "", "RFC 8461 §4.2");
    public static readonly CheckDefinition StsWebPkiInvalid = new("mta-sts.enforce.webpki-invalid", CheckSeverity.Failure,
        "Give every MX a WebPKI-valid certificate for its name before (or instead of) mode: enforce; enforcing senders refuse this host.", "RFC 8461 §4.2");

    public static readonly CheckDefinition StsRotationNextWebPkiOk = new("mta-sts.rotation.next-webpki-ok", CheckSeverity.Ok, "", "RFC 8461 §4.1");
    public static readonly CheckDefinition StsRotationNextWebPkiInvalid = new("mta-sts.rotation.next-webpki-invalid", CheckSeverity.Failure,
        "Do not deploy this certificate on the MX host; get one from a public CA, full chain leaf first, valid now, naming the MX host in its subjectAltName.",
        "RFC 8461 §4.1")
    {
        Detail = "MTA-STS senders would refuse it (mode enforce) or report it (mode testing).",
    };
    public static readonly CheckDefinition StsRotationNextWebPkiExpiring = new("mta-sts.rotation.next-webpki-expiring", CheckSeverity.Warning,
        "Deploy a certificate with a longer life (renew it again first); this one expires soon after it would be deployed.", "RFC 8461 §4.1");

    // --- TLS-RPT (RFC 8460)
    public static readonly CheckDefinition TlsRptOk = new("tls-rpt.ok", CheckSeverity.Ok, "", "RFC 8460 §3");
    public static readonly CheckDefinition TlsRptNone = new("tls-rpt.none", CheckSeverity.Info,
        "Publish a TLS-RPT record at _smtp._tls.<domain> to hear about TLS failures.", "RFC 8460 §3")
    {
        Detail = TlsRptExample,
    };
    public static readonly CheckDefinition TlsRptLookupError = new("tls-rpt.lookup-error", CheckSeverity.Warning,
        "Make _smtp._tls.<domain> TXT resolvable.", "RFC 8460 §3");
    public static readonly CheckDefinition TlsRptMultiple = new("tls-rpt.multiple", CheckSeverity.Warning,
        "Keep exactly one 'v=TLSRPTv1' record; with more, senders send no reports.", "RFC 8460 §3");
    public static readonly CheckDefinition TlsRptInvalid = new("tls-rpt.invalid", CheckSeverity.Warning,
        "Fix the record: 'v=TLSRPTv1; rua=mailto:tlsrpt@example.org'.", "RFC 8460 §3");
    public static readonly CheckDefinition TlsRptRuaInvalid = new("tls-rpt.rua-invalid", CheckSeverity.Warning,
        "Use mailto:user@domain or https://host/path URIs in rua, separated by commas.", "RFC 8460 §3");

    // --- DANE and MTA-STS together
    public static readonly CheckDefinition ConsistencyDaneAndSts = new("consistency.dane-and-sts", CheckSeverity.Info,
        "Keep both in step on every MX change: DANE senders use TLSA, the others the MTA-STS policy.", "RFC 8461 §2");
    public static readonly CheckDefinition ConsistencyDaneHostFailsSts = new("consistency.dane-host-fails-sts", CheckSeverity.Warning,
        "This host is DANE-authenticated but its certificate fails WebPKI, which the MTA-STS policy requires: fix the certificate or drop the host from the policy.", "RFC 8461 §2");
    public static readonly CheckDefinition ConsistencyTlsRptMissing = new("consistency.tls-rpt-missing", CheckSeverity.Info,
        "Publish a TLS-RPT record at _smtp._tls.<domain>, so you hear when senders fail to deliver over TLS.", "RFC 8460 §1")
    {
        Detail = TlsRptExample,
    };

    // --- the run itself
    public static readonly CheckDefinition DomainInvalid = new("check.domain-invalid", CheckSeverity.Failure,
        "Give a domain name such as example.org.", Docs + "check-domain-invalid");

    /// <summary>Every definition, in documentation order.</summary>
    public static IReadOnlyList<CheckDefinition> All { get; } = typeof(CheckCatalog)
        .GetFields(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static)
        .Where(f => f.FieldType == typeof(CheckDefinition))
        .Select(f => (CheckDefinition)f.GetValue(null)!)
        .ToList();
}
