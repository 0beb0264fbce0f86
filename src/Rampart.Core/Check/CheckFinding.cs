namespace Rampart.Core.Check;

/// <summary>How serious a finding is. The order matters: a report's status is its most serious finding.</summary>
public enum CheckSeverity
{
    /// <summary>The check passed.</summary>
    Ok,
    /// <summary>A fact worth knowing; nothing to fix.</summary>
    Info,
    /// <summary>Mail flows, but something is weak or about to break.</summary>
    Warning,
    /// <summary>Mail is refused, deferred or open to a downgrade now.</summary>
    Failure,
}

/// <summary>
/// One finding of <c>rampart check</c>: a stable <see cref="Id"/> (documented in docs/checks.md), the severity, what
/// it is about (domain, MX host or address), what was found, how to fix it (one short sentence), and the RFC section or
/// doc anchor. The long material lives beside the fix: <see cref="Records"/>, the exact DNS records to publish, and
/// <see cref="Detail"/>, the procedure or the background.
/// </summary>
public sealed record CheckFinding(string Id, CheckSeverity Severity, string Subject, string Message, string Fix, string Reference)
{
    /// <summary>The longer explanation behind <see cref="Fix"/> (a procedure, an example record); empty when the fix says it all.</summary>
    public string Detail { get; init; } = "";

    /// <summary>Zone-file lines to publish for this finding (e.g. the TLSA record of the live certificate), each complete; often none.</summary>
    public IReadOnlyList<string> Records { get; init; } = [];

    /// <summary>The wire name of a severity: ok, info, warning, failure.</summary>
    public static string SeverityName(CheckSeverity severity) => severity switch
    {
        CheckSeverity.Ok => "ok",
        CheckSeverity.Info => "info",
        CheckSeverity.Warning => "warning",
        _ => "failure",
    };

    public override string ToString() => $"{SeverityName(Severity)} {Id} [{Subject}] {Message}";
}

/// <summary>The summary verdict of one domain: ok (only ok and info findings), warning, or failure.</summary>
public enum CheckStatus
{
    Ok,
    Warning,
    Failure,
}

/// <summary>All findings for one domain, in the order the checks produced them, and the summary status.</summary>
public sealed record DomainCheckReport(string Domain, IReadOnlyList<CheckFinding> Findings)
{
    public CheckStatus Status => Findings.Count == 0 ? CheckStatus.Ok : Findings.Max(f => f.Severity) switch
    {
        CheckSeverity.Failure => CheckStatus.Failure,
        CheckSeverity.Warning => CheckStatus.Warning,
        _ => CheckStatus.Ok,
    };

    /// <summary>The wire name of a status: ok, warning, failure.</summary>
    public static string StatusName(CheckStatus status) => status switch
    {
        CheckStatus.Ok => "ok",
        CheckStatus.Warning => "warning",
        _ => "failure",
    };

    /// <summary>True when a finding with <paramref name="id"/> is present.</summary>
    public bool Has(string id) => Findings.Any(f => f.Id == id);
}
