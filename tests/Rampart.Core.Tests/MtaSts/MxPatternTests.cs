using Rampart.Core.MtaSts;

namespace Rampart.Core.Tests.MtaSts;

public sealed class MxPatternTests
{
    [Theory]
    [InlineData("mx.example.com", "mx.example.com")]
    [InlineData("MX.Example.COM", "mx.example.com")]
    [InlineData("mx.example.com.", "mx.example.com")]
    [InlineData("a.b", "a.b")]
    [InlineData("mail-1.mx-01.example.co.uk", "mail-1.mx-01.example.co.uk")]
    [InlineData("1mx.example.com", "1mx.example.com")]
    [InlineData("mx.123.example", "mx.123.example")]
    [InlineData("ab--cd.example.com", "ab--cd.example.com")]
    public void TryParse_HostName_NormalizedToLowerCaseWithoutTrailingDot(string input, string value)
    {
        Assert.True(MxPattern.TryParse(input, out var pattern, out string? error), error);

        Assert.Equal(value, pattern.Value);
        Assert.Equal(value, pattern.Domain);
        Assert.Equal(value, pattern.ToString());
        Assert.False(pattern.IsWildcard);
    }

    [Theory]
    [InlineData("*.example.com", "*.example.com", "example.com")]
    [InlineData("*.EXAMPLE.com.", "*.example.com", "example.com")]
    [InlineData("*.mx.example.co.uk", "*.mx.example.co.uk", "mx.example.co.uk")]
    public void TryParse_Wildcard_SetsIsWildcardAndDomain(string input, string value, string domain)
    {
        Assert.True(MxPattern.TryParse(input, out var pattern, out string? error), error);

        Assert.True(pattern.IsWildcard);
        Assert.Equal(value, pattern.Value);
        Assert.Equal(domain, pattern.Domain);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("192.0.2.1", "IP address")]
    [InlineData("10.0.0.1.", "IP address")]
    [InlineData("2001:db8::25", "IP address")]
    [InlineData("fe80::1", "IP address")]
    [InlineData("[192.0.2.1]", "address literal")]
    [InlineData("[2001:db8::25]", "address literal")]
    [InlineData("*", "bare wildcard")]
    [InlineData("*.", "bare wildcard")]
    [InlineData("*foo.example", "outside the leftmost label")]
    [InlineData("foo.*.example", "outside the leftmost label")]
    [InlineData("*.*.example.com", "outside the leftmost label")]
    [InlineData("mx*.example.com", "outside the leftmost label")]
    [InlineData("*.com", "single label")]
    [InlineData("localhost", "single label")]
    [InlineData(" mx.example.com", "white space")]
    [InlineData("mx.example.com ", "white space")]
    [InlineData("mx\t.example.com", "white space")]
    [InlineData("mx.exa mple.com", "white space")]
    [InlineData("mx_1.example.com", "underscore")]
    [InlineData("_mta-sts.example.com", "underscore")]
    [InlineData("-mx.example.com", "starts or ends with '-'")]
    [InlineData("mx-.example.com", "starts or ends with '-'")]
    [InlineData("mx..example.com", "empty label")]
    [InlineData(".example.com", "empty label")]
    [InlineData("mx.example.com..", "empty label")]
    [InlineData(".", "not a host name")]
    [InlineData("mx.example.com:25", "host names hold only")]
    [InlineData("mx/.example.com", "host names hold only")]
    [InlineData("1.2.3.4.5", "all-numeric top-level label")]
    [InlineData("mx.example.123", "all-numeric top-level label")]
    [InlineData("xn--zz.example", "not a valid A-label")]
    [InlineData("xn--bcher-2pa.example", "not a valid A-label")]
    [InlineData("xn--99999999.example", "not a valid A-label")]
    public void TryParse_Invalid_ReturnsFalseWithReason(string input, string reason)
    {
        Assert.False(MxPattern.TryParse(input, out var pattern, out string? error));

        Assert.Null(pattern);
        Assert.Contains(reason, error, StringComparison.Ordinal);
        Assert.Contains("RFC 8461 §3.2", error, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error);
    }

    [Fact]
    public void TryParse_IpAddress_MessageSaysSo()
    {
        Assert.False(MxPattern.TryParse("192.0.2.1", out _, out string? error));

        Assert.Equal("mx value '192.0.2.1' is an IP address, not a host name pattern (RFC 8461 §3.2)", error);
    }

