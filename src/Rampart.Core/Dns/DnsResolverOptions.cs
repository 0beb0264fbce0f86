namespace Rampart.Core.Dns;

/// <summary>
/// DNS settings as bound from configuration and the command line. Mutable; turned into an immutable
/// <see cref="DnsResolverSettings"/> by <see cref="DnsResolverSettings.FromOptions"/>.
/// </summary>
public sealed class DnsResolverOptions
{
    /// <summary>
    /// The validating resolver as <c>IP</c>, <c>IP:PORT</c> or <c>[IPv6]:PORT</c> (<c>--resolver</c>). Naming it here
    /// means the operator trusts its AD bit. Null or empty: the first nameserver of resolv.conf.
    /// </summary>
    public string? Resolver { get; set; }

    /// <summary>How long to wait for each answer before retrying.</summary>
    public TimeSpan Timeout { get; set; } = DnsResolverSettings.DefaultTimeout;

    /// <summary>Extra tries after a timeout (1 = two tries in all).</summary>
    public int Retries { get; set; } = DnsResolverSettings.DefaultRetries;

    /// <summary>Repeat a truncated (TC) UDP answer over TCP. Without it a truncated answer is a lookup error.</summary>
    public bool UseTcpFallback { get; set; } = true;

    /// <summary>Most CNAMEs followed from the query name before the lookup fails as a CNAME loop.</summary>
    public int MaxCnameHops { get; set; } = DnsResolverSettings.DefaultMaxCnameHops;
}
