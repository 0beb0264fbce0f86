using System.Buffers;
using System.Text;
using CsCheck;
using Rampart.Postfix.Socketmap;

namespace Rampart.Postfix.Tests.Socketmap;

public sealed class NetstringTests
{
    public static TheoryData<int> FramingCases()
    {
        var data = new TheoryData<int>();
        foreach (var (line, _) in Tsv.Rows("framing.tsv"))
        {
            data.Add(line);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(FramingCases))]
    public void TryRead_GoldenCase_MatchesExpected(int line)
    {
        var cells = Tsv.Rows("framing.tsv").Single(r => r.Line == line).Cells;
        int max = int.Parse(cells[0], System.Globalization.CultureInfo.InvariantCulture);
        byte[] input = Tsv.Bytes(cells[1]);
        string outcome = cells[2];
        string[] expectedFrames = [.. cells.Skip(4).Select(f => Tsv.Escape(Tsv.Bytes(f[1..^1])))];

        // The same answer whether the bytes came in one read or one byte per segment.
        foreach (var sequence in new[] { new ReadOnlySequence<byte>(input), SequenceBuilder.ByteByByte(input) })
        {
            var (frames, rest, error) = ReadAll(sequence, max);

            Assert.Equal(expectedFrames, frames.Select(f => Tsv.Escape(f)));
            if (outcome == "ok")
            {
                Assert.Null(error);
                Assert.Equal(Tsv.Escape(Tsv.Bytes(cells[3])), Tsv.Escape(rest));
            }
            else
            {
                Assert.Equal("error", outcome);
                Assert.NotNull(error);
            }
        }
    }

    [Fact]
    public void TryRead_Incomplete_LeavesBufferUntouched()
    {
        var buffer = new ReadOnlySequence<byte>("5:hel"u8.ToArray());
        var before = buffer;

        Assert.False(Netstring.TryRead(ref buffer, 100, out _));

        AssertUntouched(before, buffer);
    }

    [Fact]
    public void TryRead_CompleteFrame_PayloadIsSliceOfInput()
    {
        byte[] bytes = "5:hello,rest"u8.ToArray();
        var buffer = new ReadOnlySequence<byte>(bytes);

        Assert.True(Netstring.TryRead(ref buffer, 100, out var payload));

        Assert.Equal("hello", Encoding.ASCII.GetString(payload));
        Assert.Equal("rest", Encoding.ASCII.GetString(buffer));
        Assert.Equal(8, new ReadOnlySequence<byte>(bytes).Slice(0, buffer.Start).Length);
    }

