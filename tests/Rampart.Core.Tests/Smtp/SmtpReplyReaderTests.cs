using System.Text;
using Rampart.Core.Smtp;

namespace Rampart.Core.Tests.Smtp;

public class SmtpReplyReaderTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Returns at most one byte per read, so CR and LF arrive in separate reads.</summary>
    private sealed class OneByteStream(byte[] data) : Stream
    {
        private int _position;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => data.Length;
        public override long Position { get => _position; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_position == data.Length || count == 0)
            {
                return 0;
            }
            buffer[offset] = data[_position++];
            return 1;
        }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    private static SmtpReplyReader Reader(string text, int maxLineBytes = 512, bool oneByteAtATime = false)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        return new SmtpReplyReader(oneByteAtATime ? new OneByteStream(bytes) : new MemoryStream(bytes), maxLineBytes);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ReadReplyAsync_MultiLineWithCrLfAndBareLf_OneReplyCodeFromLastLine(bool oneByteAtATime)
    {
        var reader = Reader("250-first\r\n250-second\n250 third\r\n", oneByteAtATime: oneByteAtATime);

        var reply = await reader.ReadReplyAsync(Ct);

        Assert.Equal(250, reply.Code);
        Assert.Equal(["first", "second", "third"], reply.Lines);
        Assert.Equal("250 first / second / third", reply.ToString());
    }

    [Fact]
    public async Task ReadReplyAsync_TwoReplies_ReadInTurnWithoutLoss()
    {
        var reader = Reader("220 hi\r\n250-a\r\n250 b\r\n");

        var first = await reader.ReadReplyAsync(Ct);
        Assert.Equal(18 - 4, reader.BufferedByteCount);
        var second = await reader.ReadReplyAsync(Ct);

        Assert.Equal(220, first.Code);
        Assert.Equal(["a", "b"], second.Lines);
        Assert.Equal(0, reader.BufferedByteCount);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ReadReplyAsync_LineExactlyAtLimitWithCrLf_Accepted(bool oneByteAtATime)
    {
        var line = "220 " + new string('a', 508);
        var reader = Reader(line + "\r\n", maxLineBytes: 512, oneByteAtATime: oneByteAtATime);

        var reply = await reader.ReadReplyAsync(Ct);

        Assert.Equal(508, reply.Lines[0].Length);
    }

    [Theory]
    [InlineData("\r\n", false)]
    [InlineData("\r\n", true)]
    [InlineData("\n", false)]
    public async Task ReadReplyAsync_LineOneOverLimit_Violation(string ending, bool oneByteAtATime)
    {
        var reader = Reader("220 " + new string('a', 509) + ending, maxLineBytes: 512, oneByteAtATime: oneByteAtATime);

        var ex = await Assert.ThrowsAsync<SmtpProtocolViolation>(() => reader.ReadReplyAsync(Ct));

        Assert.StartsWith("reply line longer than 512 bytes", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadReplyAsync_EndlessLineWithoutNewline_StopsAtLimitNotAtEof()
    {
        var reader = Reader("220 " + new string('a', 100_000), maxLineBytes: 512);

        var ex = await Assert.ThrowsAsync<SmtpProtocolViolation>(() => reader.ReadReplyAsync(Ct));

        Assert.StartsWith("reply line longer than 512 bytes", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadReplyAsync_EofInsideReply_ViolationShowsWhatWasSeen()
    {
        var reader = Reader("250-one\r\n250-tw");

        var ex = await Assert.ThrowsAsync<SmtpProtocolViolation>(() => reader.ReadReplyAsync(Ct));

        Assert.Equal("connection closed by the server after \"250-one\\n250-tw\"", ex.Message);
    }

    [Fact]
    public async Task ReadReplyAsync_EofBeforeAnything_Violation()
    {
        var ex = await Assert.ThrowsAsync<SmtpProtocolViolation>(() => Reader("").ReadReplyAsync(Ct));

        Assert.Equal("connection closed by the server", ex.Message);
    }

    [Fact]
    public async Task ReadReplyAsync_ControlCharactersInText_EscapedInMessages()
    {
        var ex = await Assert.ThrowsAsync<SmtpProtocolViolation>(() => Reader("2x0 \u001b[31mred\r\n").ReadReplyAsync(Ct));

        Assert.Equal("malformed reply line \"2x0 \\x1B[31mred\"", ex.Message);
    }

    [Fact]
    public async Task ReadReplyAsync_TooManyLines_Violation()
    {
        var text = string.Concat(Enumerable.Repeat("250-x\r\n", SmtpReplyReader.MaxReplyLines + 5)) + "250 end\r\n";

        var ex = await Assert.ThrowsAsync<SmtpProtocolViolation>(() => Reader(text).ReadReplyAsync(Ct));

        Assert.Equal($"reply has more than {SmtpReplyReader.MaxReplyLines} lines", ex.Message);
    }

    [Theory]
    [InlineData("250 OK", 250, true, "OK")]
    [InlineData("250-SIZE 100", 250, false, "SIZE 100")]
    [InlineData("220", 220, true, "")]
    [InlineData("554 ", 554, true, "")]
    public void TryParseLine_ValidLines_Parsed(string line, int code, bool isLast, string text)
    {
        Assert.True(SmtpReplyReader.TryParseLine(line, out var c, out var last, out var t));
        Assert.Equal((code, isLast, text), (c, last, t));
    }

    [Theory]
    [InlineData("")]
    [InlineData("25")]
    [InlineData("25a OK")]
    [InlineData("650 OK")]
    [InlineData("250OK")]
    [InlineData("250_OK")]
    [InlineData(" 250 OK")]
    public void TryParseLine_InvalidLines_Rejected(string line) =>
        Assert.False(SmtpReplyReader.TryParseLine(line, out _, out _, out _));
}
