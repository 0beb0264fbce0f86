using System.Text;
using Rampart.Postfix.Socketmap;

namespace Rampart.Postfix.Tests.Socketmap;

/// <summary>The reply's one size rule and its encoding: the text logged and the bytes sent are one value.</summary>
public sealed class SocketmapReplyTests
{
    [Fact]
    public void Statuses_SpelledAsSocketmapTableSays()
    {
        Assert.Equal("NOTFOUND ", SocketmapReply.NotFound.Text);
        Assert.Equal("OK dane", SocketmapReply.Ok("dane").Text);
        Assert.Equal("TEMP internal error", SocketmapReply.Temp("internal error").Text);
        Assert.Equal("TIMEOUT lookup timed out", SocketmapReply.Timeout("lookup timed out").Text);
        Assert.Equal("PERM malformed request", SocketmapReply.Perm("malformed request").Text);
        Assert.Equal(["OK", "NOTFOUND", "TEMP", "TIMEOUT", "PERM"],
            new[] { SocketmapReply.Ok("x"), SocketmapReply.NotFound, SocketmapReply.Temp("x"), SocketmapReply.Timeout("x"), SocketmapReply.Perm("x") }
                .Select(r => r.StatusWord));
    }

    [Theory]
    [InlineData("OK secure match=bücher.example servername=hostname")]
    [InlineData("NOTFOUND ")]
    [InlineData("TEMP MX lookup for example.org failed")]
    public void Encoded_IsTheTextInUtf8(string text)
    {
        var reply = text.StartsWith("OK ", StringComparison.Ordinal) ? SocketmapReply.Ok(text[3..])
            : text.StartsWith("TEMP ", StringComparison.Ordinal) ? SocketmapReply.Temp(text[5..])
            : SocketmapReply.NotFound;

        Assert.Equal(text, reply.Text);
        Assert.Equal(Encoding.UTF8.GetBytes(text), reply.Encoded.ToArray());
    }

    [Fact]
    public void Reason_ControlCharactersBecomeSpaces()
    {
        Assert.Equal("TEMP a b c", SocketmapReply.Temp("a\nb\rc").Text);
    }

    [Fact]
    public void Size_ExactlyTheLimitIsSent_OneByteMoreIsTempReplyTooLong()
    {
        var biggest = SocketmapReply.Ok(new string('x', SocketmapReply.MaxBytes - "OK ".Length));
        var tooBig = SocketmapReply.Ok(new string('x', SocketmapReply.MaxBytes - "OK ".Length + 1));

        Assert.Equal(SocketmapReply.MaxBytes, biggest.Encoded.Length);
        Assert.Equal(0, biggest.RefusedBytes);
        Assert.Equal("TEMP reply too long", tooBig.Text);
        Assert.Equal(SocketmapStatus.Temp, tooBig.Status);
        Assert.Equal(SocketmapReply.MaxBytes + 1, tooBig.RefusedBytes);
        Assert.Equal("TEMP reply too long"u8.ToArray(), tooBig.Encoded.ToArray());
    }

    [Fact]
    public void Size_CountsUtf8BytesNotCharacters()
    {
        // 'ü' is two bytes: half as many characters reach the limit.
        var value = new string('ü', (SocketmapReply.MaxBytes - "OK ".Length) / 2);

        Assert.Equal(0, SocketmapReply.Ok(value).RefusedBytes);
        Assert.Equal("TEMP reply too long", SocketmapReply.Ok(value + "ü").Text);
    }
}
