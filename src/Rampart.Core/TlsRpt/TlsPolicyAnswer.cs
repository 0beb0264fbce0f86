using Rampart.Core.MtaSts;
using Rampart.Core.Policy;

namespace Rampart.Core.TlsRpt;

/// <summary>
/// What the daemon answered Postfix for one next-hop domain, as TLS-RPT names it: the policy the sessions to that domain
/// were held to from <paramref name="At"/> until the next answer, and the MTA-STS failure only the daemon sees (a fetch
/// error, an invalid policy, a policy host without a WebPKI-valid certificate: RFC 8460 §4.3.2.2). Postfix before 3.10
/// logs each session's outcome but not its policy; these answers, joined by domain and time, supply it.
/// </summary>
/// <param name="Domain">The next-hop domain Postfix asked about, lower case.</param>
/// <param name="At">When the daemon decided it (the answer holds until the next one for the domain).</param>
/// <param name="Policy">The policy, as a report's <c>policy</c> object names it.</param>
/// <param name="PolicyFailure">
/// <see cref="TlsRptResultTypes.StsPolicyFetchError"/>, <see cref="TlsRptResultTypes.StsPolicyInvalid"/> or
/// <see cref="TlsRptResultTypes.StsWebpkiInvalid"/> when the domain announced an MTA-STS policy the daemon could not use
/// (every session to it then fails under an <c>sts</c> policy without strings); null otherwise.
/// </param>
public sealed record TlsPolicyAnswer(string Domain, DateTimeOffset At, TlsSessionPolicy Policy, string? PolicyFailure)
{
    /// <summary>
    /// The answer a decision gives: an MTA-STS policy (enforced or testing) → <c>sts</c> with its lines and mx patterns;
    /// DANE → <c>tlsa</c> with every usable TLSA record of the MX hosts ("usage selector mtype HEX") and the domain as
    /// policy-domain; an MTA-STS failure with nothing cached → <c>sts</c> without strings and the failure; anything else
    /// (no policy, a pinned local policy, a deferral for another reason) → <c>no-policy-found</c>.
    /// </summary>
    public static TlsPolicyAnswer For(SenderPolicyDecision decision, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(decision);
        var domain = decision.Domain;
        switch (decision.Kind)
        {
            case SenderPolicyKind.MtaSts or SenderPolicyKind.MtaStsTesting when decision.MtaStsPolicy is { } sts:
                return new(domain, at, new TlsSessionPolicy(TlsRptPolicyTypes.Sts, domain, sts.PolicyStrings(), sts.MxAsWritten()), null);
            case SenderPolicyKind.DaneOnly or SenderPolicyKind.Dane:
                var records = (decision.Dane ?? []).SelectMany(h => h.UsableRecords).Select(r => r.ToString()).Distinct(StringComparer.Ordinal).ToList();
                return new(domain, at, new TlsSessionPolicy(TlsRptPolicyTypes.Tlsa, domain, records, []), null);
        }
        if (decision.MtaStsFailure is { } failure)
        {
            return new(domain, at, new TlsSessionPolicy(TlsRptPolicyTypes.Sts, domain, [], []), failure);
        }
        return new(domain, at, TlsSessionPolicy.NoPolicyFound, null);
    }

    /// <summary>The RFC 8460 §4.3.2.2 result type of an MTA-STS lookup that found a policy announced but none usable; null for any other outcome.</summary>
    public static string? MtaStsFailureOf(MtaStsLookupResult lookup)
    {
        ArgumentNullException.ThrowIfNull(lookup);
        return lookup.Status switch
        {
            MtaStsLookupStatus.FetchError when lookup.FetchError is MtaStsFetchError.CertificateInvalid => TlsRptResultTypes.StsWebpkiInvalid,
            MtaStsLookupStatus.FetchError => TlsRptResultTypes.StsPolicyFetchError,
            MtaStsLookupStatus.PolicyInvalid => TlsRptResultTypes.StsPolicyInvalid,
            _ => null,
        };
    }

    /// <summary>True when the two say the same (policy and failure), whenever decided: a new answer worth recording.</summary>
    public bool SameAs(TlsPolicyAnswer other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return Domain == other.Domain && PolicyFailure == other.PolicyFailure && Policy.PolicyType == other.Policy.PolicyType
               && Policy.PolicyDomain == other.Policy.PolicyDomain && Policy.PolicyStrings.SequenceEqual(other.Policy.PolicyStrings)
               && Policy.MxHostPatterns.SequenceEqual(other.Policy.MxHostPatterns);
    }
}

/// <summary>
/// The daemon's record of its answers per next-hop domain (<see cref="TlsPolicyAnswer"/>), kept where the log follower
/// and <c>rampart tlsrpt ingest-log</c> can read it: SQLite in the state directory, beside the session store.
/// </summary>
public interface ITlsPolicyAnswerStore : IAsyncDisposable
{
    /// <summary>Where the record lives, for messages.</summary>
    string Location { get; }

    /// <summary>Records <paramref name="answers"/> in one transaction.</summary>
    /// <exception cref="RampartException">The record cannot be written.</exception>
    Task RecordAsync(IReadOnlyList<TlsPolicyAnswer> answers, CancellationToken cancellationToken);

    /// <summary>The answer in force for <paramref name="domain"/> at <paramref name="at"/>: the latest decided at or before it; null when none was.</summary>
    Task<TlsPolicyAnswer?> FindAsync(string domain, DateTimeOffset at, CancellationToken cancellationToken);

    /// <summary>Deletes answers decided before <paramref name="before"/> except each domain's latest (still in force); returns how many went.</summary>
    Task<int> PurgeBeforeAsync(DateTimeOffset before, CancellationToken cancellationToken);
}
