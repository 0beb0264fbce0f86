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

/// <summary>The decision for one destination domain: the TLS it requires and every piece of evidence.</summary>
/// <param name="Requirement">What the MTA must enforce; each edge renders it in its own format.</param>
/// <param name="TlsRpt">
/// The MTA-STS policy an enforced requirement came from, when the settings ask for it (<see cref="SenderPolicySettings.TlsRpt"/>),
/// so the MTA can name it in its own TLS-RPT reports; null otherwise. Kept when the decision is cached.
/// </param>
public sealed record SenderPolicyDecision(
    string Domain,
    SenderPolicyKind Kind,
    TlsRequirement Requirement,
    IReadOnlyList<string> Mx,
    IReadOnlyList<Evidence> Evidence,
    MtaStsPolicy? MtaStsPolicy = null,
    IReadOnlyList<DaneHostResult>? Dane = null,
    TlsRptPolicy? TlsRpt = null)
{
    /// <summary>
    /// When the domain announced an MTA-STS policy that could not be used and none was cached (the decision is then no
    /// policy, RFC 8461 §5): the RFC 8460 §4.3.2.2 result type a TLS-RPT report gives its sessions
    /// (<c>sts-policy-fetch-error</c>, <c>sts-policy-invalid</c>, <c>sts-webpki-invalid</c>); null otherwise.
    /// </summary>
    public string? MtaStsFailure { get; init; }

    /// <summary>
    /// When the full decision started (<see cref="System.Diagnostics.Stopwatch.GetTimestamp"/>): the origin of its evidence's
    /// <see cref="Evidence.Timing"/>; 0 for an answer from the policy cache.
    /// </summary>
    public long StartedAt { get; init; }

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
