using System.Net;
using Rampart.Core.Dane;
using Rampart.Core.Dns;
using Rampart.Core.MtaSts;
using Rampart.Core.Smtp;
using Rampart.Core.Tls;

namespace Rampart.Core.Check;

/// <summary>
/// Everything <c>rampart check</c> gathered about one domain before judging it: DNS answers, the MTA-STS fetch, what
/// every MX address presented. The checks are pure functions of this, so they are tested without a network.
/// </summary>
public sealed record DomainObservation(
    string Domain,
    DateTimeOffset Time,
    DnsResult<MxRecord> Mx,
    IReadOnlyList<MxHostObservation> Hosts,
    IReadOnlyList<DnsSignature> MxSignatures,
    MtaStsObservation MtaSts,
    DnsResult<string> TlsRpt)
{
    /// <summary>
    /// The WebPKI verdicts on the next certificates (<c>--next-cert</c>) for each MX host they name, made only when the
    /// domain has an MTA-STS policy in mode testing or enforce; empty otherwise.
    /// </summary>
    public IReadOnlyList<NextCertificateWebPki> NextWebPki { get; init; } = [];

    /// <summary>True when the MX RRset is exactly one null MX (RFC 7505).</summary>
    public bool IsNullMx => Mx.Outcome == DnsOutcome.Records && Mx.Records.Count == 1 && Mx.Records[0].Exchange.Length == 0;
}

/// <summary>One MX host: its addresses, its DANE status (null when DANE cannot apply: addresses not secure or missing), and each address probed.</summary>
public sealed record MxHostObservation(
    string Host,
    ushort Preference,
    DnsResult<IPAddress> Addresses,
    DaneHostResult? Dane,
    IReadOnlyList<AddressObservation> Probes,
    IReadOnlyList<DnsSignature> Signatures)
{
    /// <summary>True when DNSSEC-validated, usable TLSA records exist for this host.</summary>
    public bool HasUsableTlsa => Dane?.Status == DaneHostStatus.Usable;

    /// <summary>True when every address is DANE-authenticated.</summary>
    public bool DaneAuthenticated => HasUsableTlsa && Probes.Count > 0 && Probes.All(p => p.DaneMatch?.Matched == true);
}

/// <summary>
/// One MX address: what the STARTTLS probe saw (with <see cref="ServerName"/> as SNI), the WebPKI verdict for the MX
/// host name, and the DANE match when the host has usable TLSA records (null otherwise or when no TLS session was made).
/// </summary>
public sealed record AddressObservation(
    IPAddress Address,
    string? ServerName,
    SmtpTlsProbeResult Probe,
    WebPkiVerdict? WebPki,
    DaneMatchResult? DaneMatch);

/// <summary>MTA-STS discovery, fetch and parse for one domain; later steps are null when an earlier one stopped.</summary>
public sealed record MtaStsObservation(
    DnsResult<string> Txt,
    MtaStsTxtLookup? Lookup,
    MtaStsFetchResult? Fetch,
    MtaStsParseResult? Parse)
{
    public MtaStsPolicy? Policy => Parse?.Policy;
}

/// <summary>
/// How an MTA-STS sender would judge a next certificate deployed on one MX host (RFC 8461 §4.1): the WebPKI verdict of its
/// chain (the same trust as the probe: system store plus <c>--ca-file</c>) for <see cref="Host"/>, at the check's time.
/// </summary>
public sealed record NextCertificateWebPki(NextCertificate Certificate, string Host, WebPkiVerdict Verdict);
