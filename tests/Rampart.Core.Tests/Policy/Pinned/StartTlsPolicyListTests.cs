using System.Text;
using Rampart.Core.Policy.Pinned;

namespace Rampart.Core.Tests.Policy.Pinned;

public sealed class StartTlsPolicyListTests
{
    private static readonly string s_dir = Path.Combine(AppContext.BaseDirectory, "TestData", "pinned");

    private static StartTlsPolicyList Golden(string name) =>
        StartTlsPolicyList.Parse(File.ReadAllBytes(Path.Combine(s_dir, name)), name);

    private static StartTlsPolicyList Parse(string json) => StartTlsPolicyList.Parse(Encoding.UTF8.GetBytes(json), "t.json");

    private static string List(string policies, string top = "\"expires\": \"2030-01-01T00:00:00Z\"") =>
        $"{{ \"version\": \"0.1\", {top}, \"policies\": {{ {policies} }} }}";

    [Fact]
    public void Parse_GoldenAliases_EntriesResolved()
    {
        var list = Golden("list-aliases.json");

        Assert.Equal("0.1", list.Version);
        Assert.Equal(new DateTimeOffset(2026, 11, 20, 0, 0, 0, TimeSpan.Zero), list.Timestamp);
        Assert.Equal(new DateTimeOffset(2026, 12, 4, 0, 0, 0, TimeSpan.Zero), list.Expires);
        string[] expected =
        [
            "bigmail.example enforce secure match=.mx.bigmail.example:mx1.bigmail.example servername=hostname",
            "bigmail-alt.example enforce secure match=.mx.bigmail.example:mx1.bigmail.example servername=hostname",
            "trial.example testing secure match=mx.trial.example servername=hostname",
            "direct.example enforce secure match=mail.direct.example:.backup.direct.example servername=hostname",
            "nomode.example testing secure match=mx.nomode.example servername=hostname",
        ];
        Assert.Equal(expected, list.Entries.Select(e => $"{e.Domain} {e.Mode.ToString().ToLowerInvariant()} {PolicyTableNotation.Of(e.Requirement)}"));
        Assert.All(list.Entries, e => Assert.Equal(list.Expires, e.Expires));
        Assert.Equal("policies.direct.example", list.Entries.Single(e => e.Domain == "direct.example").Source.Key);
    }

    [Fact]
    public void Parse_GoldenAliases_BadDomainsReportedByKey()
    {
        var list = Golden("list-aliases.json");

        string[] keys =
        [
            "policies.ghost.example", "policies.badmx.example", "policies.emptymx.example", "policies.badmode.example",
            "policies..suffix.example",
        ];
        Assert.Equal(keys, list.Errors.Select(e => e.Key));
        Assert.Contains("no-such-alias", list.Errors[0].Message, StringComparison.Ordinal);
        Assert.Contains(list.Warnings, w => w.Key == "policies.bigmail-alt.example" && w.Message.Contains("ignored", StringComparison.Ordinal));
        Assert.Contains(list.Warnings, w => w.Key == "policies.nomode.example" && w.Message.Contains("testing", StringComparison.Ordinal));
    }

