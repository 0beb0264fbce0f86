namespace Rampart.Core.Tests;

public sealed class DomainNameTests
{
    [Theory]
    [InlineData("Example.ORG", "example.org")]
    [InlineData("example.org.", "example.org")]
    [InlineData("  mail.example.org ", "mail.example.org")]
    [InlineData("bücher.example", "xn--bcher-kva.example")]
    public void TryNormalize_Domain_Normalized(string input, string expected)
    {
        Assert.True(DomainName.TryNormalize(input, out var domain, out var error), error);
        Assert.Equal(expected, domain);
    }

    [Theory]
    [InlineData("192.0.2.1")]
    [InlineData("[192.0.2.1]")]
    [InlineData("2001:db8::1")]
    [InlineData("[2001:db8::1]")]
    [InlineData("")]
    [InlineData(".")]
    [InlineData("a..b")]
    [InlineData("_mta-sts.example.org")]
    [InlineData("-bad.example.org")]
    [InlineData("has space.example")]
    [InlineData("\u0000\u0001")]
    [InlineData("1.2.3.4.5")]
    [InlineData("example.123")]
    [InlineData("xn--zz.example")]
    [InlineData("mx-.example")]
    public void TryNormalize_NotAMailDomain_RefusedWithReason(string input)
    {
        Assert.False(DomainName.TryNormalize(input, out var domain, out var error));
        Assert.Null(domain);
        Assert.False(string.IsNullOrWhiteSpace(error));
    }

    [Theory]
    [InlineData("a_b.example", "'a_b.example' is not a mail domain: it contains '_'; underscores are not allowed in host names")]
    [InlineData("example.123", "'example.123' is not a mail domain: it has an all-numeric top-level label, so it is not a host name")]
    [InlineData("192.0.2.1", "'192.0.2.1' is an IP address, not a domain")]
    public void TryParse_NotAMailDomain_OneLineNamingInputAndRule(string input, string message)
    {
        Assert.False(DomainName.TryParse(input, out _, out var error));
        Assert.Equal(message, error);
    }

    [Fact]
    public void Parse_SameNameWrittenDifferently_IsOneValue()
    {
        var a = DomainName.Parse("Bücher.Example.");
        var b = DomainName.Parse("xn--bcher-kva.example");

        Assert.Equal(a, b);
        Assert.True(a == b);
        Assert.Equal("xn--bcher-kva.example", a.ToString());
        Assert.Equal("", default(DomainName).Value);
        Assert.Throws<FormatException>(() => DomainName.Parse("user@example.org"));
    }
}
