using System.Globalization;
using System.Text;
using Rampart.Core.MtaSts;

namespace Rampart.Storage;

/// <summary>
/// The value stored under each key of the Redis policy cache: a short ASCII header, then the policy id and the policy
/// text exactly as fetched (UTF-8). The domain is the key itself.
/// </summary>
/// <remarks>
/// <code>
/// 1 &lt;fetched_ms&gt; &lt;expires_ms&gt; &lt;checked_ms&gt; &lt;id_bytes&gt;[ not-without-dane]\n&lt;id&gt;&lt;policy text&gt;
/// </code>
/// <para>
/// The optional sixth field, written when <see cref="CachedMtaStsPolicy.DecidedWithoutDane"/> is false, came later
/// within version 1: a value without it is a policy the domain's decision used (what every Rampart before it wrote), and
/// an older Rampart drops a value with it as unreadable, so it never answers with a policy DANE made irrelevant.
/// </para>
/// <para>
/// The first field is the format version; times are Unix milliseconds in decimal (what the server-side scripts can
/// read with <c>string.match</c>); <c>id_bytes</c> is the UTF-8 length of the id, so id and text need no escaping.
/// Every later version must keep "version, space, fetched_ms, space" first: the write script compares FetchedAt
/// without knowing the rest. A value of another version reads as unreadable (and is dropped) by this code.
/// </para>
/// </remarks>
internal static class RedisPolicyValue
{
    /// <summary>The format this code writes and reads.</summary>
    public const int Version = 1;

    private const int MaxHeaderBytes = 128;

    /// <summary>The sixth header field: the domain's DANE verdict is not "does not apply".</summary>
    private const string NotWithoutDane = "not-without-dane";

    private static readonly UTF8Encoding s_strictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
    private static readonly long s_minUnixMs = DateTimeOffset.MinValue.ToUnixTimeMilliseconds();
    private static readonly long s_maxUnixMs = DateTimeOffset.MaxValue.ToUnixTimeMilliseconds();

    /// <summary>The bytes stored for <paramref name="entry"/>.</summary>
    public static byte[] Encode(CachedMtaStsPolicy entry)
    {
        byte[] id = s_strictUtf8.GetBytes(entry.Id);
        byte[] text = s_strictUtf8.GetBytes(entry.Policy.Text);
        string header = string.Create(CultureInfo.InvariantCulture,
            $"{Version} {entry.FetchedAt.ToUnixTimeMilliseconds()} {entry.ExpiresAt.ToUnixTimeMilliseconds()} {entry.CheckedAt.ToUnixTimeMilliseconds()} {id.Length}{(entry.DecidedWithoutDane ? "" : " " + NotWithoutDane)}\n");
        byte[] value = new byte[header.Length + id.Length + text.Length];
        int written = Encoding.ASCII.GetBytes(header, value);
        id.CopyTo(value, written);
        text.CopyTo(value, written + id.Length);
        return value;
    }

    /// <summary>
    /// The entry stored as <paramref name="value"/> under <paramref name="domain"/>, or null when anything in it is
    /// unusable: another version, a damaged header, bytes that are not UTF-8, times out of range, or a policy text that
    /// no longer parses (stored by a laxer parser: refetch rather than enforce it).
    /// </summary>
    public static CachedMtaStsPolicy? TryDecode(string domain, ReadOnlySpan<byte> value)
    {
        int newline = value[..Math.Min(value.Length, MaxHeaderBytes)].IndexOf((byte)'\n');
        if (newline < 0)
        {
            return null;
        }

        string[] fields = Encoding.ASCII.GetString(value[..newline]).Split(' '); // non-ASCII bytes become '?' and fail below
        if (fields.Length is not (5 or 6) || (fields.Length == 6 && fields[5] != NotWithoutDane)
            || !TryNumber(fields[0], out long version) || version != Version
            || !TryTime(fields[1], out var fetched)
            || !TryTime(fields[2], out var expires)
            || !TryTime(fields[3], out var checkedAt)
            || !TryNumber(fields[4], out long idLength) || idLength < 0 || idLength > value.Length - newline - 1)
        {
            return null;
        }

        ReadOnlySpan<byte> rest = value[(newline + 1)..];
        string id, text;
        try
        {
            id = s_strictUtf8.GetString(rest[..(int)idLength]);
            text = s_strictUtf8.GetString(rest[(int)idLength..]);
        }
        catch (DecoderFallbackException)
        {
            return null;
        }

        return MtaStsPolicyParser.Parse(text).Policy is { } policy
            ? new CachedMtaStsPolicy(domain, id, policy, fetched, expires, checkedAt) { DecidedWithoutDane = fields.Length == 5 }
            : null;
    }

    private static bool TryTime(string digits, out DateTimeOffset time)
    {
        time = default;
        if (!TryNumber(digits, out long ms) || ms < s_minUnixMs || ms > s_maxUnixMs)
        {
            return false;
        }

        time = DateTimeOffset.FromUnixTimeMilliseconds(ms);
        return true;
    }

    /// <summary>An optional minus and 1 to 19 ASCII digits, nothing else (no plus, no spaces, no exponent).</summary>
    private static bool TryNumber(string digits, out long number)
    {
        number = 0;
        ReadOnlySpan<char> body = digits.StartsWith('-') ? digits.AsSpan(1) : digits;
        if (body.Length is 0 or > 19 || body.ContainsAnyExceptInRange('0', '9'))
        {
            return false;
        }

        return long.TryParse(digits, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out number);
    }
}
