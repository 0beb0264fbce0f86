using System.Net;
using Rampart.Core.Dns;

namespace Rampart.Core.Tests.Dns;

public sealed class ResolverEndpointTests
{
    [Theory]
    [InlineData("127.0.0.1", "127.0.0.1", 53)]
    [InlineData(" 192.0.2.53 ", "192.0.2.53", 53)]
    [InlineData("127.0.0.1:5353", "127.0.0.1", 5353)]
    [InlineData("[::1]:5353", "::1", 5353)]
    [InlineData("[2001:db8::53]", "2001:db8::53", 53)]
    [InlineData("::1", "::1", 53)]
    [InlineData("2001:db8::53", "2001:db8::53", 53)]
    [InlineData("192.0.2.53:65535", "192.0.2.53", 65535)]
    public void Parse_ValidForms_AddressAndPort(string text, string address, int port)
    {
        var endpoint = ResolverEndpoint.Parse(text);

        Assert.Equal(IPAddress.Parse(address), endpoint.Address);
        Assert.Equal(port, endpoint.Port);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("   ", "empty")]
    [InlineData("resolver.example", "not by host name")]
    [InlineData("resolver.example:53", "not by host name")]
    [InlineData("127.1", "four numbers")]
    [InlineData("256.0.0.1", "four numbers")]
    [InlineData("1.2.3.4.5", "four numbers")]
    [InlineData("127.0.0.1:0", "port '0'")]
    [InlineData("127.0.0.1:65536", "port '65536'")]
    [InlineData("127.0.0.1:", "port ''")]
    [InlineData("127.0.0.1:+53", "port '+53'")]
    [InlineData("127.0.0.1:dns", "port 'dns'")]
    [InlineData("[::1", "missing ']'")]
    [InlineData("[::1]53", "expected ':PORT'")]
    [InlineData("[127.0.0.1]:53", "IPv6 addresses only")]
    [InlineData("[::1]:99999", "port '99999'")]
    [InlineData("2001:db8::zz", "not an IPv6 address")]
    [InlineData("0.0.0.0", "unspecified")]
    [InlineData("[::]:53", "unspecified")]
    [InlineData("fe80::1", "needs a scope id")]
    [InlineData("fe80::1%nosuchif9", "does not exist")]
    public void TryParse_BadInput_FalseWithOneLineError(string text, string expected)
    {
        var ok = ResolverEndpoint.TryParse(text, out var endpoint, out var error);

        Assert.False(ok);
        Assert.Null(endpoint);
        Assert.NotNull(error);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error);
    }

    [Fact]
    public void TryParse_Null_False()
    {
        Assert.False(ResolverEndpoint.TryParse(null, out var endpoint));
        Assert.Null(endpoint);
    }

    [Fact]
    public void Parse_BadInput_FormatExceptionNamingInput()
    {
        var ex = Assert.Throws<FormatException>(() => ResolverEndpoint.Parse("127.0.0.1:dns"));

        Assert.Equal("resolver '127.0.0.1:dns': port 'dns' is not a number from 1 to 65535", ex.Message);
    }

    [Fact]
    public void Parse_LinkLocalWithNumericScope_KeepsScope()
    {
        var endpoint = ResolverEndpoint.Parse("[fe80::1%3]:53");

        Assert.Equal(3, endpoint.Address.ScopeId);
    }

    [Fact]
    public void Parse_GlobalAddressWithScope_ScopeDropped()
    {
        var endpoint = ResolverEndpoint.Parse("2001:db8::53%nosuchif9");

        Assert.Equal(IPAddress.Parse("2001:db8::53"), endpoint.Address);
        Assert.Equal(0, endpoint.Address.ScopeId);
    }

    [Theory]
    [InlineData("127.0.0.1", true)]
    [InlineData("127.0.0.53", true)]
    [InlineData("::1", true)]
    [InlineData("::ffff:127.0.0.1", true)]
    [InlineData("192.0.2.1", false)]
    [InlineData("10.0.0.1", false)]
    [InlineData("2001:db8::1", false)]
    [InlineData("::ffff:192.0.2.1", false)]
    public void IsLoopback_Address_Expected(string text, bool expected)
    {
        Assert.Equal(expected, ResolverEndpoint.Parse(text).IsLoopback);
    }

    [Theory]
    [InlineData("127.0.0.1", "127.0.0.1:53")]
    [InlineData("::1", "[::1]:53")]
    [InlineData("[2001:db8::53]:5353", "[2001:db8::53]:5353")]
    public void ToString_Any_RoundTripsThroughParse(string text, string expected)
    {
        var endpoint = ResolverEndpoint.Parse(text);

        Assert.Equal(expected, endpoint.ToString());
        Assert.Equal(endpoint, ResolverEndpoint.Parse(endpoint.ToString()));
    }
}
