using Rampart.Core.Dns;
using Rampart.Core.MtaSts;

namespace Rampart.Core.Policy;

/// <summary>Sender-side knobs (per socketmap zone in the daemon).</summary>
public sealed record SenderPolicySettings
{
    /// <summary>Enforce MTA-STS policies in testing mode too (postfix-mta-sts-resolver's strict_testing).</summary>
    public bool StrictTesting { get; init; }

    /// <summary>Add <c>servername=hostname</c> so Postfix sends SNI (postfix-mta-sts-resolver's require_sni, default on).</summary>
    public bool RequireSni { get; init; } = true;
}

/// <summary>
/// The sender decision of DESIGN.md, one destination domain at a time:
/// 1. MX lookup (lookup error → TEMP); 2. DANE (issue 3 plugs in here; DANE, where it applies, always wins);
/// 3. MTA-STS; 4. pinned policies; 5. no policy → NOTFOUND.
/// </summary>
public sealed class SenderPolicyResolver(IDnsResolver dns, MtaStsPolicyProvider mtaSts, SenderPolicySettings settings)
{
    public async Task<SenderPolicyDecision> DecideAsync(string destination, CancellationToken cancellationToken)
    {
        var evidence = new List<Evidence>();
        if (!DomainName.TryNormalize(destination, out var domain, out var nameError))
        {
            evidence.Add(new("domain", EvidenceOutcome.Info, nameError + ": no policy applies"));
            return new(destination, SenderPolicyKind.None, PostfixTlsPolicy.NotFound, [], evidence);
        }

        var mx = await LookupMxAsync(domain, evidence, cancellationToken).ConfigureAwait(false);
        if (mx is null)
        {
            return new(domain, SenderPolicyKind.TempFail, PostfixTlsPolicy.Temp($"MX lookup for {domain} failed"), [], evidence);
        }

        // DANE (RFC 7672) is evaluated here once Rampart.Core.Dane exists; it wins over MTA-STS where it applies.

        var sts = await mtaSts.LookupAsync(domain, cancellationToken).ConfigureAwait(false);
        evidence.AddRange(sts.Evidence);
        if (sts.Status == MtaStsLookupStatus.Policy && sts.Policy is { } policy)
        {
            return DecideMtaSts(domain, policy, mx, evidence);
        }

        evidence.Add(new("decision", EvidenceOutcome.Info, "no DANE, MTA-STS or pinned policy: Postfix's default TLS level applies"));
        return new(domain, SenderPolicyKind.None, PostfixTlsPolicy.NotFound, mx, evidence);
    }

    private async Task<List<string>?> LookupMxAsync(string domain, List<Evidence> evidence, CancellationToken cancellationToken)
    {
        var answer = await dns.QueryMxAsync(domain, cancellationToken).ConfigureAwait(false);
        switch (answer.Outcome)
        {
            case DnsOutcome.LookupError:
                evidence.Add(new("mx", EvidenceOutcome.Fail, $"MX lookup for {domain} failed: {answer.ErrorMessage}; deferring rather than guessing", "RFC 7672 §2.2.1"));
                return null;
            case DnsOutcome.NxDomain:
                evidence.Add(new("mx", EvidenceOutcome.Info, $"{domain} does not exist (NXDOMAIN)", "RFC 5321 §5.1"));
                return [];
            case DnsOutcome.NoData:
                evidence.Add(new("mx", EvidenceOutcome.Info, $"{domain} has no MX record: the domain itself is the implicit MX ({answer.Describe()})", "RFC 5321 §5.1"));
                return [domain];
        }
        var hosts = answer.Records.OrderBy(r => r.Preference).Select(r => r.Exchange).Distinct().ToList();
        if (hosts is [""])
        {
            evidence.Add(new("mx", EvidenceOutcome.Info, $"{domain} publishes a null MX: it accepts no mail", "RFC 7505"));
            return [];
        }
        hosts.RemoveAll(h => h.Length == 0);
        evidence.Add(new("mx", EvidenceOutcome.Pass,
            $"MX {string.Join(", ", answer.Records.OrderBy(r => r.Preference).Select(r => $"{r.Preference} {r.Exchange}"))} ({(answer.IsSecure ? "DNSSEC-signed" : "unsigned")})",
            "RFC 5321 §5.1"));
        return hosts;
    }

    private SenderPolicyDecision DecideMtaSts(string domain, MtaStsPolicy policy, List<string> mx, List<Evidence> evidence)
    {
        foreach (var host in mx)
        {
            evidence.Add(policy.MatchesMx(host)
                ? new("mta-sts.mx-match", EvidenceOutcome.Pass, $"MX {host} matches the policy", "RFC 8461 §4.1")
                : new("mta-sts.mx-match", EvidenceOutcome.Warning, $"MX {host} matches no policy mx pattern: delivery to it will be refused", "RFC 8461 §4.1"));
        }
        foreach (var pattern in policy.Mx.Where(p => !mx.Any(p.Matches)))
        {
            evidence.Add(new("mta-sts.mx-match", EvidenceOutcome.Info, $"policy pattern {pattern} matches no DNS MX host", "RFC 8461 §4.1"));
        }

        switch (policy.Mode)
        {
            case MtaStsMode.None:
                evidence.Add(new("decision", EvidenceOutcome.Info, "MTA-STS mode none: the domain has withdrawn its policy", "RFC 8461 §5"));
                return new(domain, SenderPolicyKind.None, PostfixTlsPolicy.NotFound, mx, evidence, policy);
            case MtaStsMode.Testing when !settings.StrictTesting:
                evidence.Add(new("decision", EvidenceOutcome.Info, "MTA-STS mode testing: failures are reported, delivery is not refused", "RFC 8461 §5"));
                return new(domain, SenderPolicyKind.MtaStsTesting, PostfixTlsPolicy.NotFound, mx, evidence, policy);
        }

        var match = PostfixMatchList(policy, mx);
        if (match.Count == 0)
        {
            evidence.Add(new("decision", EvidenceOutcome.Fail, "no MX host matches the policy: delivery must wait until one does", "RFC 8461 §5"));
            return new(domain, Kind(policy), PostfixTlsPolicy.Temp($"MTA-STS policy of {domain} matches none of its MX hosts"), mx, evidence, policy);
        }
        var reply = PostfixTlsPolicy.Secure(match, settings.RequireSni);
        evidence.Add(new("decision", EvidenceOutcome.Pass,
            $"MTA-STS {MtaStsPolicy.ModeName(policy.Mode)}: TLS with a WebPKI-valid certificate for one of [{string.Join(", ", match)}]", "RFC 8461 §4"));
        return new(domain, Kind(policy), reply, mx, evidence, policy);

        static SenderPolicyKind Kind(MtaStsPolicy p) => p.Mode == MtaStsMode.Enforce ? SenderPolicyKind.MtaSts : SenderPolicyKind.MtaStsTesting;
    }

    /// <summary>
    /// Postfix's <c>match=.example.com</c> accepts any depth, while an MTA-STS <c>*.example.com</c> covers exactly one
    /// label. So literal patterns pass through, and each wildcard becomes the DNS MX hosts it really covers; only when
    /// the MX set is unknown does a wildcard fall back to Postfix's broader <c>.example.com</c> form.
    /// </summary>
    public static IReadOnlyList<string> PostfixMatchList(MtaStsPolicy policy, IReadOnlyList<string>? mxHosts)
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
