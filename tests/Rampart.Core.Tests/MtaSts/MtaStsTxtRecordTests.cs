using Rampart.Core.MtaSts;

namespace Rampart.Core.Tests.MtaSts;

public sealed class MtaStsTxtRecordTests
{
    [Theory]
    [InlineData("v=STSv1; id=20240101T000000;", "20240101T000000")]
    [InlineData("v=STSv1; id=20240101T000000", "20240101T000000")]
    [InlineData("v=STSv1;id=abc123", "abc123")]
    [InlineData("v = STSv1 ; id = abc123 ;", "abc123")]
    [InlineData("v=STSv1;\tid=1\t;\t", "1")]
    [InlineData("v=STSv1;; id=1;;", "1")]
    [InlineData("v=STSv1; id=12345678901234567890123456789012", "12345678901234567890123456789012")]
    public void TryParse_ValidRecord_ReturnsId(string text, string id)
    {
        Assert.True(MtaStsTxtRecord.TryParse(text, out var record, out string? error), error);

        Assert.Equal(id, record.Id);
        Assert.Equal("STSv1", record.Version);
        Assert.Equal(text, record.Text);
        Assert.Empty(record.Extensions);
    }

    [Theory]
    [InlineData("id=1; v=STSv1")]
    [InlineData("v=STSv2; id=1")]
    [InlineData("v=stsv1; id=1")]
    [InlineData("V=STSv1; id=1")]
    [InlineData("v=STSv10; id=1")]
    [InlineData("v=STSv1x; id=1")]
    [InlineData("foo=bar; v=STSv1; id=1")]
    [InlineData("")]
    public void TryParse_VersionNotFirst_IsError(string text)
    {
        Assert.False(MtaStsTxtRecord.TryParse(text, out var record, out string? error));

        Assert.Null(record);
        Assert.Contains("must begin with 'v=STSv1'", error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryParse_IdMissing_IsError()
    {
        Assert.False(MtaStsTxtRecord.TryParse("v=STSv1;", out _, out string? error));

        Assert.Contains("missing required field 'id'", error, StringComparison.Ordinal);
        Assert.Contains("RFC 8461 §3.1", error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryParse_IdInOtherCase_IsMissingWithHint()
    {
        Assert.False(MtaStsTxtRecord.TryParse("v=STSv1; ID=123", out _, out string? error));

        Assert.Contains("found 'ID'", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("123456789012345678901234567890123")]
    [InlineData("2024-01-01")]
    [InlineData("abc_1")]
    [InlineData("abc.")]
    [InlineData("a b")]
    [InlineData("ü1")]
    [InlineData("")]
    public void TryParse_IdNotOneTo32Alphanumerics_IsError(string id)
    {
        Assert.False(MtaStsTxtRecord.TryParse($"v=STSv1; id={id}", out _, out string? error));

        Assert.Contains("must be 1 to 32 ASCII letters and digits", error, StringComparison.Ordinal);
        Assert.DoesNotContain("missing", error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryParse_IdTwice_IsError()
    {
        Assert.False(MtaStsTxtRecord.TryParse("v=STSv1; id=1; id=2", out _, out string? error));

        Assert.Contains("'id' given more than once", error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryParse_ExtensionFields_KeptAndOtherwiseIgnored()
    {
        Assert.True(MtaStsTxtRecord.TryParse("v=STSv1; ext1=a:b/c; id=42; x.y-z_w=1; ext1=second", out var record, out string? error), error);

        Assert.Equal("42", record.Id);
        Assert.Equal(2, record.Extensions.Count);
        Assert.Equal("a:b/c", record.Extensions["ext1"]);
        Assert.Equal("1", record.Extensions["x.y-z_w"]);
    }

    [Theory]
    [InlineData("v=STSv1; id=1; foo", "has no '='")]
    [InlineData("v=STSv1; id=1; foo=", "must be 1 or more printable")]
    [InlineData("v=STSv1; id=1; foo=a b", "must be 1 or more printable")]
    [InlineData("v=STSv1; id=1; foo=a=b", "must be 1 or more printable")]
    [InlineData("v=STSv1; id=1; foo=é", "must be 1 or more printable")]
    [InlineData("v=STSv1; id=1; _foo=bar", "is not valid")]
    [InlineData("v=STSv1; id=1; =bar", "is not valid")]
    [InlineData("v=STSv1; id=1; fo o=bar", "is not valid")]
    [InlineData("v=STSv1; id=1; a23456789012345678901234567890123=x", "is not valid")]
    [InlineData("v=STSv1; id=1; v=STSv1", "'v' given more than once")]
    public void TryParse_MalformedField_IsError(string text, string reason)
    {
        Assert.False(MtaStsTxtRecord.TryParse(text, out _, out string? error));

        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryParse_ExtensionNameOf32_Accepted()
    {
        Assert.True(MtaStsTxtRecord.TryParse("v=STSv1; id=1; a2345678901234567890123456789012=x", out var record, out _));

        Assert.Single(record.Extensions);
    }

    [Fact]
    public void TryParse_SeveralProblems_ReportsAll()
    {
        Assert.False(MtaStsTxtRecord.TryParse("v=STSv1; id=bad-id; foo; _x=1", out _, out string? error));

        Assert.Contains("id 'bad-id'", error, StringComparison.Ordinal);
        Assert.Contains("'foo' has no '='", error, StringComparison.Ordinal);
        Assert.Contains("'_x'", error, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error);
    }

    [Fact]
    public void Parse_Invalid_ThrowsFormatException()
    {
        var ex = Assert.Throws<FormatException>(() => MtaStsTxtRecord.Parse("v=STSv1"));

        Assert.Contains("'id'", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("v=STSv1", true)]
    [InlineData("v=STSv1;", true)]
    [InlineData("v=STSv1; id=1", true)]
    [InlineData("v=STSv1 ; id=1", true)]
    [InlineData(" v = STSv1; id=1", true)]
    [InlineData("v=STSv10; id=1", false)]
    [InlineData("v=STSv1x; id=1", false)]
    [InlineData("v=STSv", false)]
    [InlineData("v=stsv1; id=1", false)]
    [InlineData("V=STSv1; id=1", false)]
    [InlineData("v=spf1 -all", false)]
    [InlineData("id=1; v=STSv1", false)]
    [InlineData("", false)]
    public void IsStsV1_Record_OnlyWhenItBeginsWithTheVersionField(string text, bool expected)
    {
        Assert.Equal(expected, MtaStsTxtRecord.IsStsV1(text));
    }

    [Fact]
    public void Select_NoRecords_NoRecord()
    {
        var lookup = MtaStsTxtRecord.Select([]);

        Assert.Equal(MtaStsTxtStatus.NoRecord, lookup.Status);
        Assert.Null(lookup.Record);
    }

    [Fact]
    public void Select_OnlyOtherRecords_NoRecord()
    {
        var lookup = MtaStsTxtRecord.Select(["v=spf1 -all", "google-site-verification=abc", "v=STSv10; id=1", "v=STSv1x; id=2"]);

        Assert.Equal(MtaStsTxtStatus.NoRecord, lookup.Status);
        Assert.False(lookup.IsFound);
    }

    [Fact]
    public void Select_OneStsV1AmongOthers_Found()
    {
        var lookup = MtaStsTxtRecord.Select(["v=spf1 -all", "v=STSv1; id=20240101T000000;", "v=STSv10; id=9", "v=STSv1x; id=8"]);

        Assert.Equal(MtaStsTxtStatus.Found, lookup.Status);
        Assert.True(lookup.IsFound);
        Assert.Equal("20240101T000000", lookup.Record!.Id);
        Assert.Null(lookup.Error);
    }

    [Fact]
    public void Select_TwoStsV1Records_MultipleNoPolicy()
    {
        var lookup = MtaStsTxtRecord.Select(["v=STSv1; id=1", "v=STSv1; id=2"]);

        Assert.Equal(MtaStsTxtStatus.Multiple, lookup.Status);
        Assert.Null(lookup.Record);
        Assert.Contains("2 TXT records", lookup.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Select_TwoIdenticalStsV1Records_StillMultiple()
    {
        var lookup = MtaStsTxtRecord.Select(["v=STSv1; id=1", "v=STSv1; id=1"]);

        Assert.Equal(MtaStsTxtStatus.Multiple, lookup.Status);
    }

    [Fact]
    public void Select_ValidAndInvalidStsV1Records_Multiple()
    {
        var lookup = MtaStsTxtRecord.Select(["v=STSv1; id=1", "v=STSv1; id=not-valid"]);

        Assert.Equal(MtaStsTxtStatus.Multiple, lookup.Status);
    }

    [Theory]
    [InlineData("v=STSv1")]
    [InlineData("v=STSv1; id=toolongtoolongtoolongtoolongtoolong1")]
    [InlineData("v=STSv1; id=2024-01-01")]
    [InlineData("v=STSv1; id=1; broken")]
    public void Select_OneInvalidStsV1Record_InvalidWithError(string txt)
    {
        var lookup = MtaStsTxtRecord.Select(["v=spf1 -all", txt]);

        Assert.Equal(MtaStsTxtStatus.Invalid, lookup.Status);
        Assert.Null(lookup.Record);
        Assert.False(string.IsNullOrEmpty(lookup.Error));
    }
}
