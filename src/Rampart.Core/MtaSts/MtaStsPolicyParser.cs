using System.Text;
using System.Text.Unicode;

namespace Rampart.Core.MtaSts;

/// <summary>
/// Parses an MTA-STS policy file (RFC 8461 §3.2), the body served at
/// <c>https://mta-sts.&lt;domain&gt;/.well-known/mta-sts.txt</c>:
/// <code>
/// version: STSv1
/// mode: enforce
/// mx: mail.example.com
/// mx: *.example.net
/// max_age: 604800
/// </code>
/// </summary>
/// <remarks>
/// Lines are <c>key: value</c>, ended by LF or CRLF; white space around the value is trimmed; keys are
/// case-sensitive. <c>version</c>, <c>mode</c> and <c>max_age</c> are required, <c>mx</c> (one or more) too
/// unless the mode is <c>none</c>. Unknown keys are ignored (extensions), but keys that look like a known key
/// written differently (<c>Mode</c>, <c>max-age</c>) draw a warning. A key given twice (other than <c>mx</c>):
/// the first value counts, with a warning (postfix-mta-sts-resolver keeps the last, a known bug). Every error
/// is collected, never only the first. Parsing never throws for any input.
/// </remarks>
public static class MtaStsPolicyParser
{
    /// <summary>The only policy version defined (RFC 8461 §3.2).</summary>
    public const string Version = "STSv1";

    /// <summary>Largest allowed max_age in seconds (RFC 8461 §3.2: "up to 31557600").</summary>
    public const long MaxMaxAge = 31_557_600;

    private const string Rfc = "(RFC 8461 §3.2)";
    private const string NotText = "not a text policy; RFC 8461 §3.2 policies are text/plain";

    /// <summary>Parses a policy given as UTF-8 bytes, as fetched. Invalid UTF-8 or control bytes: "not a text policy".</summary>
    public static MtaStsParseResult Parse(ReadOnlySpan<byte> utf8)
    {
        if (!Utf8.IsValid(utf8))
        {
            int offset = FirstInvalidUtf8Offset(utf8);
            return Fail(LineAt(utf8, offset),
                $"byte 0x{utf8[offset]:X2} at offset {offset} is not valid UTF-8: {NotText}");
        }

        // Control characters are reported by the text path, with the same line and column.
        return Parse(Encoding.UTF8.GetString(utf8));
    }

    /// <summary>Parses a policy text. The returned policy keeps <paramref name="text"/> as its <see cref="MtaStsPolicy.Text"/>.</summary>
    public static MtaStsParseResult Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        ReadOnlySpan<char> all = text;

        int control = all.IndexOfAny(MtaStsSyntax.s_controlChars);
        if (control >= 0)
        {
            int lineStart = all[..control].LastIndexOf('\n') + 1;
            return Fail(all[..control].Count('\n') + 1,
                $"control character U+{(int)all[control]:X4} at column {control - lineStart + 1}: {NotText}");
        }

        var state = new State();
        if (!all.IsEmpty && all[0] == '\uFEFF')
        {
            state.Warn(1, $"byte order mark (U+FEFF) at the start of the policy ignored; a policy is plain text without one {Rfc}");
            all = all[1..];
        }

        int lineNumber = 0;
        while (!all.IsEmpty)
        {
            lineNumber++;
            int lf = all.IndexOf('\n');
            ReadOnlySpan<char> line;
            if (lf < 0)
            {
                line = all;
                all = default;
            }
            else
            {
                line = all[..lf];
                all = all[(lf + 1)..];
            }

            if (line.EndsWith('\r'))
            {
                line = line[..^1];
            }

            ParseLine(ref state, line, lineNumber);
        }

