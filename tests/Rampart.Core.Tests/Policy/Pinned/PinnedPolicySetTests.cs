using System.Text;
using Rampart.Core.Policy;
using Rampart.Core.Policy.Pinned;

namespace Rampart.Core.Tests.Policy.Pinned;

public sealed class PinnedPolicySetTests
{
    private static readonly DateTimeOffset s_now = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);

    private static readonly StartTlsPolicyList s_list = StartTlsPolicyList.Parse(Encoding.UTF8.GetBytes("""
        { "expires": "2026-12-01T00:00:00Z",
          "policies": {
            "listed.example": { "mode": "enforce", "mxs": [".listed.example"] },
            "both.example": { "mode": "enforce", "mxs": ["mx.both.example"] },
            "trial.example": { "mode": "testing", "mxs": ["mx.trial.example"] },
            "sub.overridden.example": { "mode": "enforce", "mxs": ["mx.overridden.example"] } } }
        """), "policy.json");

    private static readonly PinnedOverrides s_overrides = PinnedOverrides.Parse("""
        both.example            encrypt
        .overridden.example     dane
        .deep.overridden.example dane-only
        exact.example           secure match=mx.exact.example
        """, "tls_policy");

    private static readonly PinnedPolicySet s_set = new(s_overrides, s_list);

    [Fact]
    public void TryGet_ListedDomain_ListPolicy()
    {
        Assert.True(s_set.TryGet("Listed.Example.", s_now, out var policy, out string? warning));

        Assert.Null(warning);
        Assert.Equal(TlsRequirement.Secure([".listed.example"]), policy.Requirement);
        Assert.Equal(PinnedPolicyOrigin.PolicyList, policy.Source.Origin);
        Assert.True(policy.IsEnforced);
    }

    [Fact]
    public void TryGet_OverrideAndList_OverrideWins()
    {
        Assert.True(s_set.TryGet("both.example", s_now, out var policy, out _));

        Assert.Equal(TlsRequirement.Enforce(TlsLevel.Encrypt, [], null), policy.Requirement);
        Assert.Equal(PinnedPolicyOrigin.Override, policy.Source.Origin);
    }

    [Fact]
    public void TryGet_SuffixOverride_BeatsExactListEntry()
    {
        Assert.True(s_set.TryGet("sub.overridden.example", s_now, out var policy, out _));

        Assert.Equal("dane", policy.Level);
    }

    [Theory]
    [InlineData("a.overridden.example", "dane")]
    [InlineData("a.b.c.overridden.example", "dane")]
    [InlineData("x.deep.overridden.example", "dane-only")]
    [InlineData("deep.overridden.example", "dane")]
    public void TryGet_SuffixKey_LongestSuffixAnyDepth(string domain, string level)
    {
        Assert.True(s_set.TryGet(domain, s_now, out var policy, out _));

        Assert.Equal(level, policy.Level);
    }

    [Theory]
    [InlineData("overridden.example")]
    [InlineData("sub.listed.example")]
    [InlineData("unknown.example")]
    [InlineData("not a domain")]
    [InlineData("")]
    public void TryGet_NoMatch_FalseWithoutWarning(string domain)
    {
        Assert.False(s_set.TryGet(domain, s_now, out var policy, out string? warning));

        Assert.Null(policy);
        Assert.Null(warning);
    }

    [Fact]
    public void TryGet_TestingEntry_ReturnedNotEnforced()
    {
        Assert.True(s_set.TryGet("trial.example", s_now, out var policy, out _));

        Assert.False(policy.IsEnforced);
        var evidence = policy.ToEvidence("trial.example");
        Assert.Equal(EvidenceOutcome.Info, evidence.Outcome);
        Assert.Contains("testing mode, not enforced", evidence.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TryGet_ExpiredList_NotEnforcedWithWarning()
    {
        var after = new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);

        Assert.False(s_set.TryGet("listed.example", after, out var policy, out string? warning));

        Assert.Null(policy);
        Assert.NotNull(warning);
        Assert.Contains("policy.json expired at 2026-12-01T00:00:00Z", warning, StringComparison.Ordinal);
        Assert.Contains("NOT enforced", warning, StringComparison.Ordinal);
        Assert.Equal(EvidenceOutcome.Warning, PinnedPolicySet.WarningEvidence(warning).Outcome);
    }

    [Fact]
    public void TryGet_ExpiredListWithOverride_OverrideStillApplies()
    {
        Assert.True(s_set.TryGet("both.example", DateTimeOffset.MaxValue, out var policy, out string? warning));

        Assert.Equal("encrypt", policy.Level);
        Assert.Null(warning);
    }

    [Fact]
    public void ListWarning_CurrentList_Null()
    {
        Assert.Null(s_set.ListWarning(s_now));
        Assert.Null(PinnedPolicySet.Empty.ListWarning(DateTimeOffset.MaxValue));
    }

    [Fact]
    public void TryClaimExpiryWarning_Expired_TrueOnce()
    {
        var set = new PinnedPolicySet(null, s_list);

        Assert.False(set.TryClaimExpiryWarning(s_now, out _));
        Assert.True(set.TryClaimExpiryWarning(DateTimeOffset.MaxValue, out string? warning));
        Assert.Contains("none of its 4 policies are enforced", warning, StringComparison.Ordinal);
        Assert.False(set.TryClaimExpiryWarning(DateTimeOffset.MaxValue, out _));
    }

    [Fact]
    public void Count_OverridesPlusList()
    {
        Assert.Equal(8, s_set.Count);
        Assert.Equal(0, PinnedPolicySet.Empty.Count);
    }
}