    [Fact]
    public void Parse_GoldenExpired_EpochSecondsAndIsExpired()
    {
        var list = Golden("list-expired.json");

        Assert.Empty(list.Errors);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1736294400), list.Expires);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1735689600), list.Timestamp);
        Assert.True(list.IsExpired(DateTimeOffset.FromUnixTimeSeconds(1736294400)));
        Assert.False(list.IsExpired(DateTimeOffset.FromUnixTimeSeconds(1736294399)));
        Assert.Single(list.Entries);
    }

    [Fact]
    public void Parse_GoldenMalformed_OneErrorWithPosition()
    {
        var list = Golden("list-malformed.json");

        Assert.Empty(list.Entries);
        var error = Assert.Single(list.Errors);
        Assert.Equal(4, error.Line);
        Assert.StartsWith("malformed JSON at line 4, byte ", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("2030-01-01T00:00:00Z")]
    [InlineData("2030-01-01T00:00:00")]
    [InlineData("2030-01-01T01:00:00+01:00")]
    [InlineData("2030-01-01T01:00:00.123456+01:00")]
    [InlineData("2030-01-01 00:00:00")]
    [InlineData("2030-01-01")]
    public void Parse_ExpiresFormats_ReadAsUtc(string expires)
    {
        var list = Parse(List("", $"\"expires\": \"{expires}\""));

        Assert.Empty(list.Errors);
        Assert.Equal(new DateTime(2030, 1, 1, 0, 0, 0, DateTimeKind.Utc), list.Expires!.Value.UtcDateTime.Date);
        Assert.Equal(TimeSpan.Zero, list.Expires.Value.Offset);
    }

    [Theory]
    [InlineData("\"tomorrow\"")]
    [InlineData("\"1/2/2030\"")]
    [InlineData("true")]
    [InlineData("1e300")]
    [InlineData("\"2030-13-01T00:00:00Z\"")]
    public void Parse_BadExpires_ErrorAndNoEntries(string expires)
    {
        var list = Parse(List("\"a.example\": {\"mode\": \"enforce\", \"mxs\": [\"mx.a.example\"]}", $"\"expires\": {expires}"));

        Assert.Empty(list.Entries);
        Assert.Equal("expires", Assert.Single(list.Errors).Key);
    }

    [Fact]
    public void Parse_NoExpires_WarningNeverExpires()
    {
        var list = Parse("{\"policies\": {\"a.example\": {\"mode\": \"enforce\", \"mxs\": [\"mx.a.example\"]}}}");

        Assert.Single(list.Entries);
        Assert.Contains(list.Warnings, w => w.Key == "expires");
        Assert.False(list.IsExpired(DateTimeOffset.MaxValue));
    }

    [Theory]
    [InlineData("[]", "must be a JSON object")]
    [InlineData("{}", "no 'policies'")]
    [InlineData("{\"policies\": []}", "'policies' must be an object")]
    [InlineData("{\"policies\": {}} {}", "malformed JSON at line 1, byte 18")]
    [InlineData("", "malformed JSON at line 1")]
    [InlineData("{\"policies\": {\"a\": [[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]}}", "malformed JSON")]
    public void Parse_BadTopLevel_OneError(string json, string fragment)
    {
        var list = Parse(json);

        Assert.Empty(list.Entries);
        Assert.Contains(fragment, Assert.Single(list.Errors).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("\"a.example\": {\"mode\": \"enforce\"}", "'mxs'")]
    [InlineData("\"a.example\": {\"mode\": \"enforce\", \"mxs\": [1]}", "not a string")]
    [InlineData("\"a.example\": {\"mode\": \"enforce\", \"mxs\": [\"mx\"]}", "single label")]
    [InlineData("\"a.example\": \"enforce\"", "must be an object")]
    [InlineData("\"a.example\": {\"policy-alias\": 3}", "must be a string")]
    [InlineData("\"a_b.example\": {\"mode\": \"enforce\", \"mxs\": [\"mx.a.example\"]}", "key")]
    [InlineData("\"a.example\": {\"mode\": 1, \"mxs\": [\"mx.a.example\"]}", "neither")]
    public void Parse_BadPolicy_ErrorForThatDomainOnly(string policy, string fragment)
    {
        var list = Parse(List(policy + ", \"ok.example\": {\"mode\": \"enforce\", \"mxs\": [\"mx.ok.example\"]}"));

        Assert.Equal("ok.example", Assert.Single(list.Entries).Domain);
        Assert.Contains(fragment, Assert.Single(list.Errors).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_ChainedAlias_Error()
    {
        var list = Parse("{\"expires\": \"2030-01-01\", \"policy-aliases\": {\"x\": {\"policy-alias\": \"y\"}, \"y\": {\"mode\": \"enforce\", \"mxs\": [\"mx.a.example\"]}},"
            + " \"policies\": {\"a.example\": {\"policy-alias\": \"x\"}}}");

        Assert.Empty(list.Entries);
        Assert.Contains("chained", Assert.Single(list.Errors).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_DuplicateDomain_FirstKeptWithWarning()
    {
        var list = Parse(List("\"a.example\": {\"mode\": \"enforce\", \"mxs\": [\"mx1.a.example\"]}, \"A.example\": {\"mode\": \"testing\", \"mxs\": [\"mx2.a.example\"]}"));

        Assert.Equal(PinnedPolicyMode.Enforce, Assert.Single(list.Entries).Mode);
        Assert.Contains(list.Warnings, w => w.Message.Contains("twice", StringComparison.Ordinal));
    }

    [Fact]
    public void Parse_BomCommentsTrailingCommas_Tolerated()
    {
        byte[] json = [.. "\uFEFF"u8, .. Encoding.UTF8.GetBytes("{ // list\n \"expires\": \"2030-01-01\", \"policies\": {\"a.example\": {\"mode\": \"enforce\", \"mxs\": [\"mx.a.example\",],},},}")];

        var list = StartTlsPolicyList.Parse(json, "t");

        Assert.Empty(list.Errors);
        Assert.Single(list.Entries);
    }

    [Fact]
    public void Parse_PinField_Warning()
    {
        var list = Parse(List("\"a.example\": {\"mode\": \"enforce\", \"pin\": \"x\", \"mxs\": [\"mx.a.example\"]}"));

        Assert.Single(list.Entries);
        Assert.Contains(list.Warnings, w => w.Message.Contains("'pin'", StringComparison.Ordinal));
    }

    [Fact]
    public void Parse_TooLarge_OneError()
    {
        var list = StartTlsPolicyList.Parse(new byte[StartTlsPolicyList.MaxBytes + 1], "t");

        Assert.Contains("larger", Assert.Single(list.Errors).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ParseString_SameAsBytes()
    {
        string json = File.ReadAllText(Path.Combine(s_dir, "list-aliases.json"));

        var fromString = StartTlsPolicyList.Parse(json, "t.json");
        var fromBytes = Parse(json);

        Assert.Equal(fromBytes.Entries, fromString.Entries);
    }
}
