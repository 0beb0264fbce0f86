using System.Buffers;
using System.Buffers.Text;

namespace Rampart.Postfix.Socketmap;

/// <summary>
/// Netstring framing (D. J. Bernstein, <c>netstrings.txt</c>), as used by Postfix's socketmap protocol
/// (socketmap_table(5)). Pure functions over buffers, shaped like Bedrock's <c>IMessageReader.TryParseMessage</c>.
/// <code>
///   12:hello world!,
///   └┬┘└────┬─────┘└ ','
///    │      └ payload: exactly len bytes, any content
///    └ len: ASCII decimal, no sign, no leading zeros except "0" itself, then ':'
/// </code>
/// </summary>
internal static class Netstring
{
    /// <summary>The longest length prefix accepted: 6 digits, so never more than 999999 payload bytes.</summary>
    public const int MaxDigits = 6;

    /// <summary>The largest <c>maxLength</c> that <see cref="TryRead"/> accepts (6 digits).</summary>
    public const int MaxLength = 999_999;

    /// <summary>
    /// Reads one frame from the start of <paramref name="buffer"/>. On success <paramref name="buffer"/> is advanced past
    /// the frame and <paramref name="payload"/> is a slice of the original buffer. When the frame is not complete yet it
    /// returns false and leaves <paramref name="buffer"/> untouched.
    /// </summary>
    /// <exception cref="NetstringFormatException">The bytes can never become a valid frame (the connection must close).</exception>
    public static bool TryRead(ref ReadOnlySequence<byte> buffer, int maxLength, out ReadOnlySequence<byte> payload)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxLength);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxLength, MaxLength);
        payload = default;

        var reader = new SequenceReader<byte>(buffer);
        int length = 0;
        int digits = 0;
        while (true)
        {
            if (!reader.TryRead(out byte b))
            {
                return false;
            }

            if (b == (byte)':')
            {
                if (digits == 0)
                {
                    throw new NetstringFormatException("netstring length is empty (':' at offset 0)", 0);
                }

                break;
            }

            if (b is < (byte)'0' or > (byte)'9')
            {
                throw new NetstringFormatException(
                    $"netstring length has a byte other than a digit or ':' at offset {reader.Consumed - 1} (0x{b:X2})",
                    reader.Consumed - 1);
            }

            if (digits == 1 && length == 0)
            {
                throw new NetstringFormatException("netstring length has a leading zero", reader.Consumed - 1);
            }

            digits++;
            length = (length * 10) + (b - '0');
            if (digits > MaxDigits || length > maxLength)
            {
                throw new NetstringFormatException(
                    $"netstring length exceeds the limit of {maxLength} bytes", reader.Consumed - 1);
            }
        }

        if (reader.Remaining < length + 1L)
        {
            return false;
        }

        var start = reader.Position;
        reader.Advance(length);
        var body = buffer.Slice(start, reader.Position);
        reader.TryRead(out byte terminator);
        if (terminator != (byte)',')
        {
            throw new NetstringFormatException(
                $"netstring of {length} bytes is not followed by ',' (0x{terminator:X2} at offset {reader.Consumed - 1})",
                reader.Consumed - 1);
        }

        payload = body;
        buffer = buffer.Slice(reader.Position);
        return true;
    }

    /// <summary>Writes <paramref name="payload"/> as one netstring. The caller enforces any size limit.</summary>
    public static void Write(IBufferWriter<byte> output, ReadOnlySpan<byte> payload)
    {
        ArgumentNullException.ThrowIfNull(output);
        Span<byte> head = stackalloc byte[11 + 1];
        Utf8Formatter.TryFormat(payload.Length, head, out int written);
        head[written++] = (byte)':';
        output.Write(head[..written]);
        output.Write(payload);
        output.Write(","u8);
    }
}
