using System.Text;
using Rampart.Postfix.Tests.Fakes;
using Rampart.Postfix.Tests.Servers;

namespace Rampart.Postfix.Tests.Socketmap;

/// <summary>The reply the server logs is the reply it sends, byte for byte, whatever the answer.</summary>
public sealed class SocketmapAnsweredLogTests : IDisposable
{
    private const int AnsweredEvent = 212;

    private readonly FakeSocketmapResponder _responder = new();

    public void Dispose() => _responder.Dispose();

    [Theory]
    [InlineData("a.example", "OK postfix:a.example")]
    [InlineData(FakeSocketmapResponder.Throws, "TEMP internal error")]
    [InlineData(FakeSocketmapResponder.TooBig, "TEMP reply too long")]
    [InlineData("[mx.example.com]:25", "NOTFOUND ")]
    public async Task Answered_LoggedReplyIsTheBytesSent(string key, string expected)
    {
        await using var server = await SocketmapTestServer.StartAsync("tcp", _responder);
        await using var client = await server.ConnectAsync();

        var sent = await client.RequestAsync("postfix", key);

        Assert.Equal(expected, sent);
        var logged = Assert.Single(server.LogsWithEventId(AnsweredEvent)).Message;
        var suffix = $"postfix '{key}' -> \"";
        var reply = logged[(logged.IndexOf(suffix, StringComparison.Ordinal) + suffix.Length)..^1];
        Assert.Equal(Encoding.UTF8.GetBytes(sent), Encoding.UTF8.GetBytes(reply));
    }
}
