using System.Globalization;
using Rampart.Core.Check;
using Rampart.Core.MtaSts;

namespace Rampart.Core.Publish;

/// <summary>What stands between a domain and the policy it wants to publish: blockers refuse, warnings advise.</summary>
public sealed record PublishVerdict(IReadOnlyList<string> Blockers, IReadOnlyList<string> Warnings)
{
    /// <summary>Nothing blocks.</summary>
    public bool IsReady => Blockers.Count == 0;
}

/// <summary>
/// The safety rules of <c>rampart publish</c> (pure; the CLI gathers the inputs): the policy must list every current
/// MX, <c>enforce</c> needs every MX to offer STARTTLS with a WebPKI-valid certificate (the <c>check</c> engine's MX,
/// SMTP and certificate findings), and max_age climbs a ramp, one day → one week → longer, rather than jumping.
/// </summary>
public static class PublishReadiness
{
    /// <summary>The max_age ramp: one day, one week, then up to a year (RFC 8461 §3.2 caps max_age at 31557600).</summary>
    public static IReadOnlyList<long> Ramp { get; } = [86_400, 604_800, MtaStsPolicyParser.MaxMaxAge];

    /// <summary>The current MX hosts that no pattern of the policy matches (each would be refused by senders in enforce).</summary>
    public static IReadOnlyList<string> UncoveredMx(PublishDomain domain, IEnumerable<string> currentMx)
    {
        ArgumentNullException.ThrowIfNull(domain);
        ArgumentNullException.ThrowIfNull(currentMx);
        return currentMx.Where(h => h.Length > 0 && !domain.Mx.Any(p => p.Matches(h))).Distinct(StringComparer.Ordinal).ToList();
    }

    /// <summary>Check finding ids that block <c>enforce</c> at any severity above info: MX, SMTP/STARTTLS and MX certificate problems.</summary>
    public static bool BlocksEnforce(CheckFinding finding)
    {
        ArgumentNullException.ThrowIfNull(finding);
        if (finding.Severity is CheckSeverity.Ok or CheckSeverity.Info)
        {
            return false;
        }
        if (finding.Id == CheckCatalog.CertExpiring.Id)
        {
            return false;
        }
        return finding.Id.StartsWith("mx.", StringComparison.Ordinal)
               || finding.Id.StartsWith("smtp.", StringComparison.Ordinal)
               || finding.Id.StartsWith("tls.cert.", StringComparison.Ordinal);
    }

    /// <summary>Readiness for <c>mode: enforce</c> from a <c>check</c> report of the domain: its blocking findings, and the certificate warnings that do not block.</summary>
    public static PublishVerdict EnforceReadiness(DomainCheckReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var blockers = report.Findings.Where(BlocksEnforce).Select(f => $"{f.Id} [{f.Subject}] {f.Message}").ToList();
        var warnings = report.Findings.Where(f => f.Id == CheckCatalog.CertExpiring.Id).Select(f => $"{f.Id} [{f.Subject}] {f.Message}").ToList();
        return new PublishVerdict(blockers, warnings);
    }

    /// <summary>
    /// The testing → enforce walk and the max_age ramp, judged against the policy senders hold now
    /// (<paramref name="current"/>, null when none is published or it could not be fetched).
    /// </summary>
    public static IReadOnlyList<string> RampWarnings(PublishDomain next, MtaStsPolicy? current)
    {
        ArgumentNullException.ThrowIfNull(next);
        var warnings = new List<string>();
        if (next.Mode == MtaStsMode.Enforce)
        {
            if (current is null || current.Mode == MtaStsMode.None)
            {
                warnings.Add("mode enforce without a testing policy before it: publish mode testing first and read the TLS-RPT reports for a week");
            }
            if (next.MaxAge < Ramp[0])
            {
                warnings.Add($"max_age {next.MaxAge} is under one day: senders re-fetch constantly and an attacker who blocks the policy host soon wins; use at least 86400 in enforce");
            }
        }
        if (next.Mode == MtaStsMode.Testing && next.MaxAge > Ramp[1])
        {
            warnings.Add($"max_age {next.MaxAge} in testing: keep testing short (at most 604800) so moving to enforce reaches senders soon");
        }
        var previous = current is not null && current.Mode != MtaStsMode.None ? current.MaxAge : 0;
        if (next.Mode == MtaStsMode.Enforce && current?.Mode != MtaStsMode.Enforce)
        {
            previous = 0; // a first enforce policy starts the ramp again: a mistake should expire within a day
        }
        var step = Ramp.FirstOrDefault(r => r > previous, Ramp[^1]);
        if (next.Mode != MtaStsMode.None && next.MaxAge > step)
        {
            warnings.Add(string.Create(CultureInfo.InvariantCulture,
                $"max_age jumps from {Describe(previous)} to {Describe(next.MaxAge)}: climb the ramp 1 day → 1 week → longer; publish {step} first and wait out the current max_age"));
        }
        return warnings;
    }

    private static string Describe(long seconds) => seconds switch
    {
        0 => "no policy",
        86_400 => "1 day (86400)",
        604_800 => "1 week (604800)",
        _ => seconds.ToString(CultureInfo.InvariantCulture),
    };
}
