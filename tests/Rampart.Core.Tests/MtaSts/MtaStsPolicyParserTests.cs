using System.Text;
using Rampart.Core.MtaSts;

namespace Rampart.Core.Tests.MtaSts;

/// <summary>One test (or more) per RULES.md "Policy text" rule, each able to fail if the rule were broken.</summary>
public sealed class MtaStsPolicyParserTests
{
    private const string Good = "version: STSv1\nmode: enforce\nmx: mx.example.com\nmax_age: 86400\n";

    [Fact]
    public void Parse_GoodPolicy_ReturnsAllValues()
    {
        var policy = PolicyAssert.Valid("version: STSv1\nmode: testing\nmx: a.example.com\nmx: *.b.example.com\nmax_age: 604800\n");

        Assert.Equal("STSv1", policy.Version);
        Assert.Equal(MtaStsMode.Testing, policy.Mode);
        Assert.Equal(604800, policy.MaxAge);
        Assert.Equal(["a.example.com", "*.b.example.com"], policy.Mx.Select(m => m.Value));
    }

    [Fact]
    public void Parse_ValidPolicy_KeepsOriginalText()
    {
        const string text = "version: STSv1\r\nmode:   enforce  \r\nmx: MX.Example.com.\r\nmax_age: 86400\r\n\r\n";

        var policy = PolicyAssert.Valid(text);

        Assert.Same(text, policy.Text);
    }

    [Fact]
    public void Parse_CrlfLineEndings_SameAsLf()
    {
        var lf = MtaStsPolicyParser.Parse(Good);
        var crlf = MtaStsPolicyParser.Parse(Good.Replace("\n", "\r\n", StringComparison.Ordinal));

        Assert.True(crlf.IsValid);
        Assert.Empty(crlf.Warnings);
        Assert.Equal(lf.Policy!.Mx, crlf.Policy!.Mx);
        Assert.Equal(lf.Policy.MaxAge, crlf.Policy.MaxAge);
    }

    [Fact]
    public void Parse_MixedLineEndings_Accepted()
    {
        var policy = PolicyAssert.Valid("version: STSv1\r\nmode: enforce\nmx: mx.example.com\r\nmax_age: 86400");

        Assert.Equal("mx.example.com", Assert.Single(policy.Mx).Value);
    }

