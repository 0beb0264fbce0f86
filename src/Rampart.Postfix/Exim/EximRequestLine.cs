using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using Rampart.Postfix.Socketmap;

namespace Rampart.Postfix.Exim;

/// <summary>How far the request line has arrived.</summary>
internal enum EximLineStatus
{
    /// <summary>A whole line (up to its newline, or everything the peer sent before it shut down its sending half).</summary>
    Complete,
    /// <summary>No newline yet and still room: read more.</summary>
    Incomplete,
    /// <summary>More than <see cref="EximRequestLine.MaxBytes"/> without a newline: refused.</summary>
    TooLong,
    /// <summary>The peer shut down without sending a byte.</summary>
    Empty,
}

/// <summary>
/// The request of the Exim line protocol (docs/exim.md): one line, <c>DOMAIN\n</c>, as Exim's
/// <c>${readsocket{…}{$domain\n}…}</c> writes it before it shuts down its sending half. The line ends at the first LF
/// (a CR before it is dropped); a peer that shuts down without a newline sent its whole line. Anything after the first
/// line is ignored: one request per connection. The line's text follows the socketmap payload's rule (UTF-8, no control
/// characters: <see cref="SocketmapRequest.TryDecodeText"/>) and must not be empty; the domain in it is judged by the
/// same key rule as Postfix's (<see cref="SocketmapKey"/>).
/// </summary>
internal static class EximRequestLine
{
    /// <summary>The longest line accepted, newline included: a domain name has at most 253 octets, U-labels a few more.</summary>
    public const int MaxBytes = 1024;

    /// <summary>
    /// Finds the request line in what has arrived; <paramref name="peerDone"/>: the peer has shut down its sending half.
    /// <paramref name="more"/>: bytes arrived after the line's newline (a second line: the client sends what is never read).
    /// </summary>
    public static EximLineStatus TryRead(in ReadOnlySequence<byte> buffer, bool peerDone, out ReadOnlySequence<byte> line, out bool more)
    {
        line = default;
        more = false;
        var limited = buffer.Length > MaxBytes ? buffer.Slice(0, MaxBytes) : buffer;
        if (limited.PositionOf((byte)'\n') is { } newline)
        {
            line = buffer.Slice(0, newline);
            more = buffer.Slice(newline).Length > 1;
            if (line.Length > 0 && line.Slice(line.Length - 1).FirstSpan[0] == (byte)'\r')
            {
                line = line.Slice(0, line.Length - 1);
            }
            return EximLineStatus.Complete;
        }
        if (buffer.Length >= MaxBytes)
        {
            return EximLineStatus.TooLong;
        }
        if (!peerDone)
        {
            return EximLineStatus.Incomplete;
        }
        line = buffer;
        return buffer.IsEmpty ? EximLineStatus.Empty : EximLineStatus.Complete;
    }

    /// <summary>The key in a complete line (surrounding spaces removed), or why the line is not a request.</summary>
    public static bool TryParse(in ReadOnlySequence<byte> line, [NotNullWhen(true)] out string? key, [NotNullWhen(false)] out string? error)
    {
        key = null;
        if (!SocketmapRequest.TryDecodeText(line.IsSingleSegment ? line.FirstSpan : line.ToArray(), out var text, out error))
        {
            return false;
        }
        text = text.Trim(' ');
        if (text.Length == 0)
        {
            error = "request line is empty";
            return false;
        }
        key = text;
        return true;
    }
}
