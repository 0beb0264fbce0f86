namespace Rampart.Core.Check;

/// <summary>Limits and thresholds of <c>rampart check</c>. Immutable; the CLI builds it from its options.</summary>
public sealed record CheckSettings
{
    /// <summary>Limit of each step that waits on the network: one DNS question, one SMTP conversation, one policy fetch.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How many domains are checked at once. Each MX address still sees at most one connection at a time.</summary>
    public int MaxConcurrentDomains { get; init; } = 4;

    /// <summary>The SMTP port probed on every MX address.</summary>
    public int Port { get; init; } = 25;

    /// <summary>Warn when an RRSIG expires within this many days (<c>dnssec.rrsig-expiring</c>).</summary>
    public int RrsigWarningDays { get; init; } = 7;

    /// <summary>Warn when an MX certificate expires within this many days (<c>tls.cert.expiring</c>).</summary>
    public int CertificateWarningDays { get; init; } = 21;

    /// <summary>An enforce policy with a smaller max_age is flagged (<c>mta-sts.policy.max-age-short</c>); one day.</summary>
    public long MinEnforceMaxAge { get; init; } = 86_400;

    /// <summary>A testing policy with a larger max_age is flagged (<c>mta-sts.policy.testing-max-age-long</c>); one week.</summary>
    public long MaxTestingMaxAge { get; init; } = 604_800;

    /// <summary>
    /// The monitor (<c>check --watch</c>) warns when <c>mta-sts.policy.testing</c> has been seen continuously for longer than
    /// this (<c>mta-sts.policy.testing-too-long</c>); 30 days. A one-shot check cannot date it.
    /// </summary>
    public TimeSpan TestingLimit { get; init; } = DefaultTestingLimit;

    /// <summary>The default of <see cref="TestingLimit"/>: 30 days.</summary>
    public static TimeSpan DefaultTestingLimit { get; } = TimeSpan.FromDays(30);

    /// <summary>
    /// Certificates about to be deployed on the MX hosts (<c>--next-cert</c>): the rotation check says whether the published
    /// TLSA records already cover them (<c>dane.rotation.*</c>) and, for a domain with an MTA-STS policy in mode testing or
    /// enforce, whether an MTA-STS sender would accept them on the MX hosts they name (<c>mta-sts.rotation.*</c>). Empty: no rotation check.
    /// </summary>
    public IReadOnlyList<NextCertificate> NextCertificates { get; init; } = [];

    /// <summary>Throws <see cref="ArgumentException"/> for values no check could run with (a caller's bug; the CLI validates first).</summary>
    public void Validate()
    {
        if (Timeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(Timeout), Timeout, "must be positive");
        }
        if (MaxConcurrentDomains < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxConcurrentDomains), MaxConcurrentDomains, "must be at least 1");
        }
        if (Port is < 1 or > 65535)
        {
            throw new ArgumentOutOfRangeException(nameof(Port), Port, "must be from 1 to 65535");
        }
        if (TestingLimit <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(TestingLimit), TestingLimit, "must be positive");
        }
        if (RrsigWarningDays < 0 || CertificateWarningDays < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(RrsigWarningDays), "warning thresholds must not be negative");
        }
    }
}
