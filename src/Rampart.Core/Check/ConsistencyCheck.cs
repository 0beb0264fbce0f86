using Rampart.Core.MtaSts;
using Rampart.Core.TlsRpt;
using static Rampart.Core.Check.CheckCatalog;

namespace Rampart.Core.Check;

/// <summary>
/// DANE and MTA-STS side by side: both published (DANE senders use TLSA, the others the policy, RFC 8461 §2), a
/// DANE-authenticated host that an MTA-STS policy covers but whose certificate fails WebPKI, and protection switched on
/// with no TLS-RPT record to hear about failures.
/// </summary>
public sealed class ConsistencyCheck : IDomainCheck
{
    public IEnumerable<CheckFinding> Evaluate(DomainObservation observation, CheckSettings settings)
    {
        ArgumentNullException.ThrowIfNull(observation);
        var policy = observation.MtaSts.Policy;
        var stsActive = policy is { Mode: MtaStsMode.Enforce or MtaStsMode.Testing };
        var daneHosts = observation.Hosts.Where(h => h.HasUsableTlsa).ToList();
        if (stsActive && daneHosts.Count > 0)
        {
            yield return ConsistencyDaneAndSts.For(observation.Domain,
                $"DANE (TLSA on {string.Join(", ", daneHosts.Select(h => h.Host))}) and MTA-STS (mode {MtaStsPolicy.ModeName(policy!.Mode)}) are both published; " +
                "DANE senders ignore the policy for those hosts");
            foreach (var host in daneHosts.Where(h => h.DaneAuthenticated && policy.MatchesMx(h.Host)))
            {
                foreach (var address in host.Probes.Where(p => p.WebPki is { IsValid: false }))
                {
                    yield return ConsistencyDaneHostFailsSts.For(Subjects.Address(host, address),
                        $"DANE authenticates it, but MTA-STS-only senders check WebPKI and fail: {address.WebPki!.Message}");
                }
            }
        }
        var tlsRptMissing = !observation.TlsRpt.IsLookupError && !observation.TlsRpt.Records.Any(TlsRptRecord.IsTlsRptV1);
        if ((stsActive || daneHosts.Count > 0) && tlsRptMissing)
        {
            yield return ConsistencyTlsRptMissing.For(observation.Domain,
                $"{(daneHosts.Count > 0 ? "DANE" : "MTA-STS")} is published but there is no TLS-RPT record at _smtp._tls.{observation.Domain}");
        }
    }
}
