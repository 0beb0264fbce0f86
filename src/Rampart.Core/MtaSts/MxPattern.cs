using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Text;

namespace Rampart.Core.MtaSts;

/// <summary>
/// One <c>mx</c> pattern of an MTA-STS policy (RFC 8461 §3.2, matching in §4.1): a host name such as
/// <c>mx1.example.com</c>, or <c>*.</c> followed by a host name, where the wildcard stands for exactly one
/// leftmost label.
/// </summary>
/// <remarks>
/// <para>Accepted: LDH labels of 1–63 characters, no leading or trailing hyphen, at least two labels, at most
/// 253 characters, not an all-numeric top-level label. A trailing dot is dropped and ASCII is folded to lower
/// case. Internationalized names are accepted as A-labels (<c>xn--</c>, checked to round-trip) or as U-labels,
/// which are converted to A-labels.</para>
/// <para>Rejected: IP addresses (v4, v6, bracketed), empty values, a bare <c>*</c>, a <c>*</c> anywhere but as
/// the whole leftmost label, underscores, white space and anything else. Such values must never reach Postfix.</para>
/// <para>Limitation: the IDNA2008 code point tables are not applied (the runtime runs in invariant globalization
/// mode); U-labels are lower-cased and Punycode-encoded, and A-labels must survive decode → lower → encode.</para>
/// </remarks>
public sealed class MxPattern : IEquatable<MxPattern>
{
    private const string Rfc = "(RFC 8461 §3.2)";

    private MxPattern(string value, bool isWildcard)
    {
        Value = value;
        IsWildcard = isWildcard;
        Domain = isWildcard ? value[2..] : value;
    }

    /// <summary>The normalized pattern: lower case, A-labels, no trailing dot, e.g. <c>*.example.com</c>.</summary>
    public string Value { get; }

    /// <summary>True for <c>*.</c> patterns.</summary>
    public bool IsWildcard { get; }

    /// <summary>The name after <c>*.</c> for a wildcard, otherwise the whole name.</summary>
    public string Domain { get; }

    /// <summary>Parses an mx pattern; throws <see cref="FormatException"/> with a one-line reason when it is not one.</summary>
    public static MxPattern Parse(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return ParseCore(value, value, out var error) ?? throw new FormatException(error);
    }

    /// <summary>Parses an mx pattern. On failure <paramref name="error"/> says why, in one line naming the rule.</summary>
    public static bool TryParse(string value, [NotNullWhen(true)] out MxPattern? pattern, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(value);
        pattern = ParseCore(value, value, out error);
        return pattern is not null;
    }

    /// <summary>Span entry point for the policy parser (no string is allocated for the input).</summary>
    internal static bool TryParse(ReadOnlySpan<char> value, [NotNullWhen(true)] out MxPattern? pattern, [NotNullWhen(false)] out string? error)
    {
        pattern = ParseCore(value, null, out error);
        return pattern is not null;
    }

