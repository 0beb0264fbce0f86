using System.Diagnostics.CodeAnalysis;
using Rampart.Core.MtaSts;

namespace Rampart.Core.Policy.Pinned;

/// <summary>Host-name and suffix rules shared by the overrides file and the policy list.</summary>
internal static class PinnedSyntax
{
    /// <summary>
    /// A certificate-name pattern for Postfix <c>match=</c>: a host name (<c>mx.example.com</c>) or a leading-dot
    /// suffix (<c>.example.com</c>, which Postfix and the STARTTLS Policy List both read as any depth below
    /// example.com). Host names follow <see cref="MxPattern"/>'s rules (LDH, A-labels, lower case); MTA-STS
    /// wildcards (<c>*.example.com</c>) are rejected with a hint.
    /// </summary>
    public static bool TryParseNamePattern(string value, [NotNullWhen(true)] out string? normalized, [NotNullWhen(false)] out string? error)
    {
        normalized = null;
        bool suffix = value.StartsWith('.');
        string name = suffix ? value[1..] : value;
        if (name.StartsWith('*') || name.StartsWith('.'))
        {
            error = $"'{Printable(value)}' is not a host name or '.suffix'; write '.example.com' to cover every name below example.com";
            return false;
        }

        if (!MxPattern.TryParse(name, out var pattern, out string? reason))
        {
            error = reason.Replace(" (RFC 8461 §3.2)", "", StringComparison.Ordinal).Replace("mx value", "name", StringComparison.Ordinal);
            return false;
        }

        normalized = suffix ? "." + pattern.Value : pattern.Value;
        error = null;
        return true;
    }

    /// <summary>A destination domain key, optionally with a leading dot (suffix form) when <paramref name="allowSuffix"/>.</summary>
    public static bool TryParseDomainKey(string value, bool allowSuffix, [NotNullWhen(true)] out string? key, [NotNullWhen(false)] out string? error)
    {
        key = null;
        if (value.StartsWith('['))
        {
            error = $"'{Printable(value)}' is a next-hop form; pinned policies are keyed by destination domain";
            return false;
        }

        bool suffix = value.StartsWith('.');
        if (suffix && !allowSuffix)
        {
            error = $"'{Printable(value)}' starts with '.'; policy list keys are exact mail domains";
            return false;
        }

        string name = suffix ? value[1..] : value;
        if (name.Length == 0 || name.StartsWith('.') || name.Contains('*', StringComparison.Ordinal)
            || name.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
        {
            error = $"'{Printable(value)}' is not a mail domain";
            return false;
        }

        if (!DomainName.TryNormalize(name, out string? domain, out error))
        {
            error = Printable(error, 300);
            return false;
        }

        key = suffix ? "." + domain : domain;
        return true;
    }

    /// <summary>Control characters shown escaped, and long values cut, so messages stay one readable line.</summary>
    public static string Printable(string value, int max = 80) => DisplayText.Sanitize(value, max);
}
