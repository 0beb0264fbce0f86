namespace Rampart.Core.Policy.Pinned;

/// <summary>Whether a pinned policy is enforced or only reported (STARTTLS Policy List <c>mode</c>).</summary>
public enum PinnedPolicyMode
{
    /// <summary>Apply the policy: the MTA gets <see cref="PinnedPolicy.Requirement"/>.</summary>
    Enforce,
    /// <summary>Log what would be enforced, deliver as if there were no policy.</summary>
    Testing,
}

/// <summary>Where a pinned policy was written.</summary>
public enum PinnedPolicyOrigin
{
    /// <summary>The operator's local overrides file (<see cref="PinnedOverrides"/>); always wins.</summary>
    Override,
    /// <summary>A STARTTLS Policy List JSON file (<see cref="StartTlsPolicyList"/>).</summary>
    PolicyList,
}

/// <summary>
/// The place a pinned policy came from: a file and either a 1-based line (overrides) or a JSON key path such as
/// <c>policies.example.com</c> (policy list).
/// </summary>
public sealed record PinnedPolicySource(PinnedPolicyOrigin Origin, string File, int Line, string? Key)
{
    public override string ToString() => Origin switch
    {
        PinnedPolicyOrigin.Override => $"overrides {File} line {Line}",
        _ => $"STARTTLS Policy List {File} key {Key}",
    };
}

/// <summary>
/// A locally pinned TLS policy for one destination (DESIGN.md, sender decision step 4).
/// </summary>
/// <param name="Domain">
/// The normalized key: a domain (<c>example.org</c>, exact match) or, in overrides only, a leading-dot suffix
/// (<c>.example.org</c>) that covers every subdomain at any depth but not <c>example.org</c> itself.
/// </param>
/// <param name="Requirement">What the policy requires when enforced, e.g. secure with certificate name <c>.example.org</c> and SNI.</param>
/// <param name="Mode">
/// <see cref="PinnedPolicyMode.Testing"/> entries are returned so the caller can log them, but must not be
/// enforced: the answer to the MTA stays what it would be without a pinned policy.
/// </param>
/// <param name="Source">File and line or key, for evidence and logs.</param>
/// <param name="Expires">The policy list's <c>expires</c>; null for overrides and for lists without one.</param>
public sealed record PinnedPolicy(string Domain, TlsRequirement Requirement, PinnedPolicyMode Mode, PinnedPolicySource Source, DateTimeOffset? Expires = null)
{
    /// <summary>The evidence step name used for pinned policies.</summary>
    public const string EvidenceStep = "pinned";

    /// <summary>Reference cited by policy-list evidence.</summary>
    public const string PolicyListReference = "STARTTLS Policy List RULES.md";

    /// <summary>True when the caller should hand <see cref="Requirement"/> to the MTA.</summary>
    public bool IsEnforced => Mode == PinnedPolicyMode.Enforce;

    /// <summary>True for an overrides key such as <c>.example.org</c>.</summary>
    public bool MatchesSubdomains => Domain.StartsWith('.');

    /// <summary>The TLS security level's name (<c>secure</c>, <c>dane-only</c>, <c>encrypt</c>, …).</summary>
    public string Level => TlsRequirement.LevelName(Requirement.Level);

    /// <summary>
    /// One line of evidence for a decision that consulted this policy: <c>pass</c> when enforced,
    /// <c>info</c> for testing mode (what would have been enforced).
    /// </summary>
    public Evidence ToEvidence(string queriedDomain)
    {
        ArgumentNullException.ThrowIfNull(queriedDomain);
        string key = string.Equals(queriedDomain, Domain, StringComparison.Ordinal) ? Domain : $"{queriedDomain} (key {Domain})";
        string reference = Source.Origin == PinnedPolicyOrigin.PolicyList ? PolicyListReference : "smtp_tls_policy_maps(5)";
        return IsEnforced
            ? new Evidence(EvidenceStep, EvidenceOutcome.Pass, $"pinned policy for {key} from {Source}: {Requirement}", reference)
            : new Evidence(EvidenceStep, EvidenceOutcome.Info,
                $"pinned policy for {key} from {Source} is in testing mode, not enforced (would be: {Requirement})", reference);
    }
}

/// <summary>
/// A problem found while reading a pinned policy source. <see cref="Line"/> is 1-based (0 when not known);
/// <see cref="Key"/> is the JSON key path for policy lists (e.g. <c>policies.example.com</c>).
/// </summary>
public sealed record PinnedDiagnostic(string Source, int Line, string? Key, string Message)
{
    public override string ToString()
    {
        string where = Line > 0 ? $"{Source}:{Line}" : Source;
        return Key is null ? $"{where}: {Message}" : $"{where} [{Key}]: {Message}";
    }
}
