using System.Buffers;
using System.Text;

namespace Rampart.Core.MtaSts;

/// <summary>Small lexical helpers shared by the MTA-STS TXT record, policy and mx pattern parsers.</summary>
internal static class MtaStsSyntax
{
    /// <summary>The longest excerpt of user input quoted in a diagnostic; longer input is cut with "…".</summary>
    private const int MaxQuoted = 80;

    /// <summary>C0 controls other than HTAB, LF and CR, plus DEL: never part of a text policy.</summary>
    internal static readonly SearchValues<char> s_controlChars = SearchValues.Create(
        "\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\u0008\u000B\u000C\u000E\u000F" +
        "\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001A\u001B\u001C\u001D\u001E\u001F\u007F");

    /// <summary>WSP = SP / HTAB (RFC 5234 appendix B.1).</summary>
    internal static bool IsWsp(char c) => c is ' ' or '\t';

    /// <summary>Trims WSP (space and tab) from both ends; other white space is content.</summary>
    internal static ReadOnlySpan<char> TrimWsp(ReadOnlySpan<char> s)
    {
        int start = 0, end = s.Length;
        while (start < end && IsWsp(s[start]))
        {
            start++;
        }

        while (end > start && IsWsp(s[end - 1]))
        {
            end--;
        }

        return s[start..end];
    }

    /// <summary>Quotes user input for a one-line diagnostic: control characters escaped, long input cut.</summary>
    internal static string Quote(ReadOnlySpan<char> s) => DisplayText.Quote(s, MaxQuoted);

    internal static bool IsAsciiAlnum(char c) => char.IsAsciiLetterOrDigit(c);
}
