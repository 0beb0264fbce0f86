using System.Globalization;
using Rampart.Core.Dns;
using static Rampart.Core.Check.CheckCatalog;

namespace Rampart.Core.Check;

/// <summary>
/// DNSSEC status of the domain's MX RRset and of each MX host's addresses (AD from a trusted resolver), and RRSIG
/// expiry of the records DANE depends on (MX, A/AAAA, TLSA) within <see cref="CheckSettings.RrsigWarningDays"/>.
/// Lookup errors (bogus, SERVFAIL) are reported by the MX and DANE checks, never as "insecure".
/// </summary>
public sealed class DnssecCheck : IDomainCheck
{
    public IEnumerable<CheckFinding> Evaluate(DomainObservation observation, CheckSettings settings)
    {
        ArgumentNullException.ThrowIfNull(observation);
        ArgumentNullException.ThrowIfNull(settings);
        var domain = observation.Domain;
        var mx = observation.Mx;
        if (mx.IsLookupError || observation.IsNullMx)
        {
            yield break;
        }
        var signed = mx.IsSecure;
        yield return signed
            ? DnssecSigned.For(domain, $"the MX answer for {domain} is DNSSEC-validated ({mx.Describe()})")
            : DnssecInsecure.For(domain, $"the MX answer for {domain} is not DNSSEC-signed ({mx.Describe()}): DANE can apply only to MX hosts in signed zones");
        foreach (var host in observation.Hosts.Where(h => h.Addresses.Outcome == DnsOutcome.Records && !h.Addresses.IsSecure))
        {
            if (signed || observation.Hosts.Any(h => h.Addresses.IsSecure))
            {
                yield return DnssecHostInsecure.For(host.Host, $"the address records of {host.Host} are not DNSSEC-signed: DANE cannot apply to this host");
            }
        }
        var limit = observation.Time.AddDays(settings.RrsigWarningDays);
        var expiring = observation.MxSignatures.Concat(observation.Hosts.SelectMany(h => h.Signatures))
            .Where(s => s.Expiration <= limit)
            .GroupBy(s => (s.Owner, s.CoveredType))
            .Select(g => g.MinBy(s => s.Expiration)!);
        foreach (var signature in expiring)
        {
            var left = signature.Expiration - observation.Time;
            var when = left <= TimeSpan.Zero
                ? "has expired"
                : string.Create(CultureInfo.InvariantCulture, $"expires in {left.TotalDays:0.#} days");
            yield return DnssecRrsigExpiring.For(signature.Owner,
                $"the RRSIG over {signature.Owner} {signature.CoveredType} (signer {signature.Signer}) {when}, at {signature.Expiration.UtcDateTime:u} " +
                $"(warning threshold {settings.RrsigWarningDays} days)");
        }
    }
}