    /// <summary>
    /// True when <paramref name="host"/> is covered by this pattern (RFC 8461 §4.1): equal to the name,
    /// ignoring case and a trailing dot; for <c>*.example.com</c>, exactly one extra leftmost label, so
    /// <c>mx.example.com</c> matches but <c>a.b.example.com</c> and <c>example.com</c> do not.
    /// </summary>
    public bool Matches(string host)
    {
        ArgumentNullException.ThrowIfNull(host);
        ReadOnlySpan<char> h = host;
        if (!Ascii.IsValid(h))
        {
            string? ascii = Dns.NameSyntax.ToAscii(host);
            if (ascii is null)
            {
                return false;
            }

            h = ascii;
        }

        if (h.EndsWith('.'))
        {
            h = h[..^1];
        }

        if (!IsWildcard)
        {
            return h.Equals(Value, StringComparison.OrdinalIgnoreCase);
        }

        // "label." + Domain, with a non-empty label holding no dot.
        if (h.Length < Domain.Length + 2 || !h.EndsWith(Domain, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var prefix = h[..^Domain.Length];
        if (prefix[^1] != '.')
        {
            return false;
        }

        var label = prefix[..^1];
        return !label.IsEmpty && !label.Contains('.');
    }

    /// <summary>
    /// The pattern as a Postfix <c>match=</c> item for the <c>secure</c> TLS level (smtp_tls_policy_maps):
    /// <c>mx.example.com</c> stays <c>mx.example.com</c>; <c>*.example.com</c> becomes <c>.example.com</c>.
    /// </summary>
    /// <remarks>
    /// Caution: in Postfix, <c>.example.com</c> matches a certificate name at <em>any</em> depth below
    /// example.com (<c>a.b.example.com</c> too), which is wider than MTA-STS, where <c>*.example.com</c> covers
    /// exactly one label. Callers that know the domain's MX host names should prefer to expand a wildcard
    /// into the concrete MX names it matches (checked with <see cref="Matches"/>) and pass those instead,
    /// using this conversion only when no MX name is known.
    /// </remarks>
    public string ToPostfixMatch() => IsWildcard ? Value[1..] : Value;

    public override string ToString() => Value;

    public bool Equals(MxPattern? other) => other is not null && string.Equals(Value, other.Value, StringComparison.Ordinal);

    public override bool Equals(object? obj) => Equals(obj as MxPattern);

    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Value);

    /// <summary>
    /// The one routine behind Parse/TryParse. <paramref name="source"/> is the input as a string when the caller
    /// has one, so an already normalized value is reused instead of copied.
    /// </summary>
    private static MxPattern? ParseCore(ReadOnlySpan<char> value, string? source, out string? error)
    {
        error = Validate(value, out bool isWildcard, out string? converted);
        if (error is not null)
        {
            return null;
        }

        // The validated name is in `converted` when IDN conversion produced it, otherwise in `value`.
        ReadOnlySpan<char> name = converted ?? value;
        if (converted is null)
        {
            if (name.EndsWith('.'))
            {
                name = name[..^1];
            }

            if (isWildcard)
            {
                name = name[2..];
            }
        }

        int length = name.Length + (isWildcard ? 2 : 0);
        string normalized;
        if (source is not null && converted is null && source.Length == length && !name.ContainsAnyInRange('A', 'Z'))
        {
            normalized = source;
        }
        else
        {
            Span<char> buffer = length <= 256 ? stackalloc char[length] : new char[length];
            int at = 0;
            if (isWildcard)
            {
                buffer[0] = '*';
                buffer[1] = '.';
                at = 2;
            }

            Ascii.ToLower(name, buffer[at..], out _);
            normalized = new string(buffer);
        }

        return new MxPattern(normalized, isWildcard);
    }

    /// <summary>
    /// Returns null when valid, else a one-line error. <paramref name="converted"/> is set when IDN conversion
    /// ran, and then holds the A-label name without the "*." prefix and without a trailing dot.
    /// </summary>
    private static string? Validate(ReadOnlySpan<char> value, out bool isWildcard, out string? converted)
    {
        isWildcard = false;
        converted = null;
        if (value.IsEmpty)
        {
            return $"mx value is empty; expected a host name such as 'mx.example.com' or a wildcard such as '*.example.com' {Rfc}";
        }

        foreach (char c in value)
        {
            if (char.IsWhiteSpace(c) || char.IsControl(c))
            {
                return $"mx value {MtaStsSyntax.Quote(value)} contains white space or a control character {Rfc}";
            }
        }

        if (value[0] == '[')
        {
            return $"mx value {MtaStsSyntax.Quote(value)} is an address literal, not a host name pattern {Rfc}";
        }

        var name = value.EndsWith('.') ? value[..^1] : value;
        if (name.IsEmpty)
        {
            return $"mx value {MtaStsSyntax.Quote(value)} is not a host name {Rfc}";
        }

        if (LooksLikeIpAddress(name))
        {
            return $"mx value {MtaStsSyntax.Quote(value)} is an IP address, not a host name pattern {Rfc}";
        }

        if (name.StartsWith("*."))
        {
            isWildcard = true;
            name = name[2..];
        }

        if (name.Contains('*'))
        {
            return name.Length == 1 && !isWildcard
                ? $"mx value '*' is a bare wildcard; a wildcard must be '*.' followed by a domain, as in '*.example.com' {Rfc}"
                : $"mx value {MtaStsSyntax.Quote(value)} has '*' outside the leftmost label; a wildcard must be the whole leftmost label, as in '*.example.com' {Rfc}";
        }

        if (!Ascii.IsValid(name))
        {
            string? ascii = Dns.NameSyntax.ToAscii(name.ToString());
            if (ascii is null)
            {
                return $"mx value {MtaStsSyntax.Quote(value)} is not a valid internationalized domain name (RFC 5890) {Rfc}";
            }

            if (ascii.EndsWith('.'))
            {
                ascii = ascii[..^1];
            }

            converted = ascii;
            name = ascii;
        }

        string? reason = ValidateHostName(name);
        if (reason is not null)
        {
            return $"mx value {MtaStsSyntax.Quote(value)} {reason} {Rfc}";
        }

        return null;
    }

    /// <summary>IPv4 (dotted decimal) or IPv6 text, which RFC 8461 mx patterns never are.</summary>
    private static bool LooksLikeIpAddress(ReadOnlySpan<char> name)
    {
        if (name.Contains(':'))
        {
            return IPAddress.TryParse(name, out _);
        }

        foreach (char c in name)
        {
            if (c is not ('.' or (>= '0' and <= '9')))
            {
                return false;
            }
        }

        return IPAddress.TryParse(name, out _);
    }

    /// <summary>Host-name rules (<see cref="Dns.NameSyntax"/>) for a full name of at least two labels. Null when valid, else the reason.</summary>
    private static string? ValidateHostName(ReadOnlySpan<char> name)
    {
        string? reason = Dns.NameSyntax.Check(name, hostName: true);
        return name.Contains('.') || reason is not (null or Dns.NameSyntax.AllNumericTopLabel)
            ? reason
            : "is a single label; an mx pattern needs a full host name such as 'mx.example.com'";
    }

}
