using System.Globalization;
using static Rampart.Core.Check.CheckCatalog;

namespace Rampart.Core.Check;

/// <summary>
/// The finding only the monitor can date (RFC 8461 §5): a policy that has stayed in mode testing, i.e. whose
/// <c>mta-sts.policy.testing</c> finding has been seen continuously, for longer than <see cref="CheckSettings.TestingLimit"/>
/// gets a <c>mta-sts.policy.testing-too-long</c> warning right after it. "Since when" is the first-seen time the
/// monitor's history remembers; a one-shot <c>rampart check</c> has no history and cannot say it.
/// </summary>
public static class TestingTooLongCheck
{
    /// <summary>
    /// <paramref name="report"/> with the warning added when its testing finding was first seen (per <paramref name="previous"/>,
    /// the findings remembered from the last round) more than <paramref name="limit"/> before <paramref name="now"/>;
    /// otherwise <paramref name="report"/> itself.
    /// </summary>
    public static DomainCheckReport Apply(IReadOnlyList<RememberedFinding> previous, DomainCheckReport report, DateTimeOffset now, TimeSpan limit)
    {
        ArgumentNullException.ThrowIfNull(previous);
        ArgumentNullException.ThrowIfNull(report);
        var findings = report.Findings.ToList();
        var index = findings.FindIndex(f => f.Id == StsTesting.Id);
        if (index < 0 || report.Has(StsTestingTooLong.Id))
        {
            return report;
        }
        var testing = findings[index];
        var key = WatchFindingKey.Of(testing);
        var remembered = previous.FirstOrDefault(r => r.Key == key);
        if (remembered is null || now - remembered.FirstSeen <= limit)
        {
            return report;
        }
        var days = (int)Math.Floor((now - remembered.FirstSeen).TotalDays);
        var message = string.Create(CultureInfo.InvariantCulture,
            $"the policy has been in mode testing since {remembered.FirstSeen.UtcDateTime:yyyy-MM-dd HH:mm}Z ({days} days, as first seen by this monitor), " +
            $"longer than the {limit.TotalDays:0.##}-day limit: all that time senders report failures but still deliver unprotected");
        findings.Insert(index + 1, StsTestingTooLong.For(testing.Subject, message));
        return report with { Findings = findings };
    }
}
