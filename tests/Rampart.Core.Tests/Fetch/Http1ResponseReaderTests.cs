using System.Text;
using Rampart.Core.MtaSts;

namespace Rampart.Core.Tests.Fetch;

public class Http1ResponseReaderTests
{
    private static Http1ResponseReader Reader(string response, int maxHeader = 16384) =>
        new(new MemoryStream(Encoding.Latin1.GetBytes(response)), maxHeader);

    private static readonly CancellationToken s_ct = CancellationToken.None;

    [Fact]
    public async Task ReadHead_StatusAndHeaders_Parsed()
    {
        var head = await Reader("HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 3\r\n\r\nabc").ReadHeadAsync(s_ct);

        Assert.Equal(200, head.StatusCode);
        Assert.Equal("text/plain; charset=utf-8", head.Header("content-type"));
    }

    [Fact]
    public async Task ReadBody_ContentLength_ReadsExactly()
    {
        var reader = Reader("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcdef");
        var head = await reader.ReadHeadAsync(s_ct);

        var body = await reader.ReadBodyAsync(head, 100, s_ct);

        Assert.Equal("abc", Encoding.ASCII.GetString(body!));
    }

    [Fact]
    public async Task ReadBody_ContentLengthOverLimit_NullWithoutReading()
    {
        var reader = Reader("HTTP/1.1 200 OK\r\nContent-Length: 70000\r\n\r\n");
        var head = await reader.ReadHeadAsync(s_ct);

        Assert.Null(await reader.ReadBodyAsync(head, 65536, s_ct));
    }

    [Fact]
    public async Task ReadBody_Chunked_Joined()
    {
        var reader = Reader("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nvers\r\n9;ext=1\r\nion: STSv\r\n1\r\n1\r\n0\r\n\r\n");
        var head = await reader.ReadHeadAsync(s_ct);

        var body = await reader.ReadBodyAsync(head, 100, s_ct);

        Assert.Equal("version: STSv1", Encoding.ASCII.GetString(body!));
    }

    [Fact]
    public async Task ReadBody_ChunkedOverLimit_Null()
    {
        var chunk = new string('a', 40000);
        var reader = Reader($"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{chunk.Length:x}\r\n{chunk}\r\n{chunk.Length:x}\r\n{chunk}\r\n0\r\n\r\n");
        var head = await reader.ReadHeadAsync(s_ct);

        Assert.Null(await reader.ReadBodyAsync(head, 65536, s_ct));
    }

    [Fact]
    public async Task ReadBody_UntilCloseOverLimit_Null()
    {
        var reader = Reader("HTTP/1.0 200 OK\r\n\r\n" + new string('x', 70000));
        var head = await reader.ReadHeadAsync(s_ct);

        Assert.Null(await reader.ReadBodyAsync(head, 65536, s_ct));
    }

    [Fact]
    public async Task ReadHead_OversizedHeaders_Violation()
    {
        var reader = Reader("HTTP/1.1 200 OK\r\nX-Big: " + new string('h', 20000) + "\r\n\r\n");

        await Assert.ThrowsAsync<HttpProtocolViolation>(() => reader.ReadHeadAsync(s_ct));
    }

    [Theory]
    [InlineData("SMTP 220 hello\r\n\r\n")]
    [InlineData("HTTP/1.1 2000 OK\r\n\r\n")]
    [InlineData("")]
    [InlineData("HTTP/1.1 200 OK\r\nno colon here\r\n\r\n")]
    public async Task ReadHead_NotHttp_Violation(string response)
    {
        await Assert.ThrowsAsync<HttpProtocolViolation>(() => Reader(response).ReadHeadAsync(s_ct));
    }

    [Fact]
    public async Task ReadBody_TruncatedContentLength_Violation()
    {
        var reader = Reader("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
        var head = await reader.ReadHeadAsync(s_ct);

        await Assert.ThrowsAsync<HttpProtocolViolation>(() => reader.ReadBodyAsync(head, 100, s_ct));
    }

    [Theory]
    [InlineData("text/plain", true)]
    [InlineData("TEXT/Plain; charset=utf-8", true)]
    [InlineData(" text/plain ;charset=us-ascii", true)]
    [InlineData("text/html", false)]
    [InlineData("text/plainx", false)]
    [InlineData("application/octet-stream", false)]
    [InlineData(null, false)]
    public void IsTextPlain_MediaTypeOnly(string? contentType, bool expected) =>
        Assert.Equal(expected, MtaStsPolicyFetcher.IsTextPlain(contentType));
}
