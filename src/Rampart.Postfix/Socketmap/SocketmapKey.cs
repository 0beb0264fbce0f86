using Rampart.Core;

namespace Rampart.Postfix.Socketmap;

/// <summary>What a socketmap key turned out to be.</summary>
internal enum SocketmapKeyKind
{
    /// <summary>A mail domain; the normalised name (lower case, A-labels, no trailing dot) is returned.</summary>
    Domain,

    /// <summary>
    /// Postfix's parent-domain probe <c>.example.com</c>: answer NOTFOUND without any lookup. Postfix sends it only
    /// after the exact domain got NOTFOUND (the <c>parent_domain_matches_subdomains</c> behaviour of table lookups),
    /// and TLS policies (DANE, MTA-STS) are per exact destination domain: a parent's policy never covers a child.
    /// </summary>
    ParentDomainProbe,

    /// <summary>
    /// A key in next-hop form, whatever its host: bracketed (<c>[host]</c>, <c>[host]:port</c>, as a relayhost or
    /// transport entry gives) or <c>host:port</c> (one colon). It is not a recipient domain: MTA-STS and DANE policies
    /// are per recipient domain, and Postfix skips the MX lookup for it. NOTFOUND, as postfix-mta-sts-resolver and
    /// postfix-tlspol answer.
    /// </summary>
    NextHop,

    /// <summary>An IP address, an all-numeric top-level label, an empty key, or anything else that is not a host name (a bare IPv6 address too): NOTFOUND.</summary>
    NotADomain,
}

/// <summary>
/// The socketmap edge's one rule for "is this key a domain?", applied to a key as Postfix sends it for
/// <c>smtp_tls_policy_maps</c>: the next-hop destination, with any case, a trailing dot or U-labels. Only a domain is
/// looked up; every other kind is answered NOTFOUND. Never throws for any input.
/// </summary>
internal static class SocketmapKey
{
    /// <param name="key">The key exactly as Postfix sent it.</param>
    /// <param name="domain">The parsed domain when the result is <see cref="SocketmapKeyKind.Domain"/>, else default.</param>
    public static SocketmapKeyKind Normalize(string? key, out DomainName domain)
    {
        domain = default;
        var text = key?.Trim() ?? "";
        if (text.Length == 0)
        {
            return SocketmapKeyKind.NotADomain;
        }

        bool parentProbe = text[0] == '.';
        if (parentProbe)
        {
            text = text[1..];
        }
        else if (text[0] == '[' || (text.IndexOf(':', StringComparison.Ordinal) is var colon and >= 0 && colon == text.LastIndexOf(':')))
        {
            return SocketmapKeyKind.NextHop;
        }

        if (text.Length == 0
            || text[0] == '['
            || text.Contains(':', StringComparison.Ordinal)
            || !DomainName.TryParse(text, out var parsed, out _))
        {
            // A bracketed next hop or a port never comes with Postfix's leading dot. DomainName's rules refuse the rest,
            // an all-numeric top-level label included (RFC 3696 §2: "1.2.3.4.5" or "10" is not a mail domain).
            return SocketmapKeyKind.NotADomain;
        }

        if (parentProbe)
        {
            return SocketmapKeyKind.ParentDomainProbe;
        }

        domain = parsed;
        return SocketmapKeyKind.Domain;
    }
}
