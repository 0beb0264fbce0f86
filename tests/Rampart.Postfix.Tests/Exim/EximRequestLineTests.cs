using System.Buffers;
using System.Text;
using Rampart.Postfix.Exim;

namespace Rampart.Postfix.Tests.Exim;

/// <summary>Finding and reading the one request line: pure, over byte sequences as the pipe hands them.</summary>
public sealed class EximRequestLineTests
{
    private static ReadOnlySequence<byte> Bytes(string s) => new(Encoding.UTF8.GetBytes(s));

    [Theory]
    [InlineData("example.org\n", false, "Complete", "example.org", false)]
    [InlineData("example.org\r\n", false, "Complete", "example.org", false)]
    [InlineData("example.org\nmore\n", false, "Complete", "example.org", true)]
    [InlineData("example.o", false, "Incomplete", "", false)]
    [InlineData("example.org", true, "Complete", "example.org", false)]
    [InlineData("", true, "Empty", "", false)]
    public void TryRead_Forms(string arrived, bool peerDone, string status, string line, bool more)
    {
        Assert.Equal(Enum.Parse<EximLineStatus>(status), EximRequestLine.TryRead(Bytes(arrived), peerDone, out var found, out var after));
        Assert.Equal(line, Encoding.UTF8.GetString(found.ToArray()));
        Assert.Equal(more, after);
    }

    [Fact]
    public void TryRead_LongLine_TooLongOnlyPastTheLimit_EvenSplitAcrossSegments()
    {
        var limit = new string('a', EximRequestLine.MaxBytes - 1) + "\n";
        Assert.Equal(EximLineStatus.Complete, EximRequestLine.TryRead(Bytes(limit), false, out _, out _));
        Assert.Equal(EximLineStatus.TooLong, EximRequestLine.TryRead(Bytes(new string('a', EximRequestLine.MaxBytes)), false, out _, out _));
        Assert.Equal(EximLineStatus.TooLong, EximRequestLine.TryRead(Bytes(new string('a', EximRequestLine.MaxBytes) + "\n"), true, out _, out _));

        var split = Postfix.Tests.Socketmap.SequenceBuilder.Split(Encoding.ASCII.GetBytes("exam\r\nple"), [5]); // CR and LF in two segments
        Assert.Equal(EximLineStatus.Complete, EximRequestLine.TryRead(split, false, out var line, out var more));
        Assert.Equal("exam", Encoding.ASCII.GetString(line.ToArray()));
        Assert.True(more);
    }

    [Theory]
    [InlineData("Example.ORG.", "Example.ORG.")]
    [InlineData("  münchen.example ", "münchen.example")]
    public void TryParse_Text_KeyAsSent(string text, string key)
    {
        Assert.True(EximRequestLine.TryParse(Bytes(text), out var parsed, out _));
        Assert.Equal(key, parsed);
    }

    [Theory]
    [InlineData("", "request line is empty")]
    [InlineData("   ", "request line is empty")]
    [InlineData("a\tb", "request has a control character (U+0009) at offset 1")]
    public void TryParse_Bad_Why(string text, string error)
    {
        Assert.False(EximRequestLine.TryParse(Bytes(text), out _, out var why));
        Assert.Equal(error, why);
    }
}
