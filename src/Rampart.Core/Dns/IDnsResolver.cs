using System.Net;

namespace Rampart.Core.Dns;

/// <summary>
/// The validating-resolver client every part of Rampart asks (MTA-STS discovery, the policy fetch's
/// address lookup, DANE). Implementations never throw for DNS outcomes: they return LookupError.
/// </summary>
public interface IDnsResolver
{
    /// <summary>TXT records at <paramref name="name"/>; each record's character-strings joined with no separator (RFC 7208 §3.3, RFC 8461 §3.1).</summary>
    Task<DnsResult<string>> QueryTxtAsync(string name, CancellationToken cancellationToken);

    Task<DnsResult<MxRecord>> QueryMxAsync(string name, CancellationToken cancellationToken);

    /// <summary>A and AAAA together. Secure only when every answer that contributed is secure; an error on either is an error.</summary>
    Task<DnsResult<IPAddress>> QueryAddressesAsync(string name, CancellationToken cancellationToken);

    Task<DnsResult<TlsaRecordData>> QueryTlsaAsync(string name, CancellationToken cancellationToken);
}
