using CsCheck;
using Rampart.Postfix.Socketmap;

namespace Rampart.Postfix.Tests.Socketmap;

public sealed class SocketmapKeyTests
{
    public static TheoryData<int, string> KeyCases()
    {
        var data = new TheoryData<int, string>();
        foreach (var (line, cells) in Tsv.Rows("keys.tsv"))
        {
            data.Add(line, cells[0]);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(KeyCases))]
    public void Normalize_GoldenKey_MatchesExpected(int line, string key)
    {
        var cells = Tsv.Rows("keys.tsv").Single(r => r.Line == line).Cells;
        var expectedKind = Enum.Parse<SocketmapKeyKind>(cells[1]);
        string? expectedDomain = cells[2] == "-" ? null : cells[2];

        var kind = SocketmapKey.Normalize(Tsv.Text(key), out var domain);

        Assert.Equal(expectedKind, kind);
        Assert.Equal(expectedDomain ?? "", domain.Value);
    }

    [Fact]
    public void Normalize_Null_NotADomain()
    {
        Assert.Equal(SocketmapKeyKind.NotADomain, SocketmapKey.Normalize(null, out var domain));
        Assert.Equal(default, domain);
    }

    [Fact]
    public void Normalize_ArbitraryString_NeverThrowsAndDomainOnlyForDomain()
    {
        var keyish = Gen.OneOf<string>("[", "]", ":", "25", ".", "example", "com", "ü", "192", "0", "::", "-", "_", " ", "\0", "xn--")
            .Array[0, 10].Select(parts => string.Concat(parts));
        Gen.OneOf(Gen.String, keyish).Sample(key =>
        {
            var kind = SocketmapKey.Normalize(key, out var parsed);
            var domain = parsed.Value;

            Assert.Equal(kind == SocketmapKeyKind.Domain, domain.Length > 0);
            if (domain.Length > 0)
            {
                Assert.Equal(domain, domain.ToLowerInvariant());
                Assert.All(domain, c => Assert.True(char.IsAsciiLetterOrDigit(c) || c is '-' or '.'));
                Assert.Equal(SocketmapKeyKind.Domain, SocketmapKey.Normalize(domain, out var again));
                Assert.Equal(parsed, again);
            }
        }, iter: 20_000);
    }
}
