using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Rampart.Core.Dns;

/// <summary>
/// Domain-name normalisation used for every query and for comparing names in answers: lower case, no trailing
/// dot, U-labels converted to A-labels (RFC 5890; <c>bücher.example</c> → <c>xn--bcher-kva.example</c>).
/// Labels are 1–63 octets of letters, digits, '-' and '_' (for <c>_mta-sts</c>, <c>_25._tcp</c>); at most 253 octets in all.
/// </summary>
public static class DnsName
{
    private const int MaxLabel = 63;
    private const int MaxName = 253;

    private static readonly IdnMapping s_idn = new() { AllowUnassigned = false, UseStd3AsciiRules = false };

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
        error = Validate(name, out var result);
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

    private static string? Validate(string? name, out string? result)
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
        if (!text.All(char.IsAscii))
        {
            try
            {
                text = s_idn.GetAscii(text);
            }
            catch (ArgumentException ex)
            {
                return $"'{name}' is not a valid internationalised domain name: {ex.Message}";
            }
        }

        if (text.Length > MaxName)
        {
            return string.Create(CultureInfo.InvariantCulture, $"'{name}' is not a domain name: longer than {MaxName} characters");
        }

        foreach (var label in text.Split('.'))
        {
            if (label.Length == 0)
            {
                return $"'{name}' is not a domain name: it has an empty label";
            }

            if (label.Length > MaxLabel)
            {
                return string.Create(CultureInfo.InvariantCulture, $"'{name}' is not a domain name: label '{label}' is longer than {MaxLabel} characters");
            }

            if (!label.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            {
                return $"'{name}' is not a domain name: label '{label}' has characters other than letters, digits, '-' and '_'";
            }
        }

        result = text;
        return null;
    }
}
