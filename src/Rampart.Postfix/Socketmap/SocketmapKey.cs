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

    /// <summary>An IP address or literal, an empty key, or anything else that is not a host name: NOTFOUND.</summary>
    NotADomain,
}

/// <summary>
/// Normalises a socketmap key as Postfix sends it for <c>smtp_tls_policy_maps</c>: the next-hop destination, which
/// may be <c>[host]:port</c>, <c>[host]</c>, <c>host:port</c>, have a trailing dot, any case, U-labels, an IP literal,
/// or a leading dot for a parent-domain probe. Never throws for any input.
/// </summary>
internal static class SocketmapKey
{
    /// <param name="key">The key exactly as Postfix sent it.</param>
    /// <param name="domain">The normalised domain when the result is <see cref="SocketmapKeyKind.Domain"/>, else null.</param>
    public static SocketmapKeyKind Normalize(string? key, out string? domain)
    {
        domain = null;
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

        if (text.Length == 0
            || StripBracketsAndPort(text) is not { } host
            || !DomainName.TryNormalize(host, out var normalized, out _)
            || IsAllDigits(normalized.AsSpan(normalized.LastIndexOf('.') + 1)))
        {
            // RFC 3696 §2: a top-level label is never all-numeric, so "1.2.3.4.5" or "10" is not a mail domain.
            return SocketmapKeyKind.NotADomain;
        }

        if (parentProbe)
        {
            // A bracketed literal or a port never comes with Postfix's leading dot.
            return host.Length == text.Length ? SocketmapKeyKind.ParentDomainProbe : SocketmapKeyKind.NotADomain;
        }

        domain = normalized;
        return SocketmapKeyKind.Domain;
    }

    /// <summary><c>[host]:port</c>, <c>[host]</c>, <c>host:port</c> → <c>host</c>; null when the shape is broken.</summary>
    private static string? StripBracketsAndPort(string text)
    {
        if (text[0] == '[')
        {
            int close = text.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                return null;
            }

            var rest = text.AsSpan(close + 1);
            if (rest.Length > 0 && !(rest[0] == ':' && IsPort(rest[1..])))
            {
                return null;
            }

            return text[1..close];
        }

        int colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0)
        {
            return text;
        }

        // Exactly one colon followed by a port: host:port. More colons (a bare IPv6 address) are left for the domain
        // check to refuse.
        return colon == text.LastIndexOf(':') && IsPort(text.AsSpan(colon + 1)) ? text[..colon] : text;
    }

    private static bool IsPort(ReadOnlySpan<char> s) =>
        s.Length is > 0 and <= 5 && IsAllDigits(s) && int.Parse(s, System.Globalization.CultureInfo.InvariantCulture) <= 65535;

    private static bool IsAllDigits(ReadOnlySpan<char> s) => s.Length > 0 && !s.ContainsAnyExceptInRange('0', '9');
}
