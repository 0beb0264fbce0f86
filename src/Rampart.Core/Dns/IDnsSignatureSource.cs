namespace Rampart.Core.Dns;

/// <summary>
/// The RRSIG records covering one RRset (RFC 4034 §3), as the resolver returned them with the answer (DO bit set).
/// Used by the auditor to warn before signatures expire; validation itself stays with the validating resolver (AD).
/// </summary>
public interface IDnsSignatureSource
{
    /// <summary>
    /// RRSIGs at <paramref name="name"/> covering <paramref name="type"/> ("MX", "A", "AAAA", "TLSA", "TXT"…).
    /// NoData when the answer carried none (an unsigned zone); LookupError as for any other query.
    /// </summary>
    Task<DnsResult<DnsSignature>> QuerySignaturesAsync(string name, string type, CancellationToken cancellationToken);
}

/// <summary>One RRSIG's validity window and signer (RFC 4034 §3.1.5: inception and expiration).</summary>
public sealed record DnsSignature(string Owner, string CoveredType, string Signer, DateTimeOffset Inception, DateTimeOffset Expiration);
