using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace Rampart.Core.Dns;

/// <summary>
/// Domain-name normalisation used for every query and for comparing names in answers: lower case, no trailing
/// dot, U-labels converted to A-labels (RFC 5890; <c>bücher.example</c> → <c>xn--bcher-kva.example</c>).
/// Labels are 1–63 octets of letters, digits, '-' and '_' (for <c>_mta-sts</c>, <c>_25._tcp</c>); at most 253 octets in all.
/// </summary>
public static class DnsName
{
    /// <exception cref="FormatException">The name cannot be a DNS name.</exception>
    public static string Normalize(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        TryNormalize(name, throwOnError: true, out var normalized, out _);
        return normalized!;
    }

    public static bool TryNormalize(
        [NotNullWhen(true)] string? name,
        [NotNullWhen(true)] out string? normalized,
        [NotNullWhen(false)] out string? error) =>
        TryNormalize(name, throwOnError: false, out normalized, out error);

    /// <summary>Case-insensitive equality after normalisation; false if either is not a valid name.</summary>
    public static bool AreEqual(string? a, string? b) =>
        TryNormalize(a, out var x, out _) && TryNormalize(b, out var y, out _) && x == y;

    /// <summary>
    /// Normalises a name as it came off the wire (already A-labels, maybe with a trailing dot): lower-cases ASCII
    /// and drops the trailing dot, without validating. The root "." becomes "".
    /// </summary>
    internal static string FromWire(string name)
    {
        var trimmed = name.EndsWith('.') ? name[..^1] : name;
        return trimmed.ToLowerInvariant();
    }

    private static bool TryNormalize(string? name, bool throwOnError, out string? normalized, out string? error)
    {
        normalized = null;
        error = Validate(name, hostName: false, out var result);
        if (error is null)
        {
            normalized = result;
            return true;
        }

        if (throwOnError)
        {
            throw new FormatException(error);
        }

        return false;
    }

    /// <summary>
    /// Trims, drops the trailing dot, lower-cases and converts U-labels, then checks the name once: with
    /// <paramref name="hostName"/> against host-name rules (<see cref="DomainName"/>), else against DNS-name rules.
    /// Null when valid (<paramref name="result"/> holds the normalised name), else the reason in one line.
    /// </summary>
    internal static string? Validate(string? name, bool hostName, out string? result)
    {
        result = null;
        var text = name?.Trim() ?? "";
        if (text.EndsWith('.'))
        {
            text = text[..^1];
        }

        if (text.Length == 0)
        {
            return $"'{name}' is not a domain name: it is empty";
        }

        text = text.ToLowerInvariant();
        if (!Ascii.IsValid(text))
        {
            if (NameSyntax.ToAscii(text) is not { } ascii)
            {
                return $"'{name}' is not a valid internationalised domain name (RFC 5890)";
            }
            text = ascii;
        }

        if (NameSyntax.Check(text, hostName) is { } reason)
        {
            return $"'{name}' is not a {(hostName ? "mail domain" : "domain name")}: it {reason}";
        }

        result = text;
        return null;
    }
}