    [Fact]
    public void TryRead_LengthOverMax_ErrorSaysWhy()
    {
        var buffer = new ReadOnlySequence<byte>("20000:"u8.ToArray());

        var ex = Assert.Throws<NetstringFormatException>(() => Netstring.TryRead(ref buffer, 16384, out _));

        Assert.Contains("16384", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(1_000_000)]
    public void TryRead_MaxLengthOutOfRange_Throws(int max)
    {
        var buffer = new ReadOnlySequence<byte>("0:,"u8.ToArray());

        Assert.Throws<ArgumentOutOfRangeException>(() => Netstring.TryRead(ref buffer, max, out _));
    }

    [Theory]
    [InlineData("", "0:,")]
    [InlineData("OK dane-only", "12:OK dane-only,")]
    [InlineData("NOTFOUND ", "9:NOTFOUND ,")]
    public void Write_Payload_ProducesNetstring(string payload, string expected)
    {
        var output = new ArrayBufferWriter<byte>();

        Netstring.Write(output, Encoding.UTF8.GetBytes(payload));

        Assert.Equal(expected, Encoding.UTF8.GetString(output.WrittenSpan));
    }

    [Fact]
    public void WriteThenTryRead_AnyPayloadAnySegmentation_RoundTrips()
    {
        Gen.Select(Gen.Byte.Array[0, 3000], Gen.Int[0, 4000].Array[0, 8]).Sample((payload, cuts) =>
        {
            var output = new ArrayBufferWriter<byte>();
            Netstring.Write(output, payload);
            var buffer = SequenceBuilder.Split(output.WrittenSpan.ToArray(), cuts);

            Assert.True(Netstring.TryRead(ref buffer, Netstring.MaxLength, out var read));

            Assert.Equal(payload, read.ToArray());
            Assert.True(buffer.IsEmpty);
        }, iter: 5_000);
    }

    [Fact]
    public void TryRead_EveryStrictPrefixOfAFrame_IsIncompleteNotAnError()
    {
        Gen.Byte.Array[0, 300].Sample(payload =>
        {
            var output = new ArrayBufferWriter<byte>();
            Netstring.Write(output, payload);
            byte[] frame = output.WrittenSpan.ToArray();
            for (int n = 0; n < frame.Length; n++)
            {
                var buffer = new ReadOnlySequence<byte>(frame, 0, n);

                Assert.False(Netstring.TryRead(ref buffer, 1000, out _));
                Assert.Equal(n, buffer.Length);
            }
        }, iter: 500);
    }

    [Fact]
    public void TryRead_ManyFramesConcatenated_ReadInOrder()
    {
        Gen.Byte.Array[0, 50].Array[0, 20].Select(Gen.Int[0, 2000].Array[0, 10]).Sample((payloads, cuts) =>
        {
            var output = new ArrayBufferWriter<byte>();
            foreach (var p in payloads)
            {
                Netstring.Write(output, p);
            }

            var (frames, rest, error) = ReadAll(SequenceBuilder.Split(output.WrittenSpan.ToArray(), cuts), 50);

            Assert.Null(error);
            Assert.Empty(rest);
            Assert.Equal(payloads.Select(p => Tsv.Escape(p)), frames.Select(f => Tsv.Escape(f)));
        }, iter: 2_000);
    }

    /// <summary>
    /// Arbitrary bytes (and netstring-ish noise): TryRead only ever throws <see cref="NetstringFormatException"/>,
    /// consumes exactly one frame from the front or nothing, never reaches past the buffer, and does not care how the
    /// bytes are split into segments.
    /// </summary>
    [Fact]
    public void TryRead_ArbitraryBytes_OnlyFormatErrorsAndStaysInBuffer()
    {
        var netstringish = Gen.OneOf<string>("0", "1", "3", "9", "10", "99", ":", ",", "abc", "0:", "3:abc,", " ", "-", "\0", "999999")
            .Array[0, 12].Select(parts => Encoding.ASCII.GetBytes(string.Concat(parts)));
        var bytes = Gen.OneOf(Gen.Byte.Array[0, 60], netstringish);

        Gen.Select(bytes, Gen.Int[0, 60].Array[0, 6], Gen.Int[0, 1000]).Sample((input, cuts, max) =>
        {
            var whole = Outcome(new ReadOnlySequence<byte>(input), max);
            var split = Outcome(SequenceBuilder.Split(input, cuts), max);

            Assert.Equal(whole, split);
            if (whole.Ok)
            {
                Assert.InRange(whole.Consumed, whole.PayloadLength + 3, input.Length);
                string frame = Encoding.Latin1.GetString(input, 0, (int)whole.Consumed);
                Assert.Equal(whole.PayloadLength.ToString(System.Globalization.CultureInfo.InvariantCulture) + ":", frame[..(frame.IndexOf(':', StringComparison.Ordinal) + 1)]);
                Assert.EndsWith(",", frame, StringComparison.Ordinal);
            }
        }, iter: 20_000);
    }

    private static (bool Ok, bool Error, long Consumed, long PayloadLength, string Payload) Outcome(ReadOnlySequence<byte> input, int max)
    {
        var buffer = input;
        try
        {
            if (Netstring.TryRead(ref buffer, max, out var payload))
            {
                // The payload lies inside the input, between the prefix and the comma.
                long start = input.Slice(0, payload.Start).Length;
                Assert.Equal(payload.Length, input.Slice(start, payload.Length).Length);
                Assert.Equal(input.End, buffer.End);
                return (true, false, input.Length - buffer.Length, payload.Length, Tsv.Escape(payload.ToArray()));
            }

            AssertUntouched(input, buffer);
            return (false, false, 0, 0, "");
        }
        catch (NetstringFormatException)
        {
            AssertUntouched(input, buffer);
            return (false, true, 0, 0, "");
        }
    }

    private static void AssertUntouched(ReadOnlySequence<byte> before, ReadOnlySequence<byte> after)
    {
        Assert.Equal(before.Start, after.Start);
        Assert.Equal(before.End, after.End);
    }

    private static (List<byte[]> Frames, byte[] Remaining, NetstringFormatException? Error) ReadAll(ReadOnlySequence<byte> buffer, int max)
    {
        var frames = new List<byte[]>();
        try
        {
            while (Netstring.TryRead(ref buffer, max, out var payload))
            {
                frames.Add(payload.ToArray());
            }

            return (frames, buffer.ToArray(), null);
        }
        catch (NetstringFormatException ex)
        {
            return (frames, buffer.ToArray(), ex);
        }
    }
}
