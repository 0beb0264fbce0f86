using Rampart.Core.Dns;
using static Rampart.Core.Check.CheckCatalog;

namespace Rampart.Core.Check;

/// <summary>The MX RRset (RFC 5321 §5.1, RFC 7505): lookup errors, none, null MX, duplicates, hosts without addresses.</summary>
public sealed class MxCheck : IDomainCheck
{
    public IEnumerable<CheckFinding> Evaluate(DomainObservation observation, CheckSettings settings)
    {
        ArgumentNullException.ThrowIfNull(observation);
        var domain = observation.Domain;
        var mx = observation.Mx;
        switch (mx.Outcome)
        {
            case DnsOutcome.LookupError:
                yield return MxLookupError.For(domain, $"MX lookup failed: {mx.ErrorMessage ?? mx.Error.ToString()}");
                yield break;
            case DnsOutcome.NxDomain:
                yield return MxDomainMissing.For(domain, $"{domain} does not exist ({mx.Describe()})");
                yield break;
            case DnsOutcome.NoData:
                yield return MxNone.For(domain, $"{domain} has no MX records ({mx.Describe()}); senders use its address records instead");
                yield break;
        }
        var nulls = mx.Records.Count(r => r.Exchange.Length == 0);
        if (nulls > 0 && mx.Records.Count == 1)
        {
            yield return MxNull.For(domain, $"{domain} publishes a null MX: it accepts no mail, so no transport security applies");
            yield break;
        }
        if (nulls > 0)
        {
            yield return MxNullMixed.For(domain, $"a null MX (\".\") is published beside {mx.Records.Count - nulls} other MX record(s)");
        }
        foreach (var duplicate in mx.Records.Where(r => r.Exchange.Length > 0).GroupBy(r => r.Exchange, StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1))
        {
            yield return MxDuplicate.For(duplicate.Key,
                $"{duplicate.Key} is listed {duplicate.Count()} times (preferences {string.Join(", ", duplicate.Select(r => r.Preference))})");
        }
        var bad = false;
        foreach (var host in observation.Hosts)
        {
            var addresses = host.Addresses;
            if (addresses.IsLookupError)
            {
                bad = true;
                yield return MxAddressLookupError.For(host.Host, $"address lookup failed: {addresses.ErrorMessage ?? addresses.Error.ToString()}");
            }
            else if (addresses.Outcome != DnsOutcome.Records)
            {
                bad = true;
                yield return MxUnresolvable.For(host.Host, $"MX host {host.Host} has no A or AAAA record ({addresses.Describe()})");
            }
        }
        if (!bad && nulls == 0)
        {
            yield return MxOk.For(domain, "MX: " + string.Join(", ", observation.Hosts.Select(h =>
                $"{h.Preference} {h.Host} [{string.Join(", ", h.Addresses.Records)}]")));
        }
    }
}
