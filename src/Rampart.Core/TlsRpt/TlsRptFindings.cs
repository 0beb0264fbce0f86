namespace Rampart.Core.TlsRpt;

/// <summary>When the dashboard's findings fire.</summary>
public sealed record TlsRptFindingSettings
{
    /// <summary>A reporter that has sent at least this many reports is expected to go on (default 3).</summary>
    public int SilentAfterReports { get; init; } = 3;

    /// <summary>Days without a report from such a reporter, counted back from the domain's newest report, before it is silent (default 3).</summary>
    public int SilentDays { get; init; } = 3;

    /// <summary>A result type first seen within this many days of the domain's newest report is new (default 14).</summary>
    public int NewTypeDays { get; init; } = 14;

    /// <summary>The failure-rate thresholds, also applied to each reporter on its own.</summary>
    public TlsRptAdviceSettings Rates { get; init; } = new();
}

/// <summary>
/// What an operator should look at in one domain's reports, beyond the totals (FIELD-NOTES §5: the findings of the
/// dashboards operators use): a reporter whose own failure rate crosses a threshold (even when the domain's overall rate
/// is low), a reporter gone silent, a failure type that is new, and an MTA-STS policy still in mode testing. Ids:
/// <c>reporter-failure-rate:&lt;org&gt;</c>, <c>reporter-silent:&lt;org&gt;</c>, <c>new-failure-type:&lt;type&gt;</c>,
/// <c>sts-testing</c> (docs/dashboard.md#findings).
/// </summary>
public static class TlsRptFindings
{
    public static IReadOnlyList<TlsRptAdvice> Find(TlsRptDomainSummary domain, IReadOnlyList<TlsRptDayFailureRow> failureDays, TlsRptReport? newest,
        TlsRptFindingSettings? settings = null)
    {
        ArgumentNullException.ThrowIfNull(domain);
        ArgumentNullException.ThrowIfNull(failureDays);
        settings ??= new TlsRptFindingSettings();
        var found = new List<TlsRptAdvice>();
        foreach (var reporter in domain.Reporters)
        {
            var severity = Severity(reporter.FailureRate, settings.Rates);
            if (severity is not null && reporter.Failed > 0)
            {
                var top = reporter.FailureTypes.Count > 0 ? $", mostly {reporter.FailureTypes.First().Key}" : "";
                found.Add(new TlsRptAdvice($"reporter-failure-rate:{reporter.Organization}", severity,
                    $"{reporter.Organization} reports {reporter.Failed} of {reporter.Successful + reporter.Failed} sessions failed ({reporter.FailureRate:P1}{top}); " +
                    $"the domain overall: {domain.FailureRate:P1}.",
                    "Look at this reporter's failure details (sending IPs, MX): one sender's path or policy view can fail while others succeed."));
            }
        }
        var newestEnd = domain.LastSeen;
        foreach (var reporter in domain.Reporters)
        {
            var quiet = newestEnd - reporter.LastSeen;
            if (reporter.Reports >= settings.SilentAfterReports && quiet >= TimeSpan.FromDays(settings.SilentDays))
            {
                found.Add(new TlsRptAdvice($"reporter-silent:{reporter.Organization}", "warning",
                    $"{reporter.Organization} sent {reporter.Reports} reports, the last ending {reporter.LastSeen:yyyy-MM-dd}, none in the {(int)quiet.TotalDays} days since.",
                    "Check that the _smtp._tls record still lists a working rua and that reports to it arrive (mailbox full, spam filter, HTTPS receiver down)."));
            }
        }
        if (failureDays.Count > 0)
        {
            var newestDay = DateOnly.FromDateTime(newestEnd.UtcDateTime);
            var firstDay = DateOnly.FromDateTime(domain.FirstSeen.UtcDateTime);
            var cutoff = newestDay.AddDays(-settings.NewTypeDays);
            foreach (var type in failureDays.Where(f => f.PolicyDomain == domain.PolicyDomain).GroupBy(f => f.ResultType, StringComparer.Ordinal))
            {
                var first = type.Min(t => t.Day);
                if (first > cutoff && first > firstDay)
                {
                    var (meaning, fix) = TlsRptAdvisor.Explain(type.Key, domain.PolicyDomain);
                    found.Add(new TlsRptAdvice($"new-failure-type:{type.Key}", "warning",
                        $"{type.Key} first reported on {first:yyyy-MM-dd} ({type.Sum(t => t.Sessions)} session(s) since): {meaning}", fix));
                }
            }
        }
        if (newest?.Policies.FirstOrDefault(p => p.PolicyType == TlsRptPolicyTypes.Sts && p.PolicyDomain == domain.PolicyDomain
                && p.PolicyString.Any(line => line.Replace(" ", "", StringComparison.Ordinal).Equals("mode:testing", StringComparison.Ordinal))) is not null)
        {
            found.Add(new TlsRptAdvice("sts-testing", "info",
                $"The newest report ({newest.OrganizationName}, {newest.StartDatetime:yyyy-MM-dd}) saw your MTA-STS policy in mode testing: senders report failures but still deliver.",
                "When the reports show no failures for a few weeks, publish mode: enforce and change the _mta-sts id (docs/publishing.md)."));
        }
        return found;
    }

    /// <summary>The severity of a failure rate against the thresholds; null below the warning threshold.</summary>
    public static string? Severity(double rate, TlsRptAdviceSettings rates)
    {
        ArgumentNullException.ThrowIfNull(rates);
        return rate >= rates.FailureRate ? "failure" : rate >= rates.WarningRate ? "warning" : null;
    }
}
