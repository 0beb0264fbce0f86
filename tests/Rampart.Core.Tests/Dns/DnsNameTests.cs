using Rampart.Core.Dns;

namespace Rampart.Core.Tests.Dns;

public sealed class DnsNameTests
{
    [Theory]
    [InlineData("Example.ORG.", "example.org")]
    [InlineData("_MTA-STS.example.org", "_mta-sts.example.org")]
    [InlineData("_25._tcp.MX1.example.org", "_25._tcp.mx1.example.org")]
    [InlineData("bücher.example", "xn--bcher-kva.example")]
    [InlineData("BÜCHER.Example.", "xn--bcher-kva.example")]
    [InlineData("xn--bcher-kva.example", "xn--bcher-kva.example")]
    [InlineData("  mx.example  ", "mx.example")]
    [InlineData("localhost", "localhost")]
    public void Normalize_ValidName_LowerCaseALabelsNoTrailingDot(string name, string expected)
    {
        Assert.Equal(expected, DnsName.Normalize(name));
    }

    [Theory]
    [InlineData("")]
    [InlineData(".")]
    [InlineData("a..b")]
    [InlineData(".example")]
    [InlineData("exa mple.org")]
    [InlineData("mx.example/25")]
    [InlineData("*.example.org")]
    public void TryNormalize_InvalidName_FalseWithError(string name)
    {
        Assert.False(DnsName.TryNormalize(name, out var normalized, out var error));
        Assert.Null(normalized);
        Assert.NotEmpty(error);
    }

    [Fact]
    public void TryNormalize_LabelOver63_False()
    {
        Assert.False(DnsName.TryNormalize(new string('a', 64) + ".example", out _, out var error));
        Assert.Contains("longer than 63", error, StringComparison.Ordinal);
        Assert.True(DnsName.TryNormalize(new string('a', 63) + ".example", out _, out _));
    }

    [Fact]
    public void TryNormalize_NameOver253_False()
    {
        var label = new string('a', 63);
        var name = string.Join('.', label, label, label, label); // 255 characters

        Assert.False(DnsName.TryNormalize(name, out _, out var error));
        Assert.Contains("longer than 253", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Normalize_Invalid_FormatException()
    {
        Assert.Throws<FormatException>(() => DnsName.Normalize("a..b"));
    }

    [Theory]
    [InlineData("MX.Example.org.", "mx.example.org", true)]
    [InlineData("bücher.example", "XN--BCHER-KVA.example", true)]
    [InlineData("mx1.example", "mx2.example", false)]
    [InlineData("a..b", "a..b", false)]
    public void AreEqual_Names_CaseAndDotInsensitive(string a, string b, bool expected)
    {
        Assert.Equal(expected, DnsName.AreEqual(a, b));
    }
}
