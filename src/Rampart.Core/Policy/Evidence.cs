using System.Diagnostics;

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
    /// <summary>When the step's lookup ran (a DNS query, a fetch), for steps that wait on the network; null for the rest.</summary>
    public EvidenceTiming? Timing { get; init; }

    /// <summary>This evidence, timed from <paramref name="started"/> (a <see cref="Stopwatch.GetTimestamp"/>) to now.</summary>
    public Evidence Timed(long started) => this with { Timing = new(started, Stopwatch.GetTimestamp()) };

    public static string OutcomeName(EvidenceOutcome outcome) => outcome switch
    {
        EvidenceOutcome.Pass => "pass",
        EvidenceOutcome.Info => "info",
        EvidenceOutcome.Warning => "warning",
        _ => "fail",
    };

    public override string ToString() => $"[{Step}] {OutcomeName(Outcome)}: {Message}" + (Reference is null ? "" : $" ({Reference})");
}

/// <summary>
/// When one step ran: <see cref="Stopwatch.GetTimestamp"/> values (monotonic, this process only). Shown as milliseconds
/// from the decision's start (<see cref="SenderPolicyDecision.StartedAt"/>), so steps that overlap are seen to overlap.
/// </summary>
public readonly record struct EvidenceTiming(long Started, long Ended)
{
    /// <summary>Start and end in milliseconds after <paramref name="origin"/> (a <see cref="Stopwatch.GetTimestamp"/>).</summary>
    public (double StartMs, double EndMs) From(long origin) =>
        (Stopwatch.GetElapsedTime(origin, Started).TotalMilliseconds, Stopwatch.GetElapsedTime(origin, Ended).TotalMilliseconds);
}
