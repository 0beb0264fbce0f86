using Rampart.Core.Dane;
using Rampart.Core.Dns;
using Rampart.Core.MtaSts;
using Rampart.Core.Policy.Pinned;

namespace Rampart.Core.Policy;

/// <summary>Sender-side knobs (per zone in the daemon).</summary>
public sealed record SenderPolicySettings
{
    /// <summary>Enforce MTA-STS policies in testing mode too (postfix-mta-sts-resolver's strict_testing).</summary>
    public bool StrictTesting { get; init; }

    /// <summary>Ask the MTA to send the MX host name as SNI (postfix-mta-sts-resolver's require_sni, default on).</summary>
    public bool RequireSni { get; init; } = true;

    /// <summary>
    /// Carry the MTA-STS policy behind an enforced answer in the decision (<see cref="SenderPolicyDecision.TlsRpt"/>;
    /// postfix-mta-sts-resolver's zone <c>tlsrpt</c>), so an MTA with its own TLS-RPT client (Postfix 3.10) can report
    /// on the policy it applied.
    /// </summary>
    public bool TlsRpt { get; init; }
}

/// <summary>
/// The sender decision of DESIGN.md, one destination domain at a time:
/// 1. MX lookup (lookup error → defer); 2. DANE per MX host (any lookup error → defer; where it applies it always wins,
/// and MTA-STS's answer is not used: RFC 8461 §2); 3. MTA-STS; 4. pinned policies; 5. no policy (the MTA's default
/// applies). The lookups form a graph, not a sequence (<see cref="DecideAsync"/>).
/// </summary>
public sealed class SenderPolicyResolver(
    IDnsResolver dns,
    DaneHostLookup dane,
    MtaStsPolicyProvider mtaSts,
    SenderPolicySettings settings,
    PinnedPolicySet? pinned = null,
    TimeProvider? time = null)
{
    /// <summary>
    /// The two discoveries run side by side (issue 18): MTA-STS's (the <c>_mta-sts</c> TXT record, then the policy host
    /// and the fetch when it announces a new policy) starts with the MX lookup, and each MX host's address and TLSA
    /// lookups start as soon as the MX answer names it, so a first decision waits for the longer chain, not the sum
    /// of both. The precedence is unchanged: where DANE applies, the MTA-STS lookup is left to finish on its own (a
    /// policy it fetched is cached, never used for this domain), and the domain's DANE verdict is recorded on the cached
    /// policy (<see cref="CachedMtaStsPolicy.DecidedWithoutDane"/>), so the answers given before a full decision
    /// (<see cref="DecideFromCacheAsync"/>, an MX outage) never serve such a policy.
    /// </summary>
    /// <param name="destination">The destination domain, parsed where it entered (a socketmap key, a CLI argument).</param>
    public async Task<SenderPolicyDecision> DecideAsync(DomainName destination, CancellationToken cancellationToken)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        return await DecideCoreAsync(destination, cancellationToken).ConfigureAwait(false) with { StartedAt = started };
    }

    private async Task<SenderPolicyDecision> DecideCoreAsync(DomainName destination, CancellationToken cancellationToken)
    {
        var evidence = new List<Evidence>();
        var domain = destination.Value;
        var stsLookup = mtaSts.LookupAsync(domain, cancellationToken);
        var (mx, mxSecure) = await LookupMxAsync(domain, evidence, cancellationToken).ConfigureAwait(false);
        if (mx is null)
        {
            // DNS is failing. A cached MTA-STS policy still holds until max_age (RFC 8461 §5): enforce it rather than defer,
            // if the domain's last decision was made without DANE. Waiting for the lookup beside this one (which returns
            // the cached policy when its own queries fail) makes the answer the same however the two interleave.
            var during = await stsLookup.ConfigureAwait(false);
            if (during.Status == MtaStsLookupStatus.Policy && during.Policy is { } found && during.DecidedWithoutDane)
            {
                evidence.AddRange(during.Evidence);
                return DecideMtaSts(domain, found, null, evidence);
            }
            return new(domain, SenderPolicyKind.TempFail, TlsRequirement.Defer($"MX lookup for {domain} failed"), [], evidence);
        }

        var daneHosts = await Task.WhenAll(mx.Select(host => dane.LookupAsync(host, cancellationToken))).ConfigureAwait(false);
        evidence.AddRange(daneHosts.Select(h => h.Evidence));
        if (DecideDane(domain, mx, mxSecure, daneHosts, evidence) is { } daneDecision)
        {
            LeaveRunning(domain, stsLookup, daneDecision.Kind != SenderPolicyKind.TempFail);
            return daneDecision;
        }

        var sts = await stsLookup.ConfigureAwait(false);
        evidence.AddRange(sts.Evidence);
        await RecordDaneVerdictAsync(domain, sts, daneApplies: false).ConfigureAwait(false);
        if (sts.Status == MtaStsLookupStatus.Policy && sts.Policy is { } policy)
        {
            return DecideMtaSts(domain, policy, mx, evidence) with { Dane = daneHosts };
        }

        if (DecidePinned(domain, mx, evidence) is { } pinnedDecision)
        {
            return pinnedDecision with { Dane = daneHosts };
        }

        evidence.Add(new("decision", EvidenceOutcome.Info, "no DANE, MTA-STS or pinned policy: Postfix's default TLS level applies"));
        return new(domain, SenderPolicyKind.None, TlsRequirement.NoPolicy, mx, evidence, null, daneHosts)
        {
            MtaStsFailure = Rampart.Core.TlsRpt.TlsPolicyAnswer.MtaStsFailureOf(sts),
        };
    }

    /// <summary>
    /// An MTA-STS lookup whose answer this decision does not use: it finishes on its own, its failure observed; once it
    /// has, the policy it cached is marked as not the domain's answer when DANE decided (<paramref name="daneDecided"/>;
    /// not after a DANE lookup error, which says nothing about DANE).
    /// </summary>
    private void LeaveRunning(string domain, Task<MtaStsLookupResult> lookup, bool daneDecided)
    {
        Observe(lookup);
        if (daneDecided)
        {
            Observe(lookup.ContinueWith(t => RecordDaneVerdictAsync(domain, t.Result, daneApplies: true), CancellationToken.None,
                TaskContinuationOptions.OnlyOnRanToCompletion | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default).Unwrap());
        }

        static void Observe(Task task) => _ = task.ContinueWith(static t => _ = t.Exception, CancellationToken.None,
            TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>
    /// After a full decision: records whether DANE applied on the policy the MTA-STS lookup cached, when that differs from
    /// what is stored. Not tied to the caller's token: the verdict is about the domain, not this caller.
    /// </summary>
    private Task RecordDaneVerdictAsync(string domain, MtaStsLookupResult sts, bool daneApplies) =>
        sts.Status == MtaStsLookupStatus.Policy && sts.DecidedWithoutDane == daneApplies
            ? mtaSts.RecordDaneVerdictAsync(domain, daneApplies, CancellationToken.None)
            : Task.CompletedTask;

    /// <summary>Step 4: a local override or STARTTLS Policy List entry; an expired list is not enforced (with a warning).</summary>
    private SenderPolicyDecision? DecidePinned(string domain, List<string> mx, List<Evidence> evidence)
    {
        if (pinned is null)
        {
            return null;
        }
        if (!pinned.TryGet(domain, (time ?? TimeProvider.System).GetUtcNow(), out var policy, out var warning))
        {
            if (warning is not null)
            {
                evidence.Add(PinnedPolicySet.WarningEvidence(warning));
            }
            return null;
        }
        evidence.Add(policy.ToEvidence(domain));
        return policy.IsEnforced ? new(domain, SenderPolicyKind.Pinned, policy.Requirement, mx, evidence) : null;
    }

    /// <summary>
    /// The decision a cached MTA-STS policy implies, before the full lookup (no DANE, TXT check or fetch); null when
    /// nothing valid is cached, or when the domain's last full decision was not made without DANE
    /// (<see cref="CachedMtaStsPolicy.DecidedWithoutDane"/>): a policy fetched beside a DANE decision never answers. The daemon answers with this before its first full lookup of a domain (after a restart).
    /// It is as tight as a live decision: a policy whose answer lists only literal mx patterns needs no network at all;
    /// a wildcard pattern is expanded to the MX hosts it covers, which costs the MX query, and only when that query
    /// fails does the wildcard take Postfix's broader <c>.domain</c> form (as during an outage, <see cref="DecideAsync"/>).
    /// </summary>
    public async Task<SenderPolicyDecision?> DecideFromCacheAsync(DomainName destination, CancellationToken cancellationToken)
    {
        var domain = destination.Value;
        if (await mtaSts.CachedAsync(domain, cancellationToken).ConfigureAwait(false) is not { Policy: { } policy, DecidedWithoutDane: true } cached)
        {
            return null; // nothing cached, or a policy DANE makes irrelevant (or whose DANE verdict is unknown): decide in full
        }
        var evidence = cached.Evidence.ToList();
        var enforced = policy.Mode == MtaStsMode.Enforce || (policy.Mode == MtaStsMode.Testing && settings.StrictTesting);
        var mx = enforced && policy.Mx.Any(p => p.IsWildcard)
            ? (await LookupMxAsync(domain, evidence, cancellationToken).ConfigureAwait(false)).Hosts
            : null;
        return DecideMtaSts(domain, policy, mx, evidence);
    }

    private async Task<(List<string>? Hosts, bool Secure)> LookupMxAsync(string domain, List<Evidence> evidence, CancellationToken cancellationToken)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var answer = await dns.QueryMxAsync(domain, cancellationToken).ConfigureAwait(false);
        switch (answer.Outcome)
        {
            case DnsOutcome.LookupError:
                evidence.Add(new Evidence("mx", EvidenceOutcome.Fail, $"MX lookup for {domain} failed: {answer.ErrorMessage}; deferring rather than guessing", "RFC 7672 §2.2.1").Timed(started));
                return (null, false);
            case DnsOutcome.NxDomain:
                evidence.Add(new Evidence("mx", EvidenceOutcome.Info, $"{domain} does not exist (NXDOMAIN)", "RFC 5321 §5.1").Timed(started));
                return ([], answer.IsSecure);
            case DnsOutcome.NoData:
                evidence.Add(new Evidence("mx", EvidenceOutcome.Info, $"{domain} has no MX record: the domain itself is the implicit MX ({answer.Describe()})", "RFC 5321 §5.1").Timed(started));
                return ([domain], answer.IsSecure);
        }
        var hosts = answer.Records.OrderBy(r => r.Preference).Select(r => r.Exchange).Distinct().ToList();
        if (hosts is [""])
        {
            evidence.Add(new Evidence("mx", EvidenceOutcome.Info, $"{domain} publishes a null MX: it accepts no mail", "RFC 7505").Timed(started));
            return ([], answer.IsSecure);
        }
        hosts.RemoveAll(h => h.Length == 0);
        evidence.Add(new Evidence("mx", EvidenceOutcome.Pass,
            $"MX {string.Join(", ", answer.Records.OrderBy(r => r.Preference).Select(r => $"{r.Preference} {r.Exchange}"))} ({(answer.IsSecure ? "DNSSEC-signed" : "unsigned")})",
            "RFC 5321 §5.1").Timed(started));
        return (hosts, answer.IsSecure);
    }

    /// <summary>
    /// DANE for the domain from its hosts' verdicts: any lookup error defers; every reachable MX authenticated by usable
    /// TLSA under a signed MX RRset → <c>dane-only</c>; some hosts with TLSA (usable or not) → <c>dane</c>, where Postfix
    /// authenticates those hosts and requires TLS from hosts whose records are all unusable; none → null (DANE does not apply).
    /// </summary>
    private static SenderPolicyDecision? DecideDane(string domain, List<string> mx, bool mxSecure, DaneHostResult[] hosts, List<Evidence> evidence)
    {
        if (hosts.FirstOrDefault(h => h.Status == DaneHostStatus.LookupError) is { } failed)
        {
            evidence.Add(new("decision", EvidenceOutcome.Fail, $"a DNSSEC lookup for {failed.Host} failed: deferring, never falling back to MTA-STS or plaintext", "RFC 7672 §2.1.1"));
            return new(domain, SenderPolicyKind.TempFail, TlsRequirement.Defer($"DANE lookup for {failed.Host} failed"), mx, evidence, null, hosts);
        }
        var reachable = hosts.Where(h => h.Status != DaneHostStatus.NoAddress).ToList();
        if (!reachable.Any(h => h.Status is DaneHostStatus.Usable or DaneHostStatus.AllUnusable))
        {
            return null;
        }
        var only = mxSecure && reachable.All(h => h.Status == DaneHostStatus.Usable);
        evidence.Add(new("decision", EvidenceOutcome.Pass, only
            ? "DANE: every MX host has usable DNSSEC-signed TLSA records; MTA-STS's answer is not used (DANE wins)"
            : $"DANE for {string.Join(", ", reachable.Where(h => h.Status is DaneHostStatus.Usable or DaneHostStatus.AllUnusable).Select(h => h.Host))}"
              + (mxSecure ? "" : " (the MX RRset is unsigned, so not dane-only)") + "; MTA-STS's answer is not used (DANE wins)",
            "RFC 7672 §2.2, RFC 8461 §2"));
        return new(domain, only ? SenderPolicyKind.DaneOnly : SenderPolicyKind.Dane,
            only ? TlsRequirement.DaneOnly : TlsRequirement.Dane, mx, evidence, null, hosts);
    }

    private SenderPolicyDecision DecideMtaSts(string domain, MtaStsPolicy policy, List<string>? mx, List<Evidence> evidence)
    {
        foreach (var host in mx ?? [])
        {
            evidence.Add(policy.MatchesMx(host)
                ? new("mta-sts.mx-match", EvidenceOutcome.Pass, $"MX {host} matches the policy", "RFC 8461 §4.1")
                : new("mta-sts.mx-match", EvidenceOutcome.Warning, $"MX {host} matches no policy mx pattern: delivery to it will be refused", "RFC 8461 §4.1"));
        }
        foreach (var pattern in policy.Mx.Where(p => mx is not null && !mx.Any(p.Matches)))
        {
            evidence.Add(new("mta-sts.mx-match", EvidenceOutcome.Info, $"policy pattern {pattern} matches no DNS MX host", "RFC 8461 §4.1"));
        }

        switch (policy.Mode)
        {
            case MtaStsMode.None:
                evidence.Add(new("decision", EvidenceOutcome.Info, "MTA-STS mode none: the domain has withdrawn its policy", "RFC 8461 §5"));
                return new(domain, SenderPolicyKind.None, TlsRequirement.NoPolicy, mx ?? [], evidence, policy);
            case MtaStsMode.Testing when !settings.StrictTesting:
                evidence.Add(new("decision", EvidenceOutcome.Info, "MTA-STS mode testing: failures are reported, delivery is not refused", "RFC 8461 §5"));
                return new(domain, SenderPolicyKind.MtaStsTesting, TlsRequirement.NoPolicy, mx ?? [], evidence, policy);
        }

        var match = MatchNames(policy, mx);
        if (match.Count == 0)
        {
            evidence.Add(new("decision", EvidenceOutcome.Fail, "no MX host matches the policy: delivery must wait until one does", "RFC 8461 §5"));
            return new(domain, Kind(policy), TlsRequirement.Defer($"MTA-STS policy of {domain} matches none of its MX hosts"), mx ?? [], evidence, policy);
        }
        evidence.Add(new("decision", EvidenceOutcome.Pass,
            $"MTA-STS {MtaStsPolicy.ModeName(policy.Mode)}: TLS with a WebPKI-valid certificate for one of [{string.Join(", ", match)}]", "RFC 8461 §4"));
        return new(domain, Kind(policy), TlsRequirement.Secure(match, settings.RequireSni), mx ?? [], evidence, policy,
            TlsRpt: settings.TlsRpt ? new TlsRptPolicy(domain, policy) : null);

        static SenderPolicyKind Kind(MtaStsPolicy p) => p.Mode == MtaStsMode.Enforce ? SenderPolicyKind.MtaSts : SenderPolicyKind.MtaStsTesting;
    }

    /// <summary>
    /// The certificate names (<see cref="TlsRequirement.MatchNames"/>) an MTA-STS policy implies. A match name
    /// <c>.example.com</c> accepts any depth (as Postfix reads it), while an MTA-STS <c>*.example.com</c> covers exactly
    /// one label. So literal patterns pass through, and each wildcard becomes the DNS MX hosts it really covers; only
    /// when the MX set is unknown does a wildcard fall back to the broader <c>.example.com</c> form.
    /// </summary>
    public static IReadOnlyList<string> MatchNames(MtaStsPolicy policy, IReadOnlyList<string>? mxHosts)
    {
        var match = new List<string>();
        foreach (var pattern in policy.Mx)
        {
            if (!pattern.IsWildcard)
            {
                match.Add(pattern.Value);
            }
            else if (mxHosts is null)
            {
                match.Add(pattern.ToPostfixMatch());
            }
            else
            {
                match.AddRange(mxHosts.Where(pattern.Matches));
            }
        }
        return match.Distinct(StringComparer.OrdinalIgnoreCase).ToList();
    }
}
