namespace Rampart.Core.Tests;

public sealed class DisplayTextTests
{
    [Theory]
    [InlineData("\u001b[2J", "\\u001B[2J")]
    [InlineData("a\nb\r\n", "a\\u000Ab\\u000D\\u000A")]
    [InlineData("\u009b31m", "\\u009B31m")]
    [InlineData("bell\u0007\u007f", "bell\\u0007\\u007F")]
    [InlineData("abc\u202Efdp.exe", "abc\\u202Efdp.exe")]
    [InlineData("\u2028\u2066x", "\\u2028\\u2066x")]
    public void Sanitize_ControlCharacters_ShownEscaped(string input, string shown)
    {
        Assert.Equal(shown, DisplayText.Sanitize(input));
    }

    [Theory]
    [InlineData("Reporter Inc.")]
    [InlineData("Bücher GmbH ✓ 😀")]
    public void Sanitize_PrintableText_Unchanged(string input)
    {
        Assert.Same(input, DisplayText.Sanitize(input));
    }

    [Fact]
    public void Sanitize_LongText_CutWithEllipsis_UnpairedSurrogateEscaped()
    {
        Assert.Equal("abc…", DisplayText.Sanitize("abcdef", 3));
        Assert.Equal("x\\uD800y", DisplayText.Sanitize("x\uD800y"));
        Assert.Equal("'a\\u0009b'", DisplayText.Quote("a\tb"));
    }
}
