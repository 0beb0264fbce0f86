using System.Net;
using Microsoft.Extensions.Options;
using Rampart.Postfix.Socketmap;

namespace Rampart.Postfix.Tests.Socketmap;

public sealed class SocketmapEndpointTests
{
    [Theory]
    [InlineData("127.0.0.1:8461", "127.0.0.1:8461")]
    [InlineData("inet:127.0.0.1:8461", "127.0.0.1:8461")]
    [InlineData("0.0.0.0:0", "0.0.0.0:0")]
    [InlineData("[::1]:8461", "[::1]:8461")]
    [InlineData(" [::]:25 ", "[::]:25")]
    [InlineData("localhost:8461", "localhost:8461")]
    [InlineData("unix:/run/rampart/socketmap.sock", "unix:/run/rampart/socketmap.sock")]
    public void TryParse_ValidForms_Parsed(string text, string canonical)
    {
        Assert.True(SocketmapEndpoint.TryParse(text, out var endpoint, out var error), error);
        Assert.Equal(canonical, endpoint.ToString());
    }

    [Fact]
    public void Parse_Forms_ExposeTheirParts()
    {
        var tcp = SocketmapEndpoint.Parse("[::1]:8461");
        Assert.Equal(new IPEndPoint(IPAddress.IPv6Loopback, 8461), tcp.IPEndPoint);
        Assert.Null(tcp.UnixSocketPath);

        var unix = SocketmapEndpoint.Parse("unix:/run/rampart/socketmap.sock");
        Assert.Equal("/run/rampart/socketmap.sock", unix.UnixSocketPath);
        Assert.Null(unix.IPEndPoint);
        Assert.Null(unix.UnixSocketMode);

        var local = SocketmapEndpoint.Parse("localhost:8461");
        Assert.True(local.IsLocalhost);
        Assert.Equal(8461, local.Port);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("127.0.0.1")]
    [InlineData("127.0.0.1:")]
    [InlineData("127.0.0.1:65536")]
    [InlineData("127.0.0.1:-1")]
    [InlineData("127.0.0.1:+25")]
    [InlineData("::1:8461")]
    [InlineData("[127.0.0.1]:8461")]
    [InlineData("127.1:8461")]
    [InlineData("example.com:8461")]
    [InlineData("unix:")]
    [InlineData("unix:relative.sock")]
    [InlineData("tcp:127.0.0.1:8461")]
    public void TryParse_InvalidForms_ErrorNamesTheValue(string? text)
    {
        Assert.False(SocketmapEndpoint.TryParse(text, out var endpoint, out var error));
        Assert.Null(endpoint);
        Assert.StartsWith($"'{text}' is not a socketmap address: ", error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryParse_UnixPathTooLongForSunPath_Refused()
    {
        Assert.False(SocketmapEndpoint.TryParse("unix:/" + new string('a', 107), out _, out var error));
        Assert.Contains("107", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("0660", 0b110_110_000)]
    [InlineData("660", 0b110_110_000)]
    [InlineData("0600", 0b110_000_000)]
    [InlineData("0777", 0b111_111_111)]
    public void TryParseMode_Octal_Parsed(string text, int expected)
    {
        Assert.True(SocketmapEndpoint.TryParseMode(text, out var mode, out _));
        Assert.Equal((UnixFileMode)expected, mode);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("rw")]
    [InlineData("0680")]
    [InlineData("66")]
    [InlineData("00660")]
    public void TryParseMode_NotOctal_Refused(string? text)
    {
        Assert.False(SocketmapEndpoint.TryParseMode(text, out _, out var error));
        Assert.NotNull(error);
    }

    [Fact]
    public void OptionsValidator_Defaults_Valid()
    {
        var options = new SocketmapOptions();

        Assert.True(new SocketmapOptionsValidator().Validate(null, options).Succeeded);
        Assert.Equal(16 * 1024, options.MaxRequestBytes);
        Assert.Equal(TimeSpan.FromSeconds(10), options.RequestTimeout);
        Assert.Equal(TimeSpan.FromMinutes(5), options.IdleTimeout);
    }

    [Theory]
    [InlineData(0, 10, 300, "MaxRequestBytes")]
    [InlineData(1_000_000, 10, 300, "MaxRequestBytes")]
    [InlineData(16384, 0, 300, "RequestTimeout")]
    [InlineData(16384, 100, 300, "RequestTimeout")]
    [InlineData(16384, 10, 0, "IdleTimeout")]
    public void OptionsValidator_OutOfRange_NamesTheSetting(int maxRequestBytes, int timeoutSeconds, int idleSeconds, string setting)
    {
        var options = new SocketmapOptions
        {
            MaxRequestBytes = maxRequestBytes,
            RequestTimeout = TimeSpan.FromSeconds(timeoutSeconds),
            IdleTimeout = TimeSpan.FromSeconds(idleSeconds),
        };

        ValidateOptionsResult result = new SocketmapOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains(setting, result.FailureMessage, StringComparison.Ordinal);
    }
}
