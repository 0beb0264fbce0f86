using System.Globalization;
using System.Text;

namespace Rampart.Core.MtaSts;

/// <summary>The server broke HTTP/1.1 framing (RFC 9112).</summary>
internal sealed class HttpProtocolViolation(string message) : Exception(message);

/// <summary>Status line and headers of an HTTP/1.x response.</summary>
internal sealed record Http1ResponseHead(int StatusCode, string Reason, IReadOnlyList<KeyValuePair<string, string>> Headers)
{
    public string? Header(string name)
    {
        foreach (var (key, value) in Headers)
        {
            if (key.Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                return value;
            }
        }
        return null;
    }
}

/// <summary>
/// A minimal, bounded HTTP/1.1 response reader: the head is capped at a byte limit, the body (Content-Length,
/// chunked, or read to close) is capped while it is read, so no answer can make it buffer without bound.
/// </summary>
internal sealed class Http1ResponseReader(Stream stream, int maxHeaderBytes)
{
    private readonly byte[] _buffer = new byte[8192];
    private int _start;
    private int _end;

    public async Task<Http1ResponseHead> ReadHeadAsync(CancellationToken cancellationToken)
    {
        var statusLine = await ReadLineAsync(maxHeaderBytes, cancellationToken).ConfigureAwait(false)
            ?? throw new HttpProtocolViolation("connection closed before a status line");
        var budget = maxHeaderBytes - statusLine.Length;
        var parts = statusLine.Split(' ', 3);
        if (parts.Length < 2 || !parts[0].StartsWith("HTTP/1.", StringComparison.Ordinal) || parts[1].Length != 3
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var status))
        {
            throw new HttpProtocolViolation($"not an HTTP/1.x status line: '{Printable(statusLine)}'");
        }
        var headers = new List<KeyValuePair<string, string>>();
        while (true)
        {
            var line = await ReadLineAsync(budget, cancellationToken).ConfigureAwait(false)
                ?? throw new HttpProtocolViolation("connection closed inside the response headers");
            budget -= line.Length + 2;
            if (line.Length == 0)
            {
                break;
            }
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                throw new HttpProtocolViolation($"malformed header line: '{Printable(line)}'");
            }
            headers.Add(new(line[..colon].Trim(), line[(colon + 1)..].Trim()));
        }
        return new Http1ResponseHead(status, parts.Length > 2 ? parts[2] : "", headers);
    }

    /// <summary>Reads the body; returns null as soon as it would exceed <paramref name="maxBytes"/>.</summary>
    public async Task<byte[]?> ReadBodyAsync(Http1ResponseHead head, int maxBytes, CancellationToken cancellationToken)
    {
        var transferEncoding = head.Header("Transfer-Encoding");
        if (transferEncoding is not null && transferEncoding.Contains("chunked", StringComparison.OrdinalIgnoreCase))
        {
            return await ReadChunkedAsync(maxBytes, cancellationToken).ConfigureAwait(false);
        }
        var lengthHeader = head.Header("Content-Length");
        if (lengthHeader is not null)
        {
            if (!long.TryParse(lengthHeader, NumberStyles.None, CultureInfo.InvariantCulture, out var length))
            {
                throw new HttpProtocolViolation($"invalid Content-Length '{Printable(lengthHeader)}'");
            }
            if (length > maxBytes)
            {
                return null;
            }
            var body = new byte[length];
            await ReadExactlyAsync(body, cancellationToken).ConfigureAwait(false);
            return body;
        }
        using var collected = new MemoryStream();
        while (true)
        {
            var read = await FillAsync(cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                return collected.ToArray();
            }
            if (collected.Length + (_end - _start) > maxBytes)
            {
                return null;
            }
            collected.Write(_buffer, _start, _end - _start);
            _start = _end;
        }
    }

    private async Task<byte[]?> ReadChunkedAsync(int maxBytes, CancellationToken cancellationToken)
    {
        using var collected = new MemoryStream();
        while (true)
        {
            var sizeLine = await ReadLineAsync(1024, cancellationToken).ConfigureAwait(false)
                ?? throw new HttpProtocolViolation("connection closed inside a chunked body");
            var semicolon = sizeLine.IndexOf(';', StringComparison.Ordinal);
            var hex = (semicolon < 0 ? sizeLine : sizeLine[..semicolon]).Trim();
            if (!long.TryParse(hex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var size) || size < 0)
            {
                throw new HttpProtocolViolation($"invalid chunk size '{Printable(sizeLine)}'");
            }
            if (size == 0)
            {
                // Trailer section: read and ignore up to the empty line.
                while (!string.IsNullOrEmpty(await ReadLineAsync(maxHeaderBytes, cancellationToken).ConfigureAwait(false)))
                {
                }
                return collected.ToArray();
            }
            if (collected.Length + size > maxBytes)
            {
                return null;
            }
            var chunk = new byte[size];
            await ReadExactlyAsync(chunk, cancellationToken).ConfigureAwait(false);
            collected.Write(chunk);
            if (await ReadLineAsync(2, cancellationToken).ConfigureAwait(false) is not "")
            {
                throw new HttpProtocolViolation("chunk not followed by CRLF");
            }
        }
    }

    private async Task ReadExactlyAsync(byte[] target, CancellationToken cancellationToken)
    {
        var filled = 0;
        while (filled < target.Length)
        {
            if (_start == _end && await FillAsync(cancellationToken).ConfigureAwait(false) == 0)
            {
                throw new HttpProtocolViolation($"connection closed after {filled} of {target.Length} body bytes");
            }
            var n = Math.Min(target.Length - filled, _end - _start);
            Buffer.BlockCopy(_buffer, _start, target, filled, n);
            _start += n;
            filled += n;
        }
    }

    /// <summary>Reads one CRLF- (or LF-) terminated line as Latin-1; null at end of stream before any byte.</summary>
    private async Task<string?> ReadLineAsync(int maxBytes, CancellationToken cancellationToken)
    {
        var line = new StringBuilder();
        while (true)
        {
            if (_start == _end && await FillAsync(cancellationToken).ConfigureAwait(false) == 0)
            {
                return line.Length == 0 ? null : throw new HttpProtocolViolation("connection closed inside a line");
            }
            var newline = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
            var stop = newline < 0 ? _end : newline;
            if (line.Length + (stop - _start) > maxBytes)
            {
                throw new HttpProtocolViolation($"response head exceeds {maxHeaderBytes} bytes");
            }
            line.Append(Encoding.Latin1.GetString(_buffer, _start, stop - _start));
            if (newline < 0)
            {
                _start = _end;
                continue;
            }
            _start = newline + 1;
            if (line.Length > 0 && line[^1] == '\r')
            {
                line.Length--;
            }
            return line.ToString();
        }
    }

    private async Task<int> FillAsync(CancellationToken cancellationToken)
    {
        if (_start < _end)
        {
            return _end - _start;
        }
        _start = 0;
        _end = await stream.ReadAsync(_buffer, cancellationToken).ConfigureAwait(false);
        return _end;
    }

    private static string Printable(string s)
    {
        var cut = s.Length > 80 ? s[..80] + "…" : s;
        return new string(cut.Select(c => char.IsControl(c) ? '?' : c).ToArray());
    }
}