    [Fact]
    public void TryParse_LabelOf63_Accepted_LabelOf64_Rejected()
    {
        string l63 = new('a', 63);
        string l64 = new('a', 64);

        Assert.True(MxPattern.TryParse($"{l63}.example.com", out _, out _));
        Assert.False(MxPattern.TryParse($"{l64}.example.com", out _, out string? error));
        Assert.Contains("longer than 63", error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryParse_NameOf253_Accepted_NameOf254_Rejected()
    {
        string l63 = new('a', 63);
        string name253 = $"{l63}.{l63}.{l63}.{new string('b', 61)}";
        string name254 = $"{l63}.{l63}.{l63}.{new string('b', 62)}";

        Assert.Equal(253, name253.Length);
        Assert.True(MxPattern.TryParse(name253, out _, out _));
        Assert.True(MxPattern.TryParse(name253 + ".", out var withDot, out _));
        Assert.Equal(name253, withDot.Value);
        Assert.False(MxPattern.TryParse(name254, out _, out string? error));
        Assert.Contains("longer than 253", error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryParse_LongInput_ErrorQuotesItShortened()
    {
        string input = new string('a', 300) + ".example.com";

        Assert.False(MxPattern.TryParse(input, out _, out string? error));

        Assert.True(error!.Length < 200, error);
        Assert.Contains("…", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("mx.bücher.example", "mx.xn--bcher-kva.example")]
    [InlineData("MX.BÜCHER.example", "mx.xn--bcher-kva.example")]
    [InlineData("*.bücher.example", "*.xn--bcher-kva.example")]
    [InlineData("mx.xn--bcher-kva.example", "mx.xn--bcher-kva.example")]
    [InlineData("mx.XN--BCHER-KVA.example", "mx.xn--bcher-kva.example")]
    [InlineData("почта.пример.рф", "xn--80a1acny.xn--e1afmkfd.xn--p1ai")]
    public void TryParse_InternationalizedName_BecomesALabels(string input, string value)
    {
        Assert.True(MxPattern.TryParse(input, out var pattern, out string? error), error);

        Assert.Equal(value, pattern.Value);
    }

    [Fact]
    public void TryParse_ULabelWithUnderscore_Rejected()
    {
        Assert.False(MxPattern.TryParse("mx_1.bücher.example", out _, out string? error));

        Assert.Contains("underscore", error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryParse_LoneSurrogate_RejectedWithoutThrowing()
    {
        Assert.False(MxPattern.TryParse("mx.\uD800.example", out _, out string? error));

        Assert.Contains("internationalized", error, StringComparison.Ordinal);
        Assert.Contains("\\uD800", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_Invalid_ThrowsFormatExceptionWithSameReason()
    {
        Assert.False(MxPattern.TryParse("foo.*.example", out _, out string? error));

        var ex = Assert.Throws<FormatException>(() => MxPattern.Parse("foo.*.example"));

        Assert.Equal(error, ex.Message);
    }

    [Fact]
    public void Parse_Valid_ReturnsPattern()
    {
        Assert.Equal("*.example.com", MxPattern.Parse("*.Example.com").Value);
    }

    [Theory]
    [InlineData("mx.example.com", "mx.example.com", true)]
    [InlineData("mx.example.com", "MX.EXAMPLE.COM", true)]
    [InlineData("mx.example.com", "mx.example.com.", true)]
    [InlineData("mx.example.com", "mx.example.com..", false)]
    [InlineData("mx.example.com", "a.mx.example.com", false)]
    [InlineData("mx.example.com", "example.com", false)]
    [InlineData("mx.example.com", "mx.example.co", false)]
    [InlineData("mx.example.com", "", false)]
    [InlineData("*.example.com", "mx.example.com", true)]
    [InlineData("*.example.com", "MX.Example.Com.", true)]
    [InlineData("*.example.com", "a.b.example.com", false)]
    [InlineData("*.example.com", "example.com", false)]
    [InlineData("*.example.com", "example.com.", false)]
    [InlineData("*.example.com", ".example.com", false)]
    [InlineData("*.example.com", "mx.badexample.com", false)]
    [InlineData("*.example.com", "mxexample.com", false)]
    [InlineData("*.example.com", "mx.example.com.evil", false)]
    [InlineData("*.example.com", "mx.example.net", false)]
    [InlineData("*.xn--bcher-kva.example", "mx.bücher.example", true)]
    [InlineData("mx.xn--bcher-kva.example", "MX.BÜCHER.EXAMPLE", true)]
    public void Matches_Host_FollowsRfc8461Section41(string pattern, string host, bool matches)
    {
        Assert.Equal(matches, MxPattern.Parse(pattern).Matches(host));
    }

    [Fact]
    public void ToPostfixMatch_HostName_Unchanged()
    {
        Assert.Equal("mx.example.com", MxPattern.Parse("MX.example.com.").ToPostfixMatch());
    }

    [Fact]
    public void ToPostfixMatch_Wildcard_BecomesLeadingDot()
    {
        Assert.Equal(".example.com", MxPattern.Parse("*.example.com").ToPostfixMatch());
    }

    [Fact]
    public void Equals_SameNormalizedValue_Equal()
    {
        var a = MxPattern.Parse("MX.Example.com.");
        var b = MxPattern.Parse("mx.example.com");

        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.NotEqual(a, MxPattern.Parse("*.example.com"));
    }
}
