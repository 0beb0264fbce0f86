using Rampart.Core.MtaSts;
using System.Text;
using Rampart.Core.Policy;
using Rampart.Core.Policy.Pinned;
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

    /// <summary>7,000 names of 21 bytes: a match list of about 154,000 bytes, past what a socketmap reply may hold.</summary>
    private static readonly string s_longMatch = string.Join(':', Enumerable.Range(0, 7000).Select(i => $"mx{i:D4}.long.example.org"));

    [Fact]
    public void TooLongForPostfix_OverLongOverride_OneLineNamingFileLineAndTheRule()
    {
        var overrides = PinnedOverrides.Parse($"# pinned\nexample.net secure\nexample.org secure match={s_longMatch}\n", "/etc/rampart/overrides");
        var set = new PinnedPolicySet(overrides, null);
        var bytes = Encoding.UTF8.GetByteCount($"OK secure match={s_longMatch}");

        var error = Assert.Single(SocketmapPolicyReply.TooLongForPostfix(set));

        Assert.Equal($"/etc/rampart/overrides:3 [example.org]: the reply to Postfix would be {bytes} bytes, more than the 100000 a socketmap reply may have " +
                     "(socketmap_table(5)), so every lookup for example.org would answer TEMP; shorten its match= list", error);
    }

    [Fact]
    public void TooLongForPostfix_OverLongListEntry_NamedByItsKey_TestingEntriesNeverSentAreLeftAlone()
    {
        var mxs = string.Join(", ", s_longMatch.Split(':').Select(m => $"\"{m}\""));
        var list = StartTlsPolicyList.Parse($$"""
            {"version": "0.1", "timestamp": 1700000000, "expires": 4102444800, "policies": {
              "example.org": {"mode": "enforce", "policy-type": "sts", "mxs": [{{mxs}}]},
              "example.net": {"mode": "testing", "policy-type": "sts", "mxs": [{{mxs}}]},
              "example.com": {"mode": "enforce", "policy-type": "sts", "mxs": ["mx.example.com"]} } }
            """, "/var/lib/rampart/policy-list.json");
        Assert.Empty(list.Errors);

        var error = Assert.Single(SocketmapPolicyReply.TooLongForPostfix(new PinnedPolicySet(null, list)));

        Assert.StartsWith("/var/lib/rampart/policy-list.json [policies.example.org]: the reply to Postfix would be ", error, StringComparison.Ordinal);
        Assert.EndsWith("so every lookup for example.org would answer TEMP; shorten its mxs list", error, StringComparison.Ordinal);
    }

    [Fact]
    public void TooLongForPostfix_PoliciesWithinTheLimit_None()
    {
        var overrides = PinnedOverrides.Parse("example.org secure match=mx.example.org:.backup.example.org\nexample.net dane-only\n", "/etc/rampart/overrides");

        Assert.Empty(SocketmapPolicyReply.TooLongForPostfix(new PinnedPolicySet(overrides, null)));
    }

    [Fact]
    public void For_SameDecision_SameReplyObject_EncodedOnce()
    {
        var decision = Decision(TlsRequirement.Secure(["mx.example.org"]));

        Assert.Same(SocketmapPolicyReply.For(decision), SocketmapPolicyReply.For(decision));
        Assert.Same(SocketmapReply.NotFound, SocketmapPolicyReply.For(Decision(TlsRequirement.NoPolicy)));
        Assert.Same(SocketmapPolicyReply.For(Decision(TlsRequirement.DaneOnly)), SocketmapPolicyReply.For(Decision(TlsRequirement.DaneOnly)));
    }

    [Fact]
    public void For_DomainsSharingOneRequirement_ShareOneReply_UnlessItCarriesTheirTlsRptPolicy()
    {
        var requirement = TlsRequirement.Secure(["mx.example.org"]);
        var org = new SenderPolicyDecision("example.org", SenderPolicyKind.MtaSts, requirement, [], []);
        var net = new SenderPolicyDecision("example.net", SenderPolicyKind.MtaSts, requirement, [], []);
        var policy = "version: STSv1\r\nmode: enforce\r\nmx: mx.example.org\r\nmax_age: 604800\r\n";
        var orgTlsRpt = org with { TlsRpt = TlsRpt(policy) };
        var netTlsRpt = net with { TlsRpt = new("example.net", MtaStsPolicyParser.Parse(policy).Policy!) };

        Assert.Same(SocketmapPolicyReply.For(org), SocketmapPolicyReply.For(net));
        Assert.Contains("policy_domain=example.org", SocketmapPolicyReply.For(orgTlsRpt).Text, StringComparison.Ordinal);
        Assert.Contains("policy_domain=example.net", SocketmapPolicyReply.For(netTlsRpt).Text, StringComparison.Ordinal);
    }
}