        return Finish(ref state, text);
    }

    private static void ParseLine(ref State state, ReadOnlySpan<char> line, int lineNumber)
    {
        if (MtaStsSyntax.TrimWsp(line).IsEmpty)
        {
            return; // blank lines are harmless and never make keys
        }

        state.SawContent = true;
        if (line.Contains('\r'))
        {
            state.Error(lineNumber, $"bare carriage return (CR without LF) in the line; lines end with LF or CRLF {Rfc}");
            return;
        }

        int colon = line.IndexOf(':');
        if (colon < 0)
        {
            state.Error(lineNumber, $"no ':' in {MtaStsSyntax.Quote(MtaStsSyntax.TrimWsp(line))}; every line must be 'key: value' {Rfc}");
            return;
        }

        var key = line[..colon];
        var value = MtaStsSyntax.TrimWsp(line[(colon + 1)..]);
        if (MtaStsSyntax.TrimWsp(key).IsEmpty)
        {
            state.Error(lineNumber, $"no key before ':'; every line must be 'key: value' {Rfc}");
            return;
        }

        switch (key)
        {
            case "version":
                if (state.IsRepeat(ref state.VersionLine, "version", lineNumber, value))
                {
                    return;
                }

                if (value.SequenceEqual(Version))
                {
                    state.VersionOk = true;
                }
                else
                {
                    state.Error(lineNumber, $"version {MtaStsSyntax.Quote(value)} is not supported; expected 'STSv1' (case-sensitive) {Rfc}");
                }

                return;

            case "mode":
                if (state.IsRepeat(ref state.ModeLine, "mode", lineNumber, value))
                {
                    return;
                }

                switch (value)
                {
                    case "enforce":
                        state.Mode = MtaStsMode.Enforce;
                        break;
                    case "testing":
                        state.Mode = MtaStsMode.Testing;
                        break;
                    case "none":
                        state.Mode = MtaStsMode.None;
                        break;
                    default:
                        state.Error(lineNumber, $"mode {MtaStsSyntax.Quote(value)} is not one of 'enforce', 'testing', 'none' (case-sensitive) {Rfc}");
                        break;
                }

                return;

            case "max_age":
                if (state.IsRepeat(ref state.MaxAgeLine, "max_age", lineNumber, value))
                {
                    return;
                }

                string? maxAgeError = ParseMaxAge(value, out long maxAge);
                if (maxAgeError is null)
                {
                    state.MaxAge = maxAge;
                }
                else
                {
                    state.Error(lineNumber, maxAgeError);
                }

                return;

            case "mx":
                state.MxLines++;
                if (MxPattern.TryParse(value, out var pattern, out string? mxError))
                {
                    (state.Mx ??= new List<MxPattern>(4)).Add(pattern);
                    if (!System.Text.Ascii.IsValid(value))
                    {
                        // Accepted (the A-label is what any sender compares), but the policy is not as the RFC writes it.
                        state.Warn(lineNumber, $"mx value {MtaStsSyntax.Quote(value)} is written with U-labels; mx patterns are A-label host names, "
                            + $"so publish 'mx: {pattern.Value}' instead (strict senders such as mox reject this policy) {Rfc}");
                    }
                }
                else
                {
                    state.Error(lineNumber, mxError);
                }

                return;

            default:
                string? known = LookAlikeKey(key);
                if (known is not null)
                {
                    state.Warn(lineNumber, $"key {MtaStsSyntax.Quote(key)} is not '{known}': keys are case-sensitive and exact, so this line is ignored {Rfc}");
                }

                return; // unknown keys are extensions: ignored (RFC 8461 §3.2)
        }
    }

    private static MtaStsParseResult Finish(ref State state, string text)
    {
        if (!state.SawContent)
        {
            state.Error(0, $"the policy is empty; it needs version, mode, max_age and mx lines {Rfc}");
        }
        else
        {
            if (state.VersionLine == 0)
            {
                state.Error(0, $"missing required key 'version' (expected 'version: STSv1') {Rfc}");
            }

            if (state.ModeLine == 0)
            {
                state.Error(0, $"missing required key 'mode' (enforce, testing or none) {Rfc}");
            }

            if (state.MaxAgeLine == 0)
            {
                state.Error(0, $"missing required key 'max_age' (seconds, 0 to {MaxMaxAge}) {Rfc}");
            }

            if (state.Mode is { } mode && mode != MtaStsMode.None && state.MxLines == 0)
            {
                state.Error(0, $"mode '{MtaStsPolicy.ModeName(mode)}' requires at least one 'mx' line {Rfc}");
            }
        }

        MtaStsPolicy? policy = null;
        if (state.Errors is null && state.VersionOk && state.Mode is { } m && state.MaxAge is { } age)
        {
            policy = new MtaStsPolicy(Version, m, age, state.Mx?.ToArray() ?? [], text);
        }

        return new MtaStsParseResult(policy, (IReadOnlyList<PolicyDiagnostic>?)state.Errors ?? [], (IReadOnlyList<PolicyDiagnostic>?)state.Warnings ?? []);
    }

    /// <summary>max_age = 1*DIGIT, 0..31557600. Null when valid, else the error.</summary>
    private static string? ParseMaxAge(ReadOnlySpan<char> value, out long seconds)
    {
        seconds = 0;
        if (value.IsEmpty)
        {
            return $"max_age is empty; expected whole seconds from 0 to {MaxMaxAge} {Rfc}";
        }

        if (value[0] is '+' or '-')
        {
            return $"max_age {MtaStsSyntax.Quote(value)} has a sign; it must be plain decimal digits from 0 to {MaxMaxAge} {Rfc}";
        }

        bool tooLarge = false;
        foreach (char c in value)
        {
            if (!char.IsAsciiDigit(c))
            {
                return $"max_age {MtaStsSyntax.Quote(value)} is not a whole number of seconds (decimal digits only) {Rfc}";
            }

            if (!tooLarge)
            {
                seconds = (seconds * 10) + (c - '0');
                tooLarge = seconds > MaxMaxAge; // stops accumulating long before overflow
            }
        }

        if (tooLarge)
        {
            seconds = 0;
            return $"max_age {MtaStsSyntax.Quote(value)} exceeds the maximum of {MaxMaxAge} seconds (one year) {Rfc}";
        }

        return null;
    }

    /// <summary>The known key that <paramref name="key"/> imitates (other case, '-' for '_', surrounding blanks), or null.</summary>
    private static string? LookAlikeKey(ReadOnlySpan<char> key)
    {
        var trimmed = MtaStsSyntax.TrimWsp(key);
        if (trimmed.Length is < 2 or > 7)
        {
            return null;
        }

        Span<char> folded = stackalloc char[trimmed.Length];
        for (int i = 0; i < trimmed.Length; i++)
        {
            char c = trimmed[i];
            folded[i] = c == '-' ? '_' : char.ToLowerInvariant(c);
        }

        return folded switch
        {
            "version" => "version",
            "mode" => "mode",
            "max_age" => "max_age",
            "mx" => "mx",
            _ => null,
        };
    }

    private static MtaStsParseResult Fail(int line, string message) =>
        new(null, [new PolicyDiagnostic(line, message)], []);

    private static int LineAt(ReadOnlySpan<byte> utf8, int offset) => utf8[..offset].Count((byte)'\n') + 1;

    private static int FirstInvalidUtf8Offset(ReadOnlySpan<byte> utf8)
    {
        int offset = 0;
        while (offset < utf8.Length)
        {
            if (Rune.DecodeFromUtf8(utf8[offset..], out _, out int consumed) != System.Buffers.OperationStatus.Done)
            {
                return offset;
            }

            offset += consumed;
        }

        return 0; // not reached: only called when the input is invalid
    }

    /// <summary>Mutable parse state; lists are created only when something is found.</summary>
    private struct State
    {
        public List<PolicyDiagnostic>? Errors;
        public List<PolicyDiagnostic>? Warnings;
        public List<MxPattern>? Mx;
        public int VersionLine;
        public int ModeLine;
        public int MaxAgeLine;
        public int MxLines;
        public bool VersionOk;
        public bool SawContent;
        public MtaStsMode? Mode;
        public long? MaxAge;

        public void Error(int line, string message) => (Errors ??= []).Add(new PolicyDiagnostic(line, message));

        public void Warn(int line, string message) => (Warnings ??= []).Add(new PolicyDiagnostic(line, message));

        /// <summary>Records the first line of a single-valued key; on a repeat, warns and says to skip the value.</summary>
        public bool IsRepeat(ref int firstLine, string key, int line, ReadOnlySpan<char> value)
        {
            if (firstLine == 0)
            {
                firstLine = line;
                return false;
            }

            Warn(line, $"key '{key}' given again (first on line {firstLine}); the first value counts and {MtaStsSyntax.Quote(value)} on line {line} is ignored {Rfc}");
            return true;
        }
    }
}
