using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace Rampart.Postfix.Socketmap;

/// <summary>
/// One socketmap request payload, <c>&lt;name&gt; &lt;key&gt;</c> (socketmap_table(5)): the map name is everything up to
/// the first space (non-empty), the key is the rest (non-empty, may itself hold spaces; <see cref="SocketmapKey"/>
/// judges it). The payload must be valid UTF-8 without control characters. A payload that breaks these rules is a
/// request-level error: the server replies <c>PERM</c> and keeps the connection.
/// </summary>
internal sealed record SocketmapRequest(string MapName, string Key)
{
    private static readonly UTF8Encoding s_strictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static bool TryParse(
        in ReadOnlySequence<byte> payload,
        [NotNullWhen(true)] out SocketmapRequest? request,
        [NotNullWhen(false)] out string? error) =>
        payload.IsSingleSegment
            ? TryParse(payload.FirstSpan, out request, out error)
            : TryParse(payload.ToArray(), out request, out error);

    public static bool TryParse(
        ReadOnlySpan<byte> payload,
        [NotNullWhen(true)] out SocketmapRequest? request,
        [NotNullWhen(false)] out string? error)
    {
        request = null;
        if (!TryDecodeText(payload, out var text, out error))
        {
            return false;
        }

        int space = text.IndexOf(' ', StringComparison.Ordinal);
        if (space < 0)
        {
            error = "request has no space between map name and key";
            return false;
        }

        if (space == 0)
        {
            error = "request has an empty map name";
            return false;
        }

        if (space == text.Length - 1)
        {
            error = "request has an empty key";
            return false;
        }

        request = new SocketmapRequest(text[..space], text[(space + 1)..]);
        error = null;
        return true;
    }

    /// <summary>
    /// The request's text: valid UTF-8 with no control character (C0, DEL or C1). The one rule for what a request may
    /// hold, shared by the socketmap payload and the Exim request line.
    /// </summary>
    internal static bool TryDecodeText(ReadOnlySpan<byte> payload, [NotNullWhen(true)] out string? text, [NotNullWhen(false)] out string? error)
    {
        text = null;
        if (!System.Text.Unicode.Utf8.IsValid(payload))
        {
            error = "request is not valid UTF-8";
            return false;
        }

        var decoded = s_strictUtf8.GetString(payload);
        int control = decoded.AsSpan().IndexOfAnyInRange('\0', '\x1f');
        if (control < 0)
        {
            control = decoded.AsSpan().IndexOfAnyInRange('\x7f', '\x9f');
        }

        if (control >= 0)
        {
            error = $"request has a control character (U+{(int)decoded[control]:X4}) at offset {control}";
            return false;
        }

        text = decoded;
        error = null;
        return true;
    }
}
