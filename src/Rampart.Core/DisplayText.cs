using System.Globalization;
using System.Text;

namespace Rampart.Core;

/// <summary>
/// The one sanitiser for text that came from outside (a TLS-RPT report's fields, DNS records, a policy, an SMTP reply,
/// a file name) before a person sees it on a terminal or in a log: every character that could act instead of being
/// read — C0 and C1 controls (escape sequences start with ESC or CSI), DEL, line and paragraph separators, bidirectional
/// overrides and isolates, unpaired surrogates — is shown as <c>\uXXXX</c>, so a report cannot clear the operator's
/// screen or forge a line; long text is cut with '…'. Printable text, non-ASCII letters included, is kept as it is.
/// </summary>
public static class DisplayText
{
    /// <summary>The default length bound: a field, not a document.</summary>
    public const int DefaultMaxLength = 200;

    /// <summary>The text with every control character shown as <c>\uXXXX</c>, cut to <paramref name="maxLength"/> characters.</summary>
    public static string Sanitize(string? text, int maxLength = DefaultMaxLength) =>
        text is null ? "" : NeedsNothing(text, maxLength) ? text : Sanitize(text.AsSpan(), maxLength);

    /// <summary><see cref="Sanitize(string?, int)"/> for a span.</summary>
    public static string Sanitize(ReadOnlySpan<char> text, int maxLength = DefaultMaxLength)
    {
        var sb = new StringBuilder(Math.Min(text.Length, maxLength) + 8);
        Append(sb, text, maxLength);
        return sb.ToString();
    }

    /// <summary>The sanitised text in single quotes, for a one-line message.</summary>
    public static string Quote(ReadOnlySpan<char> text, int maxLength = DefaultMaxLength)
    {
        var sb = new StringBuilder(Math.Min(text.Length, maxLength) + 10);
        sb.Append('\'');
        Append(sb, text, maxLength);
        return sb.Append('\'').ToString();
    }

    /// <summary>True for a character that must not reach a terminal as it is.</summary>
    public static bool IsUnsafe(char c) =>
        c < 0x20 || c is >= '\u007F' and <= '\u009F'
        || c is '\u2028' or '\u2029' or '\u200E' or '\u200F' or (>= '\u202A' and <= '\u202E') or (>= '\u2066' and <= '\u2069');

    private static bool NeedsNothing(string text, int maxLength)
    {
        if (text.Length > maxLength)
        {
            return false;
        }
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
            else if (IsUnsafe(c) || char.IsSurrogate(c))
            {
                return false;
            }
        }
        return true;
    }

    private static void Append(StringBuilder sb, ReadOnlySpan<char> text, int maxLength)
    {
        int n = Math.Min(text.Length, maxLength);
        for (int i = 0; i < n; i++)
        {
            char c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                sb.Append(c).Append(text[i + 1]);
                i++;
            }
            else if (IsUnsafe(c) || char.IsSurrogate(c))
            {
                sb.Append("\\u").Append(((int)c).ToString("X4", CultureInfo.InvariantCulture));
            }
            else
            {
                sb.Append(c);
            }
        }
        if (text.Length > maxLength)
        {
            sb.Append('…');
        }
    }
}
