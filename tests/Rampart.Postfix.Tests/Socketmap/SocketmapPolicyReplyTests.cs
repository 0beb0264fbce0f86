using Rampart.Core.MtaSts;
using Rampart.Core.Policy;
using Rampart.Postfix.Socketmap;

namespace Rampart.Postfix.Tests.Socketmap;

/// <summary>The one mapping from a sender decision to the bytes Postfix gets for <c>smtp_tls_policy_maps</c>.</summary>
public sealed class SocketmapPolicyReplyTests
{
    private static SenderPolicyDecision Decision(TlsRequirement requirement, TlsRptPolicy? tlsRpt = null) =>
        new("example.org", SenderPolicyKind.MtaSts, requirement, [], [], TlsRpt: tlsRpt);

    private static string Reply(TlsRequirement requirement, TlsRptPolicy? tlsRpt = null) =>
        SocketmapPolicyReply.For(Decision(requirement, tlsRpt)).Text;

    private static TlsRptPolicy TlsRpt(string policyText) => new("example.org", MtaStsPolicyParser.Parse(policyText).Policy!);

    [Fact]
    public void For_EachRequirement_TheReplyPostfixReads()
    {
        Assert.Equal("NOTFOUND ", Reply(TlsRequirement.NoPolicy));
        Assert.Equal("OK dane-only", Reply(TlsRequirement.DaneOnly));
        Assert.Equal("OK dane", Reply(TlsRequirement.Dane));
        Assert.Equal("OK secure match=mx.example.org servername=hostname", Reply(TlsRequirement.Secure(["mx.example.org"])));
        Assert.Equal("OK secure match=mx.example.org", Reply(TlsRequirement.Secure(["mx.example.org"], sendServerName: false)));
        Assert.Equal("OK secure match=a.mx.example.org:.backup.example.org servername=hostname",
            Reply(TlsRequirement.Secure(["a.mx.example.org", ".backup.example.org"])));
        Assert.Equal("TEMP MX lookup for example.org failed", Reply(TlsRequirement.Defer("MX lookup for example.org failed")));
    }

    [Theory]
    [InlineData(TlsLevel.None, "OK none")]
    [InlineData(TlsLevel.May, "OK may")]
    [InlineData(TlsLevel.Encrypt, "OK encrypt")]
    [InlineData(TlsLevel.Dane, "OK dane")]
    [InlineData(TlsLevel.DaneOnly, "OK dane-only")]
    [InlineData(TlsLevel.Verify, "OK verify")]
    [InlineData(TlsLevel.Secure, "OK secure")]
    public void For_PinnedLevel_LevelNameAlone(TlsLevel level, string expected)
    {
        Assert.Equal(expected, Reply(TlsRequirement.Enforce(level, [], null)));
    }

    [Fact]
    public void For_PinnedAttributes_MatchThenServername()
    {
        Assert.Equal("OK verify match=hostname:dot-nexthop servername=nexthop",
            Reply(TlsRequirement.Enforce(TlsLevel.Verify, ["hostname", "dot-nexthop"], "nexthop")));
        Assert.Equal("OK encrypt servername=mx.example.org", Reply(TlsRequirement.Enforce(TlsLevel.Encrypt, [], "mx.example.org")));
    }

    [Fact]
    public void For_TlsRpt_AddsPostfixTlsRptAttributesInPolicyOrder()
    {
        var tlsRpt = TlsRpt("version: STSv1\r\nmode: enforce\r\nmx: *.mx.example.org\r\n\r\nmx: MX2.Example.org.\r\nmax_age: 604800\r\n");

        Assert.Equal(
            "OK secure match=a.mx.example.org:mx2.example.org servername=hostname policy_type=sts policy_domain=example.org " +
            "policy_ttl=604800 mx_host_pattern=*.mx.example.org mx_host_pattern=MX2.Example.org. " +
            "{ policy_string = version: STSv1 } { policy_string = mode: enforce } { policy_string = mx: *.mx.example.org } " +
            "{ policy_string = mx: MX2.Example.org. } { policy_string = max_age: 604800 }",
            Reply(TlsRequirement.Secure(["a.mx.example.org", "mx2.example.org"]), tlsRpt));
    }

    [Fact]
    public void For_TlsRpt_LeavesOutLinesPostfixCannotQuote()
    {
        var reply = Reply(TlsRequirement.Secure(["mx.example.org"]), TlsRpt("version: STSv1\nmode: enforce\nmx: mx.example.org\nmax_age: 86400\next: {x}\n"));

        Assert.EndsWith("{ policy_string = max_age: 86400 }", reply, StringComparison.Ordinal);
        Assert.DoesNotContain("{x}", reply, StringComparison.Ordinal);
    }

    [Fact]
    public void For_TlsRptPastTheLimit_PolicyStringsLeftOut_AndPastItEvenWithoutThem_TempReplyTooLong()
    {
        static TlsRptPolicy Many(int count) => TlsRpt("version: STSv1\nmode: enforce\n"
            + string.Concat(Enumerable.Range(0, count).Select(i => $"mx: mx{i:D4}.{new string('a', 50)}.example.org\n")) + "max_age: 86400\n");
        var secure = TlsRequirement.Secure(["mx0000.example.org"]);

        var withoutStrings = SocketmapPolicyReply.For(Decision(secure, Many(1000)));
        var tooLong = SocketmapPolicyReply.For(Decision(secure, Many(1500)));

        Assert.Equal(0, withoutStrings.RefusedBytes);
        Assert.EndsWith($"mx_host_pattern=mx0999.{new string('a', 50)}.example.org", withoutStrings.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("policy_string", withoutStrings.Text, StringComparison.Ordinal);
        Assert.Equal("TEMP reply too long", tooLong.Text);
        Assert.True(tooLong.RefusedBytes > SocketmapReply.MaxBytes);
    }

    [Fact]
    public void For_SameDecision_SameReplyObject_EncodedOnce()
    {
        var decision = Decision(TlsRequirement.Secure(["mx.example.org"]));

        Assert.Same(SocketmapPolicyReply.For(decision), SocketmapPolicyReply.For(decision));
        Assert.Same(SocketmapReply.NotFound, SocketmapPolicyReply.For(Decision(TlsRequirement.NoPolicy)));
        Assert.Same(SocketmapPolicyReply.For(Decision(TlsRequirement.DaneOnly)), SocketmapPolicyReply.For(Decision(TlsRequirement.DaneOnly)));
    }
}
