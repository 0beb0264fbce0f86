using System.Text;

namespace Rampart.Core.Smtp;

/// <summary>The server broke SMTP reply framing (RFC 5321 §4.2), closed the connection inside a reply, or sent too much.</summary>
internal sealed class SmtpProtocolViolation(string message) : Exception(message);

/// <summary>
/// One SMTP reply (RFC 5321 §4.2): the code and the text of each line without the code and separator.
/// Postfix's smtp client is the model: the code is taken from the last line.
/// </summary>
internal sealed record SmtpReply(int Code, IReadOnlyList<string> Lines)
{
    /// <summary>The reply as one line for messages: <c>454 4.7.0 TLS not available</c>; lines of a multi-line reply are joined with " / ".</summary>
    public override string ToString() =>
        SmtpText.Printable(Lines.Count == 0 || Lines.All(l => l.Length == 0) ? $"{Code}" : $"{Code} {string.Join(" / ", Lines)}");
}

/// <summary>
/// Reads SMTP replies from a stream with bounded memory: a line longer than <c>maxLineBytes</c> (CR/LF excluded) or a
/// reply of more than <see cref="MaxReplyLines"/> lines is a protocol violation. Lines end in CRLF; a bare LF is
/// tolerated, as Postfix does. Bytes are read in chunks, so bytes the server sent after a reply stay in the buffer:
/// <see cref="BufferedByteCount"/> tells whether the server sent more than it was asked for.
/// </summary>
internal sealed class SmtpReplyReader(Stream stream, int maxLineBytes)
{
    public const int MaxReplyLines = 128;

    private readonly byte[] _buffer = new byte[4096];
    // One byte of slack for the CR of a CRLF, which is not part of the line's length.
    private readonly byte[] _line = new byte[maxLineBytes + 1];
    private int _lineLength;
    private readonly List<string> _pendingLines = [];
    private int _start;
    private int _end;

    /// <summary>Bytes received but not yet consumed as part of a reply.</summary>
    public int BufferedByteCount => _end - _start;

    /// <summary>What has arrived of the reply being read (complete lines and the partial one), for timeout and EOF messages.</summary>
    public string ReceivedSoFar
    {
        get
        {
            var partial = _lineLength > 0 ? Decode(_line.AsSpan(0, _lineLength)) : null;
            var lines = partial is null ? _pendingLines : [.. _pendingLines, partial];
            return SmtpText.Printable(string.Join("\n", lines));
        }
    }

    public async Task<SmtpReply> ReadReplyAsync(CancellationToken cancellationToken)
    {
        _pendingLines.Clear();
        var texts = new List<string>();
        while (true)
        {
            var line = await ReadLineAsync(cancellationToken).ConfigureAwait(false);
            if (!TryParseLine(line, out var code, out var isLast, out var text))
            {
                throw new SmtpProtocolViolation($"malformed reply line \"{SmtpText.Printable(line)}\"");
            }
            _pendingLines.Add(line);
            texts.Add(text);
            if (isLast)
            {
                _pendingLines.Clear();
                return new SmtpReply(code, texts);
            }
            if (texts.Count >= MaxReplyLines)
            {
                throw new SmtpProtocolViolation($"reply has more than {MaxReplyLines} lines");
            }
        }
    }

    /// <summary>
    /// RFC 5321 §4.2: <c>Reply-line = *( Reply-code "-" [ textstring ] CRLF ) Reply-code [ SP textstring ] CRLF</c>.
    /// A code alone on the last line (no SP) is accepted.
    /// </summary>
    internal static bool TryParseLine(string line, out int code, out bool isLast, out string text)
    {
        code = 0;
        isLast = false;
        text = "";
        if (line.Length < 3 || line[0] is < '1' or > '5' || !char.IsAsciiDigit(line[1]) || !char.IsAsciiDigit(line[2]))
        {
            return false;
        }
        code = ((line[0] - '0') * 100) + ((line[1] - '0') * 10) + (line[2] - '0');
        if (line.Length == 3)
        {
            isLast = true;
            return true;
        }
        if (line[3] is not ('-' or ' '))
        {
            return false;
        }
        isLast = line[3] == ' ';
        text = line[4..];
        return true;
    }

    private async Task<string> ReadLineAsync(CancellationToken cancellationToken)
    {
        _lineLength = 0;
        while (true)
        {
            var available = _buffer.AsSpan(_start, _end - _start);
            var lf = available.IndexOf((byte)'\n');
            var take = lf < 0 ? available : available[..lf];
            if (_lineLength + take.Length > _line.Length)
            {
                throw LineTooLong(take);
            }
            take.CopyTo(_line.AsSpan(_lineLength));
            _lineLength += take.Length;
            if (lf >= 0)
            {
                _start += lf + 1;
                var bytes = _line.AsSpan(0, _lineLength);
                if (bytes.Length > 0 && bytes[^1] == (byte)'\r')
                {
                    bytes = bytes[..^1];
                }
                if (bytes.Length > maxLineBytes)
                {
                    throw LineTooLong([]);
                }
                var line = Decode(bytes);
                _lineLength = 0;
                return line;
            }
            _start = _end = 0;
            var read = await stream.ReadAsync(_buffer, cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                var seen = ReceivedSoFar;
                throw new SmtpProtocolViolation(seen.Length == 0
                    ? "connection closed by the server"
                    : $"connection closed by the server after \"{seen}\"");
            }
            _end = read;
        }
    }

    private SmtpProtocolViolation LineTooLong(ReadOnlySpan<byte> more)
    {
        var start = new byte[Math.Min(60, _lineLength + more.Length)];
        var fromLine = Math.Min(start.Length, _lineLength);
        _line.AsSpan(0, fromLine).CopyTo(start);
        more[..(start.Length - fromLine)].CopyTo(start.AsSpan(fromLine));
        return new SmtpProtocolViolation($"reply line longer than {maxLineBytes} bytes (it starts \"{SmtpText.Printable(Decode(start))}…\")");
    }

    private static string Decode(ReadOnlySpan<byte> bytes) => Encoding.UTF8.GetString(bytes);
}

internal static class SmtpText
{
    private const int MaxPrintable = 300;

    /// <summary>Server text made safe for messages and logs: control characters escaped, length capped.</summary>
    public static string Printable(string text)
    {
        var builder = new StringBuilder(Math.Min(text.Length, MaxPrintable) + 8);
        foreach (var c in text)
        {
            if (builder.Length >= MaxPrintable)
            {
                builder.Append('…');
                break;
            }
            if (c == '\n')
            {
                builder.Append("\\n");
            }
            else if (char.IsControl(c))
            {
                builder.Append($"\\x{(int)c:X2}");
            }
            else
            {
                builder.Append(c);
            }
        }
        return builder.ToString();
    }
}
