using Rampart.Core.Dane;
using Rampart.Core.MtaSts;

namespace Rampart.Core.Policy;

/// <summary>How strictly TLS must be enforced towards a destination domain (DESIGN.md, "The sender decision").</summary>
public enum SenderPolicyKind
{
    /// <summary>Every MX host has usable, DNSSEC-validated TLSA records.</summary>
    DaneOnly,
    /// <summary>Some MX hosts have usable TLSA records.</summary>
    Dane,
    /// <summary>An MTA-STS policy in enforce mode.</summary>
    MtaSts,
    /// <summary>An MTA-STS policy in testing mode: reported, enforced only with strict testing.</summary>
    MtaStsTesting,
    /// <summary>A locally pinned policy (overrides, STARTTLS Policy List).</summary>
    Pinned,
    /// <summary>No policy: Postfix's default level applies.</summary>
    None,
    /// <summary>A lookup error that must defer delivery rather than fall back.</summary>
    TempFail,
}

/// <summary>The decision for one destination domain, with the Postfix reply it implies and every piece of evidence.</summary>
public sealed record SenderPolicyDecision(
    string Domain,
    SenderPolicyKind Kind,
    PostfixTlsPolicy Postfix,
    IReadOnlyList<string> Mx,
    IReadOnlyList<Evidence> Evidence,
    MtaStsPolicy? MtaStsPolicy = null,
    IReadOnlyList<DaneHostResult>? Dane = null)
{
    public static string KindName(SenderPolicyKind kind) => kind switch
    {
        SenderPolicyKind.DaneOnly => "dane-only",
        SenderPolicyKind.Dane => "dane",
        SenderPolicyKind.MtaSts => "mta-sts",
        SenderPolicyKind.MtaStsTesting => "mta-sts-testing",
        SenderPolicyKind.Pinned => "pinned",
        SenderPolicyKind.None => "none",
        _ => "tempfail",
    };
}
