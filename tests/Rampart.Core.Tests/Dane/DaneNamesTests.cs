using Rampart.Core.Dane;
using Rampart.Core.Tests.Support;

namespace Rampart.Core.Tests.Dane;

public sealed class DaneNamesTests
{
    [Theory]
    [InlineData("mx.example.com", "mx.example.com", true)]
    [InlineData("MX.Example.com", "mx.example.COM.", true)]
    [InlineData("mx.example.com.", "mx.example.com", true)]
    [InlineData("mx.example.com", "other.example.com", false)]
    [InlineData("mx.example.com", "example.com", false)]
    [InlineData("*.example.com", "mx.example.com", true)]
    [InlineData("*.example.com", "a.b.example.com", false)]
    [InlineData("*.example.com", "example.com", false)]
    [InlineData("*.example.com", ".example.com", false)]
    [InlineData("x*.example.com", "xmx.example.com", false)]
    [InlineData("*mx.example.com", "xmx.example.com", false)]
    [InlineData("m*x.example.com", "mx.example.com", false)]
    [InlineData("mx.*.com", "mx.example.com", false)]
    [InlineData("*.*.example.com", "a.b.example.com", false)]
    [InlineData("*.com", "example.com", false)]
    [InlineData("*", "localhost", false)]
    [InlineData("", "", false)]
    [InlineData("*.example.com", "*.example.com", false)]
    public void Covers_PatternAndHost_WildcardOnlyAsWholeLeftmostLabel(string pattern, string host, bool expected)
    {
        Assert.Equal(expected, DaneNames.Covers(pattern, host));
    }

    [Fact]
    public void CertificateNames_SanPresent_SanOnlyNotCn()
    {
        var cert = TestPki.Issue("CN=cn.example.com", null, dnsNames: ["a.example.com", "b.example.com"]);

        Assert.Equal(["a.example.com", "b.example.com"], DaneNames.CertificateNames(cert));
    }

    [Fact]
    public void CertificateNames_NoSan_CommonName()
    {
        var cert = TestPki.Issue("CN=cn.example.com, O=Example", null, dnsNames: null);

        Assert.Equal(["cn.example.com"], DaneNames.CertificateNames(cert));
    }

    [Fact]
    public void FirstMatch_SecondReferenceCovered_ReturnsPair()
    {
        var match = DaneNames.FirstMatch(["*.provider.net"], ["example.com", "MX1.Provider.NET."]);

        Assert.Equal(("*.provider.net", "mx1.provider.net"), match);
    }

    [Fact]
    public void FirstMatch_NoReferences_Null()
    {
        Assert.Null(DaneNames.FirstMatch(["mx.example.com"], []));
    }
}
