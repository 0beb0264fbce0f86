using Rampart.Core.MtaSts;
using static Rampart.Core.Check.CheckCatalog;

namespace Rampart.Core.Check;

/// <summary>
/// MTA-STS (RFC 8461): the TXT record, the policy fetch with its rules, the policy's syntax and semantics (max_age too
/// short for enforce, too long for testing), the policy's mx patterns against the DNS MX in both directions, and
/// enforce readiness: every covered MX address passes WebPKI for its name.
/// </summary>
public sealed class MtaStsCheck : IDomainCheck
{
    public IEnumerable<CheckFinding> Evaluate(DomainObservation observation, CheckSettings settings)
    {
        ArgumentNullException.ThrowIfNull(observation);
        ArgumentNullException.ThrowIfNull(settings);
        var domain = observation.Domain;
        var sts = observation.MtaSts;
        var txtName = "_mta-sts." + domain;
        if (sts.Txt.IsLookupError)
        {
            yield return StsTxtLookupError.For(txtName, $"TXT lookup failed: {sts.Txt.ErrorMessage ?? sts.Txt.Error.ToString()}");
            yield break;
        }
        switch (sts.Lookup?.Status)
        {
            case MtaStsTxtStatus.NoRecord or null:
                yield return StsNone.For(domain, $"no MTA-STS TXT record at {txtName} ({sts.Txt.Describe()})");
                yield break;
            case MtaStsTxtStatus.Multiple:
                yield return StsTxtMultiple.For(txtName, sts.Lookup.Error!);
                yield break;
            case MtaStsTxtStatus.Invalid:
                yield return StsTxtInvalid.For(txtName, sts.Lookup.Error!);
                yield break;
        }
        if (sts.Fetch is { IsSuccess: false } fetch)
        {
            yield return StsFetchFailed.For(MtaStsPolicyFetcher.PolicyHost(domain),
                $"{MtaStsFetchResult.ErrorName(fetch.Error)}: {fetch.Message} ({fetch.Url})");
            yield break;
        }
        if (sts.Parse is not { } parse)
        {
            yield break;
        }
        foreach (var warning in parse.Warnings)
        {
            yield return StsPolicyWarning.For(MtaStsPolicyFetcher.PolicyHost(domain), Line(warning));
        }
        if (parse.Policy is not { } policy)
        {
            yield return StsPolicyInvalid.For(MtaStsPolicyFetcher.PolicyHost(domain),
                $"{parse.Errors.Count} error(s): {string.Join("; ", parse.Errors.Select(Line))}");
            yield break;
        }
        var mode = MtaStsPolicy.ModeName(policy.Mode);
        yield return StsPolicyOk.For(domain,
            $"policy id {sts.Lookup!.Record!.Id}: mode {mode}, max_age {policy.MaxAge}, mx {string.Join(", ", Patterns(policy))}");
        switch (policy.Mode)
        {
            case MtaStsMode.None:
                yield return StsModeNone.For(domain, "mode none: senders drop any cached policy; nothing is enforced");
                yield break;
            case MtaStsMode.Testing:
                yield return StsTesting.For(domain, "mode testing: senders report failures but still deliver, unprotected");
                if (policy.MaxAge > settings.MaxTestingMaxAge)
                {
                    yield return StsTestingMaxAgeLong.For(domain, $"max_age {policy.MaxAge} s in mode testing exceeds {settings.MaxTestingMaxAge} s");
                }
                break;
            case MtaStsMode.Enforce when policy.MaxAge < settings.MinEnforceMaxAge:
                yield return StsMaxAgeShort.For(domain, $"max_age {policy.MaxAge} s in mode enforce is shorter than {settings.MinEnforceMaxAge} s");
                break;
        }

        var enforce = policy.Mode == MtaStsMode.Enforce;
        var notCoveredSeverity = enforce ? CheckSeverity.Failure : CheckSeverity.Warning;
        var hosts = observation.Hosts;
        foreach (var host in hosts.Where(h => !policy.MatchesMx(h.Host)))
        {
            yield return StsMxNotCovered.For(host.Host,
                $"MX host {host.Host} matches no mx pattern of the policy ({string.Join(", ", Patterns(policy))})" +
                (enforce ? ": enforcing senders refuse it" : ": testing senders would report it"), notCoveredSeverity);
        }
        if (observation.Mx.Outcome == Dns.DnsOutcome.Records)
        {
            foreach (var pattern in policy.Mx.Where(p => !hosts.Any(h => p.Matches(h.Host))))
            {
                yield return StsPatternUnused.For(domain, $"mx pattern {pattern} matches no MX host of {domain} ({string.Join(", ", hosts.Select(h => h.Host))})");
            }
        }

        var covered = hosts.Where(h => policy.MatchesMx(h.Host) && h.Addresses.Records.Count > 0).ToList();
        var failing = new List<string>();
        foreach (var host in covered)
        {
            foreach (var address in host.Probes)
            {
                if (address.WebPki is not { IsValid: true })
                {
                    failing.Add($"{Subjects.Address(host, address)}: {address.WebPki?.Message ?? address.Probe.Error ?? "no TLS session (STARTTLS not offered)"}");
                }
            }
        }
        if (failing.Count > 0)
        {
            yield return StsWebPkiInvalid.For(domain,
                $"{failing.Count} MX address(es) fail the WebPKI check MTA-STS requires{(enforce ? "" : " (not ready for mode enforce)")}: {string.Join("; ", failing)}",
                enforce ? CheckSeverity.Failure : CheckSeverity.Warning);
        }
        else if (covered.Count > 0)
        {
            yield return StsEnforceReady.For(domain,
                $"every covered MX address passes WebPKI ({string.Join(", ", covered.Select(h => h.Host))}){(enforce ? "" : ": ready for mode enforce")}");
        }
    }

    private static IEnumerable<string> Patterns(MtaStsPolicy policy) => policy.Mx.Select(p => p.Value);

    private static string Line(PolicyDiagnostic d) => d.Line > 0 ? $"line {d.Line}: {d.Message}" : d.Message;
}
