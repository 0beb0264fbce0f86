using Rampart.Core.Policy;
using Rampart.Core.Policy.Pinned;

namespace Rampart.Core.Tests.Policy.Pinned;

public sealed class PinnedOverridesTests
{
    private static readonly string s_dir = Path.Combine(AppContext.BaseDirectory, "TestData", "pinned");

    private static PinnedPolicy Single(string text)
    {
        var result = PinnedOverrides.Parse(text, "t");
        Assert.Empty(result.Errors);
        return Assert.Single(result.Entries);
    }

    private static PinnedDiagnostic SingleError(string text)
    {
        var result = PinnedOverrides.Parse(text, "t");
        Assert.Empty(result.Entries);
        return Assert.Single(result.Errors);
    }

    [Fact]
    public void Parse_GoldenFile_EntriesAndErrorLinesMatch()
    {
        var result = PinnedOverrides.Parse(File.ReadAllText(Path.Combine(s_dir, "overrides.txt")), "overrides.txt");

        string[] expected = [.. File.ReadAllLines(Path.Combine(s_dir, "overrides.expected.txt")).Where(l => l.Length > 0)];
        Assert.Equal(expected, result.Entries.Select(e => e.Domain + "\t" + PolicyTableNotation.Of(e.Requirement)));
        Assert.Equal([15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25], result.Errors.Select(e => e.Line).Distinct().Order());
        Assert.All(result.Errors, e => Assert.Equal("overrides.txt", e.Source));
        Assert.All(result.Entries, e => Assert.Equal(PinnedPolicyMode.Enforce, e.Mode));
        Assert.Equal(11, result.Entries.Single(e => e.Domain == "multi.example").Source.Line);
    }

    [Theory]
    [InlineData("none")]
    [InlineData("may")]
    [InlineData("encrypt")]
    [InlineData("dane")]
    [InlineData("dane-only")]
    [InlineData("verify")]
    [InlineData("secure")]
    public void Parse_EachLevel_Accepted(string level)
    {
        var entry = Single($"example.org {level}\n");

        Assert.Equal(level, entry.Level);
        Assert.Equal(TlsRequirement.Enforce(entry.Requirement.Level, [], null), entry.Requirement);
        Assert.Equal(level, PolicyTableNotation.Of(entry.Requirement));
        Assert.Equal(new PinnedPolicySource(PinnedPolicyOrigin.Override, "t", 1, "example.org"), entry.Source);
        Assert.Null(entry.Expires);
    }

    [Fact]
    public void Parse_SecureWithMatchAndServerName_NormalizesValue()
    {
        var entry = Single("Example.ORG  secure  match=MX.example.org:.Backup.example.org:mx.example.org  servername=hostname");

        Assert.Equal("example.org", entry.Domain);
        Assert.Equal(TlsRequirement.Secure(["mx.example.org", ".backup.example.org"]), entry.Requirement);
    }

    [Fact]
    public void Parse_SuffixKey_KeptWithDot()
    {
        var entry = Single(".example.org dane-only");

        Assert.Equal(".example.org", entry.Domain);
        Assert.True(entry.MatchesSubdomains);
    }

    [Fact]
    public void Parse_ContinuationLine_JoinedToPreviousEntry()
    {
        var entry = Single("example.org secure\n\t match=mx.example.org\r\n  servername=nexthop\n");

        Assert.Equal(TlsRequirement.Enforce(TlsLevel.Secure, ["mx.example.org"], "nexthop"), entry.Requirement);
        Assert.Equal(1, entry.Source.Line);
    }

    [Fact]
    public void Parse_CommentsAndBlankLines_Ignored()
    {
        var result = PinnedOverrides.Parse("# a\n\n   # indented comment\n   \nexample.org may\n", "t");

        Assert.Empty(result.Errors);
        Assert.Equal(5, Assert.Single(result.Entries).Source.Line);
    }

    [Theory]
    [InlineData("example.org fingerprint", "fingerprint")]
    [InlineData("example.org", "no TLS level")]
    [InlineData("example.org strict", "unknown TLS level")]
    [InlineData("[mx.example.org]:25 secure", "next-hop")]
    [InlineData("example.org dane match=mx.example.org", "verify and secure")]
    [InlineData("example.org secure match=*.example.org", "'.example.com'")]
    [InlineData("example.org secure match=", "match= is empty")]
    [InlineData("example.org secure match=a.example.org::b.example.org", "empty item")]
    [InlineData("example.org secure match=192.0.2.1", "IP address")]
    [InlineData("example.org secure ciphers=high", "unsupported attribute")]
    [InlineData("example.org secure match", "unsupported attribute")]
    [InlineData("example.org none servername=hostname", "no effect")]
    [InlineData("example.org may servername=.example.org", "servername=")]
    [InlineData("bad_key.example may", "key")]
    [InlineData("*.example.org may", "key")]
    [InlineData("   example.org may", "no entry to continue")]
    [InlineData("example.org secure match=a.example.org match=b.example.org", "twice")]
    public void Parse_BadLine_OneErrorWithLineNumber(string text, string fragment)
    {
        var error = SingleError("# header\n" + text);

        Assert.Equal(2, error.Line);
        Assert.Contains(fragment, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_BadLines_AllCollectedOthersKept()
    {
        var result = PinnedOverrides.Parse("a.example strict\nb.example may\nc.example secure match=\nd.example encrypt", "t");

        Assert.Equal(["b.example", "d.example"], result.Entries.Select(e => e.Domain));
        Assert.Equal([1, 3], result.Errors.Select(e => e.Line));
        Assert.False(result.IsValid);
    }

    [Fact]
    public void Parse_DuplicateKey_FirstKeptSecondError()
    {
        var result = PinnedOverrides.Parse("example.org may\nEXAMPLE.org. encrypt\n", "t");

        Assert.Equal("may", Assert.Single(result.Entries).Level);
        var error = Assert.Single(result.Errors);
        Assert.Equal(2, error.Line);
        Assert.Contains("first on line 1", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_TooLarge_OneErrorNoEntries()
    {
        var error = SingleError(new string('#', PinnedOverrides.MaxChars + 1));

        Assert.Contains("larger", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_MatchKeywords_Accepted()
    {
        Assert.Equal(TlsRequirement.Enforce(TlsLevel.Secure, ["nexthop", "dot-nexthop"], null), Single("example.org secure match=NEXTHOP:dot-nexthop").Requirement);
    }

    [Fact]
    public void ToEvidence_Override_PassWithSource()
    {
        var entry = Single(".example.org dane-only");

        var evidence = entry.ToEvidence("mx.example.org");

        Assert.Equal(EvidenceOutcome.Pass, evidence.Outcome);
        Assert.Equal("pinned", evidence.Step);
        Assert.Contains("overrides t line 1", evidence.Message, StringComparison.Ordinal);
        Assert.Contains("key .example.org", evidence.Message, StringComparison.Ordinal);
    }
}
