namespace Rampart.Core.Policy;

/// <summary>How one step of a decision came out.</summary>
public enum EvidenceOutcome
{
    /// <summary>The step found what it looked for (a record, a policy, a match).</summary>
    Pass,
    /// <summary>Neutral information: nothing found, or a fact worth showing.</summary>
    Info,
    /// <summary>Something is off but the decision goes on (a duplicate key, an MX not covered).</summary>
    Warning,
    /// <summary>The step failed (lookup error, fetch error, invalid policy).</summary>
    Fail,
}

/// <summary>
/// One piece of evidence behind a decision: which step, what it found, and the rule it applied.
/// <c>resolve</c>, <c>check</c>, the daemon's logs and TLS-RPT all read this one model.
/// </summary>
public sealed record Evidence(string Step, EvidenceOutcome Outcome, string Message, string? Reference = null)
{
    public static string OutcomeName(EvidenceOutcome outcome) => outcome switch
    {
        EvidenceOutcome.Pass => "pass",
        EvidenceOutcome.Info => "info",
        EvidenceOutcome.Warning => "warning",
        _ => "fail",
    };

    public override string ToString() => $"[{Step}] {OutcomeName(Outcome)}: {Message}" + (Reference is null ? "" : $" ({Reference})");
}
