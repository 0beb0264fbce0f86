using System.Globalization;
using Rampart.Core.MtaSts;

namespace Rampart.Core.Dns;

/// <summary>
/// The one set of name rules behind <see cref="DnsName"/> (any DNS name, <c>_mta-sts</c> and <c>_25._tcp</c> labels
/// included), <see cref="DomainName"/> (a mail domain or host name) and <see cref="MtaSts.MxPattern"/> (a host name after
/// an optional <c>*.</c>): label and name lengths (RFC 1035 §2.3.4), the characters of a label, host-name syntax (RFC 1123
/// §2.1: letters, digits and inner hyphens, a top-level label that is not all digits), and A-labels that round-trip
/// (RFC 5890). Reasons are phrased to follow the subject a caller names ("'x' is not a mail domain: it …").
/// </summary>
internal static class NameSyntax
{
    public const int MaxLabelLength = 63;
    public const int MaxNameLength = 253;

    /// <summary>The reason <see cref="Check"/> gives for <c>1.2.3.4.5</c> or <c>10</c> (RFC 3696 §2).</summary>
    public const string AllNumericTopLabel = "has an all-numeric top-level label, so it is not a host name";

    /// <summary>A name holding U-labels, lower-cased and Punycode-encoded (RFC 5890); null when it cannot be encoded.</summary>
    public static string? ToAscii(string name)
    {
        try
        {
            return new IdnMapping { UseStd3AsciiRules = false }.GetAscii(name.ToLowerInvariant());
        }
        catch (ArgumentException)
        {
            return null;
        }
    }

    /// <summary>
    /// Null when <paramref name="name"/> (ASCII, no trailing dot) follows the rules, else the reason, starting with a verb
    /// ("is longer than…", "contains '_'…", "has an empty label…").
    /// </summary>
    /// <param name="hostName">Host-name rules (RFC 1123): no '_', no label starting or ending with '-', valid A-labels, a
    /// top-level label that is not all digits. Otherwise any DNS name: letters, digits, '-' and '_'.</param>
    public static string? Check(ReadOnlySpan<char> name, bool hostName)
    {
        if (name.Length > MaxNameLength)
        {
            return string.Create(CultureInfo.InvariantCulture, $"is longer than {MaxNameLength} characters");
        }

        ReadOnlySpan<char> last = default;
        var rest = name;
        while (true)
        {
            int dot = rest.IndexOf('.');
            var label = dot < 0 ? rest : rest[..dot];
            last = label;
            if (CheckLabel(label, hostName) is { } reason)
            {
                return reason;
            }
            if (dot < 0)
            {
                break;
            }
            rest = rest[(dot + 1)..];
        }

        return hostName && !last.ContainsAnyExceptInRange('0', '9')
            ? AllNumericTopLabel
            : null;
    }

    private static string? CheckLabel(ReadOnlySpan<char> label, bool hostName)
    {
        if (label.IsEmpty)
        {
            return "has an empty label (a leading dot or two dots in a row)";
        }
        if (label.Length > MaxLabelLength)
        {
            return string.Create(CultureInfo.InvariantCulture, $"has a label longer than {MaxLabelLength} characters");
        }
        foreach (char c in label)
        {
            if (c == '_' && hostName)
            {
                return "contains '_'; underscores are not allowed in host names";
            }
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('-' or '_'))
            {
                return hostName
                    ? $"contains {MtaStsSyntax.Quote([c])}; host names hold only letters, digits, '-' and '.'"
                    : $"contains {MtaStsSyntax.Quote([c])}; DNS names here hold only letters, digits, '-', '_' and '.'";
            }
        }
        if (!hostName)
        {
            return null;
        }
        if (label[0] == '-' || label[^1] == '-')
        {
            return $"has the label {MtaStsSyntax.Quote(label)}, which starts or ends with '-'";
        }
        return label.Length >= 4 && label[..4].Equals("xn--", StringComparison.OrdinalIgnoreCase) && !IsValidALabel(label)
            ? $"has the label {MtaStsSyntax.Quote(label)}, which is not a valid A-label (RFC 5890)"
            : null;
    }

    /// <summary>An A-label is valid when it decodes and re-encodes (after case folding) to itself.</summary>
    private static bool IsValidALabel(ReadOnlySpan<char> label)
    {
        string lower = label.ToString().ToLowerInvariant();
        try
        {
            var idn = new IdnMapping { UseStd3AsciiRules = true };
            string unicode = idn.GetUnicode(lower);
            return string.Equals(idn.GetAscii(unicode.ToLowerInvariant()), lower, StringComparison.Ordinal);
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}
