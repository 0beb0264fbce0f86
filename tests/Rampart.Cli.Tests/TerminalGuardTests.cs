namespace Rampart.Cli.Tests;

public sealed class TerminalGuardTests
{
    [Fact]
    public void Guard_OurColourSequencesLineBreaksAndProgress_PassedThrough()
    {
        var text = "\u001b[31mFAIL\u001b[0m\tdone\r\nrampart: 3/20 files\r";

        Assert.Equal(text, TerminalGuard.Guard(text));
        Assert.Equal("ok \u001b[32mpass\u001b[0m", TerminalGuard.Guard("ok \u001b[32mpass\u001b[0m"));
    }

    [Theory]
    [InlineData("\u001b[2J", "\\u001B[2J")]
    [InlineData("\u001b]0;title\u0007", "\\u001B]0;title\\u0007")]
    [InlineData("\u009b2J", "\\u009B2J")]
    [InlineData("\u001b[1;2;3;4;5;6;7;8;9m", "\\u001B[1;2;3;4;5;6;7;8;9m")]
    public void Guard_OtherEscapeSequences_ShownEscaped(string input, string shown)
    {
        Assert.Equal(shown, TerminalGuard.Guard(input));
    }

    [Fact]
    public void Write_ThroughTheGuard_ReachesTheInnerWriterEscaped()
    {
        using var inner = new StringWriter();
        using var guard = new TerminalGuard(inner);

        guard.Write('\u001b');
        guard.Write("x\u0007");
        guard.WriteLine("y");

        Assert.Equal("\\u001Bx\\u0007y" + inner.NewLine, inner.ToString());
    }
}
