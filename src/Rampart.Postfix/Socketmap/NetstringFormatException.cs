namespace Rampart.Postfix.Socketmap;

/// <summary>
/// The peer broke netstring framing (a non-digit in the length, no ':' or ',', a length over the limit). This is a
/// connection-level fault: the stream can no longer be resynchronised, so the connection must be closed. A frame that
/// is well formed but carries a bad request is not this exception; it gets a <c>PERM</c> reply instead.
/// </summary>
internal sealed class NetstringFormatException : FormatException
{
    public NetstringFormatException(string message, long offset)
        : base(message) => Offset = offset;

    public NetstringFormatException()
    {
    }

    public NetstringFormatException(string message)
        : base(message)
    {
    }

    public NetstringFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Byte offset of the offending byte from the start of the frame.</summary>
    public long Offset { get; }
}
