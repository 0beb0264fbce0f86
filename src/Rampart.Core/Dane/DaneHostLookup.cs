using System.Net;
using Rampart.Core.Dns;
using Rampart.Core.Policy;

namespace Rampart.Core.Dane;

/// <summary>What DNSSEC says about one MX host (RFC 7672 §2.2, the outcome table).</summary>
public enum DaneHostStatus
{
    /// <summary>Secure TLSA records, at least one usable: the host is DANE-authenticated.</summary>
    Usable,
    /// <summary>Secure TLSA records, none usable: TLS is mandatory but unauthenticated (RFC 7672 §2.2 "encrypt").</summary>
    AllUnusable,
    /// <summary>Secure address records, securely no TLSA: DANE does not apply to this host.</summary>
    NoTlsa,
    /// <summary>Address or TLSA records not DNSSEC-signed: DANE does not apply to this host.</summary>
    Insecure,
    /// <summary>The host has no address (NXDOMAIN/NODATA): it cannot receive mail.</summary>
    NoAddress,
    /// <summary>SERVFAIL, timeout, bogus: delivery must be deferred, never downgraded (RFC 7672 §2.1.1).</summary>
    LookupError,
}

/// <summary>The DANE verdict for one MX host, with the TLSA base domain (which is also the SNI name, RFC 7672 §8.1).</summary>
public sealed record DaneHostResult(
    string Host,
    DaneHostStatus Status,
    string? TlsaBaseDomain,
    IReadOnlyList<TlsaRecord> Records,
    Evidence Evidence)
{
    public IReadOnlyList<IPAddress> Addresses { get; init; } = [];

    public IEnumerable<TlsaRecord> UsableRecords => Records.Where(r => r.IsUsable);

    public static string StatusName(DaneHostStatus status) => status switch
    {
        DaneHostStatus.Usable => "usable",
        DaneHostStatus.AllUnusable => "all-unusable",
        DaneHostStatus.NoTlsa => "no-tlsa",
        DaneHostStatus.Insecure => "insecure",
        DaneHostStatus.NoAddress => "no-address",
        _ => "lookup-error",
    };
}

/// <summary>
/// TLSA discovery for an MX host per RFC 7672 §2.2: the address records must be secure before any TLSA lookup;
/// TLSA is looked up at <c>_25._tcp.</c> + the CNAME-expanded name first, then at the original name when the expanded
/// name securely has none; the name that produced the records is the TLSA base domain. Any lookup error is an error,
/// never "insecure".
/// </summary>
public sealed class DaneHostLookup(IDnsResolver dns, int port = 25)
{
    public string TlsaName(string host) => DaneNames.TlsaOwner(host, port);

    public async Task<DaneHostResult> LookupAsync(string host, CancellationToken cancellationToken)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp(); // the evidence is timed from the address lookup to the last TLSA answer
        var addresses = await dns.QueryAddressesAsync(host, cancellationToken).ConfigureAwait(false);
        switch (addresses.Outcome)
        {
            case DnsOutcome.LookupError:
                return Result(DaneHostStatus.LookupError, null, [], EvidenceOutcome.Fail,
                    $"{host}: address lookup failed: {addresses.ErrorMessage}; deferring", "RFC 7672 §2.2.2");
            case DnsOutcome.NxDomain or DnsOutcome.NoData:
                return Result(DaneHostStatus.NoAddress, null, [], EvidenceOutcome.Warning,
                    $"{host}: no address record ({addresses.Describe()})", "RFC 7672 §2.2.2");
        }
        if (!addresses.IsSecure)
        {
            return Result(DaneHostStatus.Insecure, null, [], EvidenceOutcome.Info,
                $"{host}: address records are not DNSSEC-signed, so no TLSA lookup", "RFC 7672 §2.2.2");
        }

        var expanded = addresses.CanonicalName;
        var candidates = expanded.Equals(host, StringComparison.OrdinalIgnoreCase) ? [host] : new[] { expanded, host };
        var notes = new List<string>();
        foreach (var name in candidates)
        {
            var tlsaName = TlsaName(name);
            var tlsa = await dns.QueryTlsaAsync(tlsaName, cancellationToken).ConfigureAwait(false);
            if (tlsa.IsLookupError)
            {
                return Result(DaneHostStatus.LookupError, null, [], EvidenceOutcome.Fail,
                    $"{host}: TLSA lookup at {tlsaName} failed: {tlsa.ErrorMessage}; deferring, never treating it as insecure", "RFC 7672 §2.2");
            }
            if (tlsa.Outcome == DnsOutcome.Records && tlsa.IsSecure)
            {
                var records = tlsa.Records.Select(TlsaRecord.FromData).ToList();
                var usable = records.Count(r => r.IsUsable);
                var where = name == host ? tlsaName : $"{tlsaName} (CNAME-expanded from {host})";
                if (usable == 0)
                {
                    return Result(DaneHostStatus.AllUnusable, name, records, EvidenceOutcome.Warning,
                        $"{host}: {records.Count} TLSA record(s) at {where}, none usable ({records[0].UnusableReason}): TLS is mandatory, unauthenticated",
                        "RFC 7672 §2.2");
                }
                return Result(DaneHostStatus.Usable, name, records, EvidenceOutcome.Pass,
                    $"{host}: {usable} usable TLSA record(s) at {where}: {string.Join(", ", records.Where(r => r.IsUsable).Select(Short))}; SNI {name}",
                    "RFC 7672 §2.2");
            }
            notes.Add(tlsa.Outcome == DnsOutcome.Records ? $"{tlsaName}: TLSA not DNSSEC-signed" : $"{tlsaName}: {tlsa.Describe()}");
        }
        return Result(DaneHostStatus.NoTlsa, null, [], EvidenceOutcome.Info, $"{host}: no secure TLSA records ({string.Join("; ", notes)})", "RFC 7672 §2.2");

        DaneHostResult Result(DaneHostStatus status, string? baseDomain, IReadOnlyList<TlsaRecord> records, EvidenceOutcome outcome, string message, string reference) =>
            new(host, status, baseDomain, records, new Evidence("dane", outcome, message, reference).Timed(started)) { Addresses = addresses.Records };
    }

    private static string Short(TlsaRecord r)
    {
        var text = r.ToString();
        return text.Length > 24 ? text[..24] + "…" : text;
    }
}
