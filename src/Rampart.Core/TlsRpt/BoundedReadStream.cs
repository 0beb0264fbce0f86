namespace Rampart.Core.TlsRpt;

/// <summary>Thrown by <see cref="BoundedReadStream"/> once more than its limit has been read.</summary>
internal sealed class TlsRptSizeLimitException(long limit) : IOException($"more than {limit} bytes")
{
    public long Limit { get; } = limit;
}

/// <summary>
/// A read-only view of a stream that fails as soon as more than <c>limit</c> bytes come out of it, so a decompression
/// bomb or an oversized report stops while it is read, not after it has filled memory.
/// </summary>
internal sealed class BoundedReadStream(Stream inner, long limit, bool leaveOpen = false) : Stream
{
    private long _read;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => _read; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));

    public override int Read(Span<byte> buffer) => Count(inner.Read(buffer));

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        Count(await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    private int Count(int n)
    {
        _read += n;
        return _read > limit ? throw new TlsRptSizeLimitException(limit) : n;
    }

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing && !leaveOpen)
        {
            inner.Dispose();
        }
        base.Dispose(disposing);
    }
}

/// <summary>A read-only stream that first replays bytes already read (a sniffed prefix), then the rest of the source.</summary>
internal sealed class PrefixedReadStream(byte[] prefix, int prefixLength, Stream rest) : Stream
{
    private int _prefixOffset;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (_prefixOffset < prefixLength)
        {
            var n = Math.Min(buffer.Length, prefixLength - _prefixOffset);
            prefix.AsSpan(_prefixOffset, n).CopyTo(buffer);
            _prefixOffset += n;
            return n;
        }
        return rest.Read(buffer);
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_prefixOffset < prefixLength)
        {
            return Read(buffer.Span);
        }
        return await rest.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            rest.Dispose();
        }
        base.Dispose(disposing);
    }
}
