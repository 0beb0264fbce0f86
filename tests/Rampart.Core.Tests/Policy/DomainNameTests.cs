namespace Rampart.Core.Tests.Policy;

public class DomainNameTests
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
    public void TryNormalize_NotAMailDomain_RefusedWithReason(string input)
    {
        Assert.False(DomainName.TryNormalize(input, out var domain, out var error));
        Assert.Null(domain);
        Assert.False(string.IsNullOrWhiteSpace(error));
    }
}
