using System.Text;
using CsCheck;
using Rampart.Core.Policy;
using Rampart.Core.Policy.Pinned;

namespace Rampart.Core.Tests.Policy.Pinned;

public sealed class PinnedPropertyTests
{
    private static readonly Gen<string> s_overridesish = Gen.OneOf(
            "example.org", ".example.org", " ", "\t", "\n", "\r\n", "#", "none", "may", "encrypt", "dane", "dane-only",
            "verify", "secure", "fingerprint", "match=", "servername=", ":", "=", ".", "*", "[", "]:25", "hostname",
            "nexthop", "mx.example.org", "\0", "ü", "xn--", "_", "-", "\uD800", "192.0.2.1")
        .Array[0, 30]
        .Select(parts => string.Concat(parts));

    private static readonly Gen<string> s_jsonish = Gen.OneOf(
            "{", "}", "[", "]", ",", ":", "\"", "\"policies\"", "\"policy-aliases\"", "\"policy-alias\"", "\"expires\"",
            "\"mode\"", "\"enforce\"", "\"testing\"", "\"mxs\"", "\".example.com\"", "\"mx.example.com\"", "\"a.example\"",
            "1", "1e400", "-1", "null", "true", "\"2030-01-01\"", "\"\\u0000\"", " ", "\n", "//", "/*", "*/", "\uFEFF", "\"a\"")
        .Array[0, 60]
        .Select(parts => string.Concat(parts));

    [Fact]
    public void OverridesParse_ArbitraryString_NeverThrows()
    {
        Gen.OneOf(Gen.String, s_overridesish).Sample(text =>
        {
            var result = PinnedOverrides.Parse(text, "t");
            Assert.All(result.Entries, e => Assert.Equal(TlsRequirementKind.Enforce, e.Requirement.Kind));
        }, iter: 5_000);
    }

    [Fact]
    public void PolicyListParse_ArbitraryBytes_NeverThrows()
    {
        Gen.Byte.Array[0, 512].Sample(bytes => _ = StartTlsPolicyList.Parse(bytes, "t"), iter: 5_000);
    }

    [Fact]
    public void PolicyListParse_JsonLikeText_NeverThrowsAndErrorsOrEntriesAreSane()
    {
        s_jsonish.Sample(text =>
        {
            var list = StartTlsPolicyList.Parse(Encoding.UTF8.GetBytes(text), "t");
            Assert.All(list.Entries, e => Assert.True(e.Requirement is { Level: TlsLevel.Secure, MatchNames.Count: > 0 }));
            var set = new PinnedPolicySet(null, list);
            foreach (var e in list.Entries)
            {
                Assert.True(set.TryGet(e.Domain, DateTimeOffset.MinValue, out _, out _));
            }
        }, iter: 5_000);
    }
}
