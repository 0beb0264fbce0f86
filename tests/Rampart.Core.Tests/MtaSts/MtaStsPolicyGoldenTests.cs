using System.Text;
using System.Text.Json;
using Rampart.Core.MtaSts;

namespace Rampart.Core.Tests.MtaSts;

/// <summary>
/// Golden files: TestData/policies/NAME.txt (fed to the parser as raw bytes) and NAME.expected.json
/// (valid, mode, max_age, mx, and errors/warnings as exact line numbers plus message substrings).
/// </summary>
public sealed class MtaStsPolicyGoldenTests
{
    private static readonly string s_dir = Path.Combine(AppContext.BaseDirectory, "TestData", "policies");

    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (string file in Directory.EnumerateFiles(s_dir, "*.txt").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileNameWithoutExtension(file));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Parse_GoldenFile_MatchesExpected(string name)
    {
        byte[] bytes = File.ReadAllBytes(Path.Combine(s_dir, name + ".txt"));
        using var expected = JsonDocument.Parse(File.ReadAllText(Path.Combine(s_dir, name + ".expected.json")));
        var root = expected.RootElement;

        var result = MtaStsPolicyParser.Parse(bytes);

        Assert.Equal(root.GetProperty("valid").GetBoolean(), result.IsValid);
        AssertDiagnostics(root.GetProperty("errors"), result.Errors, "error");
        AssertDiagnostics(root.GetProperty("warnings"), result.Warnings, "warning");

        if (result.Policy is { } policy)
        {
            Assert.Equal("STSv1", policy.Version);
            Assert.Equal(root.GetProperty("mode").GetString(), MtaStsPolicy.ModeName(policy.Mode));
            Assert.Equal(root.GetProperty("max_age").GetInt64(), policy.MaxAge);
            string[] mx = [.. root.GetProperty("mx").EnumerateArray().Select(e => e.GetString()!)];
            Assert.Equal(mx, policy.Mx.Select(p => p.Value));
            Assert.Equal(Encoding.UTF8.GetString(bytes), policy.Text);
        }
        else
        {
            Assert.NotEmpty(result.Errors);
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Parse_GoldenFileAsString_SameAsBytes(string name)
    {
        byte[] bytes = File.ReadAllBytes(Path.Combine(s_dir, name + ".txt"));
        if (!System.Text.Unicode.Utf8.IsValid(bytes))
        {
            return; // no string holds these bytes; the bytes-only case is covered by Parse_GoldenFile_MatchesExpected
        }

        var fromBytes = MtaStsPolicyParser.Parse(bytes);
        var fromString = MtaStsPolicyParser.Parse(Encoding.UTF8.GetString(bytes));

        Assert.Equal(PolicyAssert.Describe(fromBytes), PolicyAssert.Describe(fromString));
    }

    [Fact]
    public void GoldenFiles_RequiredCases_ArePresentWithExpectations()
    {
        string[] required =
        [
            "good-enforce-lf", "good-crlf", "testing", "none-without-mx", "trailing-blank-line",
            "duplicate-key-first-wins", "duplicate-mode-different-values", "missing-version", "wrong-version",
            "bad-mode", "max-age-negative", "max-age-too-large", "max-age-non-numeric", "max-age-leading-plus",
            "mx-ipv4", "mx-ipv6", "mx-empty", "mx-wildcard-middle", "no-colon", "unknown-keys", "case-variant-key",
            "whitespace-trimmed", "multiple-errors", "empty", "binary",
        ];

        foreach (string name in required)
        {
            Assert.True(File.Exists(Path.Combine(s_dir, name + ".txt")), $"missing golden file {name}.txt");
            Assert.True(File.Exists(Path.Combine(s_dir, name + ".expected.json")), $"missing {name}.expected.json");
        }

        foreach (string file in Directory.EnumerateFiles(s_dir, "*.txt"))
        {
            string json = Path.ChangeExtension(file, ".expected.json");
            Assert.True(File.Exists(json), $"golden file {Path.GetFileName(file)} has no expectations");
        }
    }

    [Fact]
    public void GoldenFile_GoodCrlf_ReallyUsesCrlf()
    {
        byte[] bytes = File.ReadAllBytes(Path.Combine(s_dir, "good-crlf.txt"));
        string text = Encoding.UTF8.GetString(bytes);

        Assert.Contains("\r\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', text.Replace("\r\n", "", StringComparison.Ordinal));
    }

    [Fact]
    public void GoldenFile_Binary_HoldsNulByte()
    {
        byte[] bytes = File.ReadAllBytes(Path.Combine(s_dir, "binary.txt"));

        Assert.Contains((byte)0, bytes);
    }

    private static void AssertDiagnostics(JsonElement expected, IReadOnlyList<PolicyDiagnostic> actual, string kind)
    {
        var want = expected.EnumerateArray().ToList();
        Assert.True(want.Count == actual.Count,
            $"expected {want.Count} {kind}(s), got {actual.Count}: {string.Join(" | ", actual.Select(d => $"{d.Line}: {d.Message}"))}");
        for (int i = 0; i < want.Count; i++)
        {
            Assert.Equal(want[i].GetProperty("line").GetInt32(), actual[i].Line);
            Assert.Contains(want[i].GetProperty("contains").GetString()!, actual[i].Message, StringComparison.Ordinal);
            PolicyAssert.OneLineNamingRule(actual[i].Message);
        }
    }
}
