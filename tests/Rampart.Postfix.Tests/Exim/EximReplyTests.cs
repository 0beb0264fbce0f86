using Rampart.Core.MtaSts;
using Rampart.Core.Policy;
using Rampart.Postfix.Exim;

namespace Rampart.Postfix.Tests.Exim;

/// <summary>The one mapping from a sender decision to the line Exim reads (docs/exim.md, "The protocol").</summary>
public sealed class EximReplyTests
{
    private static string Reply(TlsRequirement requirement, SenderPolicyKind kind = SenderPolicyKind.MtaSts) =>
        EximReply.For(new SenderPolicyDecision("example.org", kind, requirement, [], [])).Text;

    [Fact]
    public void For_EachDecision_TheLineEximReads()
    {
        Assert.Equal("dane-only", Reply(TlsRequirement.DaneOnly, SenderPolicyKind.DaneOnly));
        Assert.Equal("dane", Reply(TlsRequirement.Dane, SenderPolicyKind.Dane));
        Assert.Equal("secure mx1.example.org:mx2.example.org", Reply(TlsRequirement.Secure(["mx1.example.org", "mx2.example.org"])));
        Assert.Equal("none", Reply(TlsRequirement.NoPolicy, SenderPolicyKind.None));
        Assert.Equal("tempfail MX lookup for example.org failed", Reply(TlsRequirement.Defer("MX lookup for example.org failed"), SenderPolicyKind.TempFail));
    }

    [Fact]
    public void For_PolicyWildcard_ExpandedToTheMxHostsAsForPostfix_OrSuffixPatternWhenTheMxSetIsUnknown()
    {
        var policy = MtaStsPolicyParser.Parse("version: STSv1\nmode: enforce\nmx: *.mx.example.org\nmx: backup.example.net\nmax_age: 86400\n").Policy!;

        var known = SenderPolicyResolver.MatchNames(policy, ["a.mx.example.org", "b.c.mx.example.org", "backup.example.net"]);
        var unknown = SenderPolicyResolver.MatchNames(policy, null);

        // one label only: b.c.mx.example.org is not covered by *.mx.example.org
        Assert.Equal("secure a.mx.example.org:backup.example.net", Reply(TlsRequirement.Secure(known)));
        Assert.Equal("secure *.mx.example.org:backup.example.net", Reply(TlsRequirement.Secure(unknown)));
    }

    [Theory]
    [InlineData(TlsLevel.Secure, new string[0], "secure example.org:*.example.org")]                 // Postfix's nexthop:dot-nexthop
    [InlineData(TlsLevel.Verify, new string[0], "secure *")]                                         // Postfix's hostname
    [InlineData(TlsLevel.Secure, new[] { "hostname", "mx.example.org" }, "secure *")]
    [InlineData(TlsLevel.Secure, new[] { "nexthop", "dot-nexthop", ".example.net" }, "secure example.org:*.example.org:*.example.net")]
    [InlineData(TlsLevel.Encrypt, new string[0], "secure *")]                                        // stricter, never weaker
    [InlineData(TlsLevel.May, new string[0], "none")]
    [InlineData(TlsLevel.None, new string[0], "none")]
    [InlineData(TlsLevel.DaneOnly, new string[0], "dane-only")]
    public void For_PinnedLevels(TlsLevel level, string[] match, string expected)
    {
        Assert.Equal(expected, Reply(TlsRequirement.Enforce(level, match, null), SenderPolicyKind.Pinned));
    }

    [Fact]
    public void For_SameDecision_SameReplyObject_AndTheBytesAreTheLineWithItsNewline()
    {
        var decision = new SenderPolicyDecision("example.org", SenderPolicyKind.MtaSts, TlsRequirement.Secure(["mx.example.org"]), [], []);

        var first = EximReply.For(decision);

        Assert.Same(first, EximReply.For(decision));
        Assert.Equal("secure mx.example.org\n", System.Text.Encoding.UTF8.GetString(first.Encoded.Span));
        Assert.Equal("secure", first.Word);
    }

    [Fact]
    public void Tempfail_ControlCharactersInTheReason_OneLine()
    {
        var reply = EximReply.Tempfail("bad\nthing\r");

        Assert.Equal("tempfail bad thing ", reply.Text);
        Assert.Equal("tempfail", reply.Word);
    }
}
