using System.Text;
using Rampart.Core;

namespace Rampart.Cli;

/// <summary>
/// The last line of defence for what the CLI prints: a writer in front of standard output and standard error that
/// passes text, line breaks, tabs and carriage returns (progress lines), and the colour sequences <see cref="Terminal.Paint"/>
/// writes (<c>ESC [ digits m</c>), and shows every other control character as <c>\uXXXX</c>
/// (<see cref="DisplayText"/>). Values from outside are sanitised where they are printed; this catches the one that was
/// missed, so no escape sequence from a report, a DNS record or an SMTP reply ever reaches the operator's terminal.
/// JSON output is unaffected: its serialiser already escapes control characters.
/// </summary>
internal sealed class TerminalGuard(TextWriter inner) : TextWriter
{
    public override Encoding Encoding => inner.Encoding;

    public override IFormatProvider FormatProvider => inner.FormatProvider;

    [System.Diagnostics.CodeAnalysis.AllowNull]
    public override string NewLine
    {
        get => inner.NewLine;
        set => inner.NewLine = value;
    }

    /// <summary>Puts a guard in front of <see cref="Console.Out"/> and <see cref="Console.Error"/>.</summary>
    public static void Install()
    {
        Console.SetOut(new TerminalGuard(Console.Out));
        Console.SetError(new TerminalGuard(Console.Error));
    }

    public override void Write(char value)
    {
        if (value is '\n' or '\r' or '\t' || !DisplayText.IsUnsafe(value))
        {
            inner.Write(value);
        }
        else
        {
            inner.Write(DisplayText.Sanitize([value]));
        }
    }

    public override void Write(string? value) => inner.Write(Guard(value));

    public override void Write(char[] buffer, int index, int count) => inner.Write(Guard(new string(buffer, index, count)));

    public override void WriteLine(string? value) => inner.WriteLine(Guard(value));

    public override void Flush() => inner.Flush();

    public override Task FlushAsync() => inner.FlushAsync();

    /// <summary>The text with unsafe characters escaped, except line breaks, tabs and our own colour sequences.</summary>
    internal static string? Guard(string? value)
    {
        if (value is null || !value.AsSpan().ContainsAny(s_unsafe))
        {
            return value;
        }
        var sb = new StringBuilder(value.Length + 16);
        for (int i = 0; i < value.Length; i++)
        {
            char c = value[i];
            if (c == '\u001b' && ColourSequenceLength(value, i) is int n and > 0)
            {
                sb.Append(value, i, n);
                i += n - 1;
            }
            else if (c is '\n' or '\r' or '\t' || !DisplayText.IsUnsafe(c))
            {
                sb.Append(c);
            }
            else
            {
                sb.Append(DisplayText.Sanitize([c]));
            }
        }
        return sb.ToString();
    }

    private static readonly System.Buffers.SearchValues<char> s_unsafe = System.Buffers.SearchValues.Create(
        Enumerable.Range(0, 0x2070).Select(i => (char)i).Where(c => DisplayText.IsUnsafe(c) && c is not ('\n' or '\r' or '\t')).ToArray());

    /// <summary>The length of an SGR sequence <c>ESC [ (digits|;)* m</c> at <paramref name="at"/>, or 0.</summary>
    private static int ColourSequenceLength(string text, int at)
    {
        if (at + 2 >= text.Length || text[at + 1] != '[')
        {
            return 0;
        }
        int i = at + 2;
        while (i < text.Length && (char.IsAsciiDigit(text[i]) || text[i] == ';'))
        {
            i++;
        }
        return i < text.Length && text[i] == 'm' && i - at <= 12 ? i - at + 1 : 0;
    }
}
