using System.Security.Cryptography.X509Certificates;
using Rampart.Core.Dane;
using static Rampart.Core.Check.CheckCatalog;

namespace Rampart.Core.Check;

/// <summary>The pre-publish rotation procedure (RFC 7671 §8.1), as the findings' detail and docs/dane.md#rotating-a-certificate give it.</summary>
public static class RotationRunbook
{
    public const string Steps =
        "Rotate in this order: (1) publish the next certificate's TLSA record beside the current one; (2) wait until every cache " +
        "has it: at least the TLSA TTL, plus your signing and secondary-server delays; (3) deploy the next certificate and reload the MTA; " +
        "(4) remove the old record once rampart check shows dane.tlsa.match for the new certificate (docs/dane.md#rotating-a-certificate).";

    /// <summary>
    /// Zone-file lines that make <paramref name="chain"/> match, in the styles the host already publishes: for each usage and
    /// selector among its usable records, the strongest matching type (the one senders keep after digest agility, RFC 7671 §9).
    /// DANE-EE pins the leaf, DANE-TA the top CA certificate of the chain (as <c>rampart tlsa generate</c> does); a DANE-TA
    /// style without the CA certificate in the chain falls back to <c>3 1 1</c>.
    /// </summary>
    public static IReadOnlyList<string> RecordsToPublish(DaneHostResult dane, IReadOnlyList<X509Certificate2> chain, int port)
    {
        ArgumentNullException.ThrowIfNull(dane);
        ArgumentNullException.ThrowIfNull(chain);
        var host = dane.TlsaBaseDomain ?? dane.Host;
        var styles = dane.UsableRecords
            .GroupBy(r => (r.Usage, r.Selector))
            .Select(g => (g.Key.Usage, g.Key.Selector, MatchingType: g.Max(r => r.MatchingType)))
            .OrderByDescending(s => s.Usage)
            .ThenByDescending(s => s.Selector)
            .ToList();
        var lines = new List<string>();
        foreach (var (usage, selector, matching) in styles)
        {
            if (TlsaGenerator.TryCreate(chain, usage, selector, matching, out var record, out _))
            {
                lines.Add(TlsaGenerator.ZoneLine(host, port, record));
            }
        }
        if (lines.Count == 0 && TlsaGenerator.TryCreate(chain, TlsaUsage.DaneEe, TlsaSelector.Spki, TlsaMatchingType.Sha256, out var fallback, out _))
        {
            lines.Add(TlsaGenerator.ZoneLine(host, port, fallback));
        }
        return lines.Distinct(StringComparer.Ordinal).ToList();
    }
}

/// <summary>
/// Rotation safety (<c>rampart check --next-cert</c>, RFC 7671 §8.1): for every DANE host, do the published TLSA records
/// already match the certificate about to be deployed, judged by the same <see cref="DaneMatcher"/> senders' rules use
/// (3 1 1, 3 0 1, 2 x x against its chain, digest agility, DANE-TA names and dates)? If not, which record to publish first.
/// A next certificate applies to the hosts its names cover; when it names none of them, to every DANE host.
/// </summary>
public sealed class RotationCheck : IDomainCheck
{
    public IEnumerable<CheckFinding> Evaluate(DomainObservation observation, CheckSettings settings)
    {
        ArgumentNullException.ThrowIfNull(observation);
        ArgumentNullException.ThrowIfNull(settings);
        if (settings.NextCertificates.Count == 0 || observation.IsNullMx || observation.Mx.Outcome != Dns.DnsOutcome.Records)
        {
            yield break;
        }
        var daneHosts = observation.Hosts.Where(h => h.HasUsableTlsa).ToList();
        if (daneHosts.Count == 0)
        {
            yield return DaneRotationNotApplicable.For(observation.Domain,
                $"no MX host has usable, DNSSEC-validated TLSA records, so no record needs to change before deploying {Names(settings.NextCertificates)}");
            yield break;
        }
        foreach (var host in daneHosts)
        {
            var dane = host.Dane!;
            var baseDomain = dane.TlsaBaseDomain ?? host.Host;
            string[] references = baseDomain.Equals(host.Host, StringComparison.OrdinalIgnoreCase) ? [baseDomain] : [baseDomain, host.Host];
            var named = settings.NextCertificates.Where(c => DaneNames.FirstMatch(DaneNames.CertificateNames(c.Leaf), references) is not null).ToList();
            var applicable = named.Count > 0 ? named : settings.NextCertificates;
            var unnamed = named.Count == 0 ? $" (it names neither {string.Join(" nor ", references)}; checked anyway)" : "";
            var tlsaName = DaneNames.TlsaOwner(baseDomain, settings.Port);
            foreach (var next in applicable)
            {
                var match = DaneMatcher.Match(dane.Records, next.Chain, new DaneMatchOptions(references, observation.Time));
                if (match.Matched)
                {
                    yield return DaneRotationReady.For(host.Host,
                        $"the published TLSA at {tlsaName} already covers the next certificate {next.Describe()}{unnamed}: {match.Reason}; " +
                        "it can be deployed now (then remove records that only matched the old certificate)");
                    continue;
                }
                var lines = RotationRunbook.RecordsToPublish(dane, next.Chain, settings.Port);
                var publish = string.Join(" and ", lines);
                yield return DaneRotationNextNotCovered.ForWithRecords(host.Host,
                    $"the published TLSA at {tlsaName} ({string.Join(", ", dane.UsableRecords.Select(Short))}) does not cover the next certificate " +
                    $"{next.Describe()}{unnamed}: deploying it now would make DANE senders defer; add {publish} ({match.Reason})",
                    lines);
            }
        }
    }

    private static string Names(IReadOnlyList<NextCertificate> certificates) => string.Join(", ", certificates.Select(c => c.Describe()));

    private static string Short(TlsaRecord r)
    {
        var text = r.ToString();
        return text.Length > 24 ? text[..24] + "…" : text;
    }
}