    [Fact]
    public void Parse_BareCarriageReturn_IsError()
    {
        var result = MtaStsPolicyParser.Parse("version: STSv1\rmode: enforce\nmx: mx.example.com\nmax_age: 86400\n");

        Assert.False(result.IsValid);
        Assert.Contains(result.Errors, e => e.Line == 1 && e.Message.Contains("bare carriage return", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("mode: enforce   ")]
    [InlineData("mode: enforce\t")]
    [InlineData("mode:enforce")]
    [InlineData("mode:  \t enforce \t ")]
    public void Parse_WhitespaceAroundValue_IsTrimmed(string modeLine)
    {
        var policy = PolicyAssert.Valid($"version: STSv1\n{modeLine}\nmx: mx.example.com  \nmax_age: 86400 \n");

        Assert.Equal(MtaStsMode.Enforce, policy.Mode);
        Assert.Equal("mx.example.com", policy.Mx[0].Value);
        Assert.Equal(86400, policy.MaxAge);
    }

    [Theory]
    [InlineData("Version: STSv1", "version")]
    [InlineData("MODE: enforce", "mode")]
    [InlineData("Max_Age: 86400", "max_age")]
    [InlineData("max-age: 86400", "max_age")]
    [InlineData(" mode: enforce", "mode")]
    [InlineData("mode : enforce", "mode")]
    public void Parse_KeyNotExactlyAsInRfc_IsIgnoredWithWarning(string line, string key)
    {
        string text = string.Join('\n', new[] { "version: STSv1", "mode: enforce", "mx: mx.example.com", "max_age: 86400" }
            .Where(l => !l.StartsWith(key + ":", StringComparison.Ordinal))
            .Append(line));

        var result = MtaStsPolicyParser.Parse(text);

        Assert.False(result.IsValid);
        Assert.Contains(result.Errors, e => e.Line == 0 && e.Message.Contains($"missing required key '{key}'", StringComparison.Ordinal));
        var warning = Assert.Single(result.Warnings);
        Assert.Equal(4, warning.Line);
        Assert.Contains($"is not '{key}'", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_MxKeyInUpperCase_IsNotAnMxLine()
    {
        var result = MtaStsPolicyParser.Parse("version: STSv1\nmode: enforce\nMX: mx.example.com\nmax_age: 86400\n");

        Assert.False(result.IsValid);
        Assert.Contains(result.Errors, e => e.Message.Contains("requires at least one 'mx'", StringComparison.Ordinal));
    }

    [Fact]
    public void Parse_VersionMissing_IsError()
    {
        var error = PolicyAssert.SingleError("mode: enforce\nmx: mx.example.com\nmax_age: 86400\n");

        Assert.Equal(0, error.Line);
        Assert.Contains("'version'", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("STSv2")]
    [InlineData("stsv1")]
    [InlineData("STSv1.0")]
    [InlineData("STSv10")]
    [InlineData("")]
    public void Parse_VersionNotStsV1_IsError(string version)
    {
        var error = PolicyAssert.SingleError($"version: {version}\nmode: enforce\nmx: mx.example.com\nmax_age: 86400\n");

        Assert.Equal(1, error.Line);
        Assert.Contains("version", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("enforce", MtaStsMode.Enforce)]
    [InlineData("testing", MtaStsMode.Testing)]
    [InlineData("none", MtaStsMode.None)]
    public void Parse_ModeValue_MapsToMode(string value, MtaStsMode mode)
    {
        var policy = PolicyAssert.Valid($"version: STSv1\nmode: {value}\nmx: mx.example.com\nmax_age: 86400\n");

        Assert.Equal(mode, policy.Mode);
    }

    [Theory]
    [InlineData("Enforce")]
    [InlineData("ENFORCE")]
    [InlineData("enforced")]
    [InlineData("report")]
    [InlineData("")]
    public void Parse_ModeUnknown_IsError(string value)
    {
        var error = PolicyAssert.SingleError($"version: STSv1\nmode: {value}\nmx: mx.example.com\nmax_age: 86400\n");

        Assert.Equal(2, error.Line);
        Assert.Contains("mode", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_ModeMissing_IsError()
    {
        var error = PolicyAssert.SingleError("version: STSv1\nmx: mx.example.com\nmax_age: 86400\n");

        Assert.Equal(0, error.Line);
        Assert.Contains("'mode'", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("0", 0)]
    [InlineData("1", 1)]
    [InlineData("86400", 86400)]
    [InlineData("31557600", 31557600)]
    [InlineData("0000086400", 86400)]
    public void Parse_MaxAgeInRange_IsAccepted(string value, long seconds)
    {
        var policy = PolicyAssert.Valid($"version: STSv1\nmode: enforce\nmx: mx.example.com\nmax_age: {value}\n");

        Assert.Equal(seconds, policy.MaxAge);
    }

    [Theory]
    [InlineData("31557601", "exceeds")]
    [InlineData("4294967296", "exceeds")]
    [InlineData("9223372036854775808", "exceeds")]
    [InlineData("99999999999999999999999999999999", "exceeds")]
    [InlineData("-1", "sign")]
    [InlineData("-0", "sign")]
    [InlineData("+86400", "sign")]
    [InlineData("86 400", "not a whole number")]
    [InlineData("86400s", "not a whole number")]
    [InlineData("1.5", "not a whole number")]
    [InlineData("1e5", "not a whole number")]
    [InlineData("0x100", "not a whole number")]
    [InlineData("\u0661\u0662\u0663", "not a whole number")]
    [InlineData("８６４００", "not a whole number")]
    [InlineData("", "empty")]
    public void Parse_MaxAgeInvalid_IsError(string value, string reason)
    {
        var error = PolicyAssert.SingleError($"version: STSv1\nmode: enforce\nmx: mx.example.com\nmax_age: {value}\n");

        Assert.Equal(4, error.Line);
        Assert.Contains("max_age", error.Message, StringComparison.Ordinal);
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_MaxAgeMissing_IsError()
    {
        var error = PolicyAssert.SingleError("version: STSv1\nmode: enforce\nmx: mx.example.com\n");

        Assert.Equal(0, error.Line);
        Assert.Contains("'max_age'", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("enforce")]
    [InlineData("testing")]
    public void Parse_NoMxWhenModeNeedsIt_IsError(string mode)
    {
        var error = PolicyAssert.SingleError($"version: STSv1\nmode: {mode}\nmax_age: 86400\n");

        Assert.Equal(0, error.Line);
        Assert.Contains($"mode '{mode}' requires at least one 'mx'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_NoMxWithModeNone_IsValid()
    {
        var policy = PolicyAssert.Valid("version: STSv1\nmode: none\nmax_age: 86400\n");

        Assert.Equal(MtaStsMode.None, policy.Mode);
        Assert.Empty(policy.Mx);
    }

    [Fact]
    public void Parse_SeveralMxLines_KeepsAllInOrder()
    {
        var policy = PolicyAssert.Valid("version: STSv1\nmx: c.example.com\nmode: enforce\nmx: a.example.com\nmax_age: 86400\nmx: *.b.example.com\n");

        Assert.Equal(["c.example.com", "a.example.com", "*.b.example.com"], policy.Mx.Select(m => m.Value));
    }

    [Fact]
    public void Parse_MxWithULabel_IsReportedNamingTheALabel()
    {
        var result = MtaStsPolicyParser.Parse("version: STSv1\nmode: enforce\nmx: møx.example\nmx: mx.xn--bcher-kva.example\nmax_age: 86400\n");

        Assert.True(result.IsValid);
        Assert.Equal(["xn--mx-lka.example", "mx.xn--bcher-kva.example"], result.Policy!.Mx.Select(m => m.Value));
        var warning = Assert.Single(result.Warnings);
        Assert.Equal(3, warning.Line);
        Assert.Contains("'møx.example'", warning.Message, StringComparison.Ordinal);
        Assert.Contains("publish 'mx: xn--mx-lka.example'", warning.Message, StringComparison.Ordinal);
        Assert.Contains("RFC 8461 §3.2", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_UnknownKeys_AreIgnoredWithoutWarning()
    {
        var result = MtaStsPolicyParser.Parse(Good + "rua: mailto:tls@example.com\nfuture_field: x: y\nx: 1\n");

        Assert.True(result.IsValid);
        Assert.Empty(result.Warnings);
        Assert.Empty(result.Errors);
    }

    [Theory]
    [InlineData("version", "STSv1", "STSv2")]
    [InlineData("mode", "enforce", "none")]
    [InlineData("mode", "testing", "enforce")]
    [InlineData("max_age", "86400", "31557600")]
    [InlineData("max_age", "86400", "86400")]
    public void Parse_KeyGivenTwice_FirstValueCountsWithWarningNamingBothLines(string key, string first, string second)
    {
        string text = "version: STSv1\nmode: testing\nmx: mx.example.com\nmax_age: 86400\n"
            .Replace($"{key}: {(key == "version" ? "STSv1" : key == "mode" ? "testing" : "86400")}", $"{key}: {first}", StringComparison.Ordinal)
            + $"{key}: {second}\n";

        var result = MtaStsPolicyParser.Parse(text);

        Assert.True(result.IsValid, PolicyAssert.Describe(result));
        var policy = result.Policy!;
        string actual = key switch
        {
            "version" => policy.Version,
            "mode" => MtaStsPolicy.ModeName(policy.Mode),
            _ => policy.MaxAge.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        Assert.Equal(first, actual);
        var warning = Assert.Single(result.Warnings);
        Assert.Equal(5, warning.Line);
        int firstLine = key switch { "version" => 1, "mode" => 2, _ => 4 };
        Assert.Contains($"first on line {firstLine}", warning.Message, StringComparison.Ordinal);
        Assert.Contains("line 5", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_KeyGivenTwiceWithLaterValueInvalid_StillValid()
    {
        var result = MtaStsPolicyParser.Parse(Good + "max_age: forever\n");

        Assert.True(result.IsValid);
        Assert.Equal(86400, result.Policy!.MaxAge);
        Assert.Single(result.Warnings);
    }

    [Fact]
    public void Parse_KeyGivenTwiceWithFirstValueInvalid_LaterValueDoesNotRescue()
    {
        var result = MtaStsPolicyParser.Parse("version: STSv1\nmode: enforce\nmx: mx.example.com\nmax_age: forever\nmax_age: 86400\n");

        Assert.False(result.IsValid);
        Assert.Equal(4, Assert.Single(result.Errors).Line);
        Assert.Equal(5, Assert.Single(result.Warnings).Line);
    }

    [Fact]
    public void Parse_MxGivenTwice_BothKeptWithoutWarning()
    {
        var result = MtaStsPolicyParser.Parse(Good + "mx: mx2.example.com\n");

        Assert.True(result.IsValid);
        Assert.Empty(result.Warnings);
        Assert.Equal(2, result.Policy!.Mx.Count);
    }

    [Theory]
    [InlineData("192.0.2.1", "IP address")]
    [InlineData("192.0.2.1.", "IP address")]
    [InlineData("2001:db8::1", "IP address")]
    [InlineData("::1", "IP address")]
    [InlineData("::ffff:192.0.2.1", "IP address")]
    [InlineData("[192.0.2.1]", "address literal")]
    [InlineData("[IPv6:2001:db8::1]", "address literal")]
    public void Parse_MxIpAddress_IsError(string value, string reason)
    {
        var error = PolicyAssert.SingleError($"version: STSv1\nmode: enforce\nmx: {value}\nmax_age: 86400\n");

        Assert.Equal(3, error.Line);
        Assert.Contains($"mx value '{value}' is", error.Message, StringComparison.Ordinal);
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("mx:")]
    [InlineData("mx:   ")]
    [InlineData("mx:\t")]
    public void Parse_MxEmpty_IsError(string line)
    {
        var error = PolicyAssert.SingleError($"version: STSv1\nmode: enforce\nmx: ok.example.com\n{line}\nmax_age: 86400\n");

        Assert.Equal(4, error.Line);
        Assert.Contains("mx value is empty", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("*")]
    [InlineData("*.")]
    [InlineData("*.com")]
    [InlineData("**.example.com")]
    [InlineData("*mx.example.com")]
    [InlineData("mx.*.example.com")]
    [InlineData("mx.example.*")]
    [InlineData("mx example.com")]
    [InlineData("mx.example.com:25")]
    [InlineData("https://mx.example.com")]
    [InlineData("mx_1.example.com")]
    [InlineData("-mx.example.com")]
    [InlineData("mx-.example.com")]
    [InlineData("mx..example.com")]
    [InlineData(".example.com")]
    [InlineData("localhost")]
    [InlineData("mx.example.com..")]
    [InlineData("1.2.3.4.5")]
    public void Parse_MxGarbage_IsError(string value)
    {
        var error = PolicyAssert.SingleError($"version: STSv1\nmode: enforce\nmx: {value}\nmax_age: 86400\n");

        Assert.Equal(3, error.Line);
        Assert.StartsWith("mx value", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_BadMxWithModeNone_IsStillError()
    {
        var error = PolicyAssert.SingleError("version: STSv1\nmode: none\nmx: 192.0.2.1\nmax_age: 86400\n");

        Assert.Equal(3, error.Line);
    }

    [Fact]
    public void Parse_TrailingEmptyLine_IsHarmless()
    {
        var result = MtaStsPolicyParser.Parse(Good + "\n");

        Assert.True(result.IsValid);
        Assert.Empty(result.Warnings);
    }

    [Fact]
    public void Parse_BlankLines_DoNotInventKeys()
    {
        var result = MtaStsPolicyParser.Parse("\n\nversion: STSv1\n\n  \nmode: enforce\n\t\nmax_age: 86400\n\n");

        Assert.False(result.IsValid);
        var error = Assert.Single(result.Errors);
        Assert.Contains("requires at least one 'mx'", error.Message, StringComparison.Ordinal);
        Assert.Empty(result.Warnings);
    }

    [Fact]
    public void Parse_LineWithoutColon_IsErrorWithItsLineNumber()
    {
        var error = PolicyAssert.SingleError("version: STSv1\nmode: enforce\nmx: mx.example.com\n\nmax_age 86400\nmax_age: 86400\n");

        Assert.Equal(5, error.Line);
        Assert.Contains("no ':'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_LineWithEmptyKey_IsError()
    {
        var error = PolicyAssert.SingleError(Good + ": value\n");

        Assert.Equal(5, error.Line);
        Assert.Contains("no key", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_ValueContainingColon_SplitsAtFirstColon()
    {
        var result = MtaStsPolicyParser.Parse("version: STSv1\nmode: enforce:testing\nmx: mx.example.com\nmax_age: 86400\n");

        var error = Assert.Single(result.Errors);
        Assert.Contains("'enforce:testing'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_SeveralProblems_CollectsEveryError()
    {
        var result = MtaStsPolicyParser.Parse("version: STSv9\nmode: strict\nmx: 192.0.2.1\nmx: a.*.example.com\nnonsense\nmax_age: -5\n");

        Assert.False(result.IsValid);
        Assert.Equal([1, 2, 3, 4, 5, 6], result.Errors.Select(e => e.Line));
    }

    [Fact]
    public void Parse_EverythingMissing_ReportsEachMissingKey()
    {
        var result = MtaStsPolicyParser.Parse("foo: bar\n");

        Assert.Equal(3, result.Errors.Count);
        Assert.All(result.Errors, e => Assert.Equal(0, e.Line));
    }

    [Theory]
    [InlineData("")]
    [InlineData("\n")]
    [InlineData("\r\n\r\n")]
    [InlineData("  \n\t\n")]
    public void Parse_EmptyText_IsSingleError(string text)
    {
        var error = PolicyAssert.SingleError(text);

        Assert.Equal(0, error.Line);
        Assert.Contains("empty", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_ControlCharacterInString_IsNotATextPolicy()
    {
        var error = PolicyAssert.SingleError("version: STSv1\nmode: enforce\nmx: mx.exa\u0000mple.com\nmax_age: 86400\n");

        Assert.Equal(3, error.Line);
        Assert.Contains("U+0000", error.Message, StringComparison.Ordinal);
        Assert.Contains("column 11", error.Message, StringComparison.Ordinal);
        Assert.Contains("not a text policy", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_BytesWithInvalidUtf8_IsNotATextPolicy()
    {
        byte[] bytes = [.. Encoding.UTF8.GetBytes("version: STSv1\nmode: enforce\n"), 0xC3, 0x28, .. Encoding.UTF8.GetBytes("\nmax_age: 1\n")];

        var result = MtaStsPolicyParser.Parse(bytes);

        Assert.False(result.IsValid);
        var error = Assert.Single(result.Errors);
        Assert.Equal(3, error.Line);
        Assert.Contains("0xC3", error.Message, StringComparison.Ordinal);
        Assert.Contains("not valid UTF-8", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new byte[] { 0xC0, 0xAF })]
    [InlineData(new byte[] { 0xED, 0xA0, 0x80 })]
    [InlineData(new byte[] { 0xF5, 0x80, 0x80, 0x80 })]
    [InlineData(new byte[] { 0xE2, 0x82 })]
    public void Parse_BytesWithOverlongSurrogateOrTruncatedUtf8_IsRejected(byte[] bad)
    {
        byte[] bytes = [.. Encoding.UTF8.GetBytes(Good), .. bad];

        var result = MtaStsPolicyParser.Parse(bytes);

        Assert.False(result.IsValid);
        Assert.Equal(5, Assert.Single(result.Errors).Line);
    }

    [Fact]
    public void Parse_BytesWithNul_IsNotATextPolicyOnThatLine()
    {
        byte[] bytes = Encoding.UTF8.GetBytes("version: STSv1\nmode: enforce\0\nmx: mx.example.com\nmax_age: 86400\n");

        var result = MtaStsPolicyParser.Parse(bytes);

        var error = Assert.Single(result.Errors);
        Assert.Equal(2, error.Line);
        Assert.Contains("not a text policy", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_BytesOfValidPolicy_SameAsString()
    {
        const string text = "version: STSv1\r\nmode: testing\r\nmx: mx.bücher.example\r\nmax_age: 600\r\n";

        var fromBytes = MtaStsPolicyParser.Parse(Encoding.UTF8.GetBytes(text));

        Assert.True(fromBytes.IsValid);
        Assert.Equal(text, fromBytes.Policy!.Text);
        Assert.Equal(PolicyAssert.Describe(MtaStsPolicyParser.Parse(text)), PolicyAssert.Describe(fromBytes));
    }

    [Fact]
    public void Parse_ByteOrderMark_IgnoredWithWarning()
    {
        var result = MtaStsPolicyParser.Parse("\uFEFF" + Good);

        Assert.True(result.IsValid);
        Assert.Equal(1, Assert.Single(result.Warnings).Line);
    }

    [Fact]
    public void Parse_ErrorMessages_AreOneLineAndNameTheRule()
    {
        var result = MtaStsPolicyParser.Parse("version: x\nmode: y\nmx: 10.0.0.1\nmx: \nmx: a b\nmx: *\nmax_age: 1y\nbad\nMode: z\nmode: enforce\n");

        Assert.True(result.Errors.Count >= 7);
        Assert.All(result.Errors, e => PolicyAssert.OneLineNamingRule(e.Message));
        Assert.All(result.Warnings, w => PolicyAssert.OneLineNamingRule(w.Message));
    }

    [Fact]
    public void Parse_Mx_MatchesViaPolicy()
    {
        var policy = PolicyAssert.Valid("version: STSv1\nmode: enforce\nmx: *.example.com\nmx: mail.example.net\nmax_age: 86400\n");

        Assert.True(policy.MatchesMx("mx1.example.com"));
        Assert.True(policy.MatchesMx("MAIL.example.net."));
        Assert.False(policy.MatchesMx("a.b.example.com"));
        Assert.False(policy.MatchesMx("example.com"));
    }
}
