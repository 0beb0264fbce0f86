using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Rampart.Hosting.Logging;

namespace Rampart.Hosting.Tests.Logging;

public sealed class HostLogFormatterTests
{
    private static readonly FakeTimeProvider s_time = new(new DateTimeOffset(2026, 12, 7, 12, 27, 0, 123, TimeSpan.Zero));

    private static HostLogFormatter Formatter(bool stackTraces = false) => new(new HostLogFormatterOptions { Time = s_time, StackTraces = stackTraces });

    [Fact]
    public void Format_TimestampLevelComponentMessage()
    {
        Assert.Equal("2026-12-07T12:27:00.123Z info daemon: rampart daemon listening on 127.0.0.1:8461\n",
            Formatter().Format(LogLevel.Information, LogComponents.Daemon, "rampart daemon listening on 127.0.0.1:8461"));
        Assert.Equal("2026-12-07T12:27:00.123Z warn tlsrpt-receiver: x\n", Formatter().Format(LogLevel.Warning, LogComponents.TlsRptReceiver, "x"));
    }

    [Theory]
    [InlineData(LogLevel.Trace, "trace")]
    [InlineData(LogLevel.Debug, "debug")]
    [InlineData(LogLevel.Information, "info")]
    [InlineData(LogLevel.Warning, "warn")]
    [InlineData(LogLevel.Error, "error")]
    [InlineData(LogLevel.Critical, "crit")]
    public void LevelWord_Short(LogLevel level, string word) => Assert.Equal(word, HostLogFormatter.LevelWord(level));

    [Fact]
    public void Format_ClassCategory_ComponentNameNotClassName()
    {
        var line = Formatter().Format(LogLevel.Information, "Rampart.Postfix.Daemon.SocketmapResponder", "postfix example.com: none -> \"NOTFOUND \"");

        Assert.StartsWith("2026-12-07T12:27:00.123Z info policy: postfix example.com", line, StringComparison.Ordinal);
        Assert.DoesNotContain("Rampart.", line, StringComparison.Ordinal);
    }

    [Fact]
    public void Format_Exception_MessagesOnTheSameLineWithoutStackTrace()
    {
        var failure = Thrown(new IOException("Failed to bind to address http://127.0.0.1:8461: address already in use.",
            new InvalidOperationException("Address already in use")));

        var text = Formatter().Format(LogLevel.Error, "Microsoft.AspNetCore.Server.Kestrel", "Unhandled exception while processing", failure);

        Assert.Equal("2026-12-07T12:27:00.123Z error http: Unhandled exception while processing: Failed to bind to address http://127.0.0.1:8461: address already in use\n", text);
    }

    [Fact]
    public void Format_ExceptionAtDebug_StackTraceIndentedBelow()
    {
        var text = Formatter(stackTraces: true).Format(LogLevel.Error, LogComponents.Daemon, "failed", Thrown(new InvalidOperationException("boom")));

        var lines = text.TrimEnd('\n').Split('\n');
        Assert.Equal("2026-12-07T12:27:00.123Z error daemon: failed: boom", lines[0]);
        Assert.Contains(lines.Skip(1), l => l.StartsWith("       at ", StringComparison.Ordinal));
        Assert.All(lines.Skip(1), l => Assert.StartsWith("    ", l, StringComparison.Ordinal));
    }

    [Fact]
    public void Format_MultiLineMessage_OneLine()
    {
        Assert.Equal("2026-12-07T12:27:00.123Z warn serve: a b\n", Formatter().Format(LogLevel.Warning, LogComponents.Serve, "a\nb\n"));
    }

    [Fact]
    public void Format_EscapeSequenceInMessage_ShownEscapedNeverRaw()
    {
        var line = Formatter().Format(LogLevel.Warning, LogComponents.Serve, "report from \u001b[2J\u001b]0;x\u0007 rejected");

        Assert.Equal("2026-12-07T12:27:00.123Z warn serve: report from \\u001B[2J\\u001B]0;x\\u0007 rejected\n", line);
    }

    [Theory]
    [InlineData("Rampart.Daemon", "daemon")]
    [InlineData("Rampart.Postfix.Daemon.SocketmapResponder", "policy")]
    [InlineData("Rampart.Postfix.Socketmap.SocketmapConnectionHandler", "socketmap")]
    [InlineData("Rampart.Serve", "serve")]
    [InlineData("Rampart.Serve.Certificates", "certificates")]
    [InlineData("Rampart.Serve.TlsRpt", "tlsrpt-receiver")]
    [InlineData("Rampart.CheckWatch", "watch")]
    [InlineData("Microsoft.AspNetCore.Server.Kestrel.Connections", "http")]
    [InlineData("Microsoft.Hosting.Lifetime", "host")]
    [InlineData("Rampart.Daemonic", "rampart")]
    public void Component_FromTheOneTable(string category, string component) => Assert.Equal(component, LogComponents.For(category));

    [Theory]
    [InlineData("trace", LogLevel.Trace)]
    [InlineData("debug", LogLevel.Debug)]
    [InlineData("info", LogLevel.Information)]
    [InlineData("WARN", LogLevel.Warning)]
    [InlineData("error", LogLevel.Error)]
    public void TryParseLevel_Words(string text, LogLevel expected)
    {
        Assert.True(HostLogging.TryParseLevel(text, out var level, out _));
        Assert.Equal(expected, level);
    }

    [Fact]
    public void TryParseLevel_Unknown_SaysTheWords()
    {
        Assert.False(HostLogging.TryParseLevel("loud", out _, out var error));
        Assert.Equal("'loud' is not a log level: use one of trace, debug, info, warn, error", error);
    }

    [Fact]
    public void EventIdRanges_DoNotOverlap()
    {
        var ranges = LogEventIds.Ranges.OrderBy(r => r.First).ToList();
        Assert.All(ranges, r => Assert.True(r.First <= r.Last));
        for (var i = 1; i < ranges.Count; i++)
        {
            Assert.True(ranges[i].First > ranges[i - 1].Last, $"{ranges[i - 1].Component} and {ranges[i].Component} overlap");
        }
    }

    private static Exception Thrown(Exception exception)
    {
        try
        {
            throw exception;
        }
        catch (Exception caught)
        {
            return caught;
        }
    }
}
