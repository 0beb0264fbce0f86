using Rampart.Core.Dane;
using static Rampart.Core.Check.CheckCatalog;

namespace Rampart.Core.Check;

/// <summary>
/// DANE per MX host (RFC 7672): TLSA present, usable, matching the live chain at every address, ready for a rollover
/// (a current and a next record); lookup errors are errors (senders defer), never absence. A domain where only some
/// MX hosts have TLSA is flagged.
/// </summary>
public sealed class DaneCheck : IDomainCheck
{
    public IEnumerable<CheckFinding> Evaluate(DomainObservation observation, CheckSettings settings)
    {
        ArgumentNullException.ThrowIfNull(observation);
        ArgumentNullException.ThrowIfNull(settings);
        foreach (var host in observation.Hosts)
        {
            foreach (var finding in EvaluateHost(host, settings.Port))
            {
                yield return finding;
            }
        }
        var reachable = observation.Hosts.Where(h => h.Addresses.Records.Count > 0).ToList();
        var withTlsa = reachable.Where(h => h.HasUsableTlsa).ToList();
        if (withTlsa.Count > 0 && withTlsa.Count < reachable.Count)
        {
            var without = reachable.Where(h => !h.HasUsableTlsa).Select(h => h.Host);
            yield return DanePartial.For(observation.Domain,
                $"{withTlsa.Count} of {reachable.Count} MX hosts have usable TLSA records; without: {string.Join(", ", without)} " +
                "(senders use Postfix level 'dane', not 'dane-only')");
        }
    }

    private static IEnumerable<CheckFinding> EvaluateHost(MxHostObservation host, int port)
    {
        var dane = host.Dane;
        if (dane is null)
        {
            yield break;
        }
        switch (dane.Status)
        {
            case DaneHostStatus.LookupError:
                yield return DaneLookupError.For(host.Host, dane.Evidence.Message);
                yield break;
            case DaneHostStatus.NoTlsa:
                yield return DaneNone.For(host.Host, dane.Evidence.Message);
                yield break;
            case DaneHostStatus.AllUnusable:
                yield return DaneUnusable.For(host.Host, dane.Evidence.Message);
                yield break;
            case DaneHostStatus.Usable:
                break;
            default:
                yield break;
        }
        var unusable = dane.Records.Where(r => !r.IsUsable).ToList();
        if (unusable.Count > 0)
        {
            yield return DaneSomeUnusable.For(host.Host,
                $"{unusable.Count} of {dane.Records.Count} TLSA records are unusable and ignored: {string.Join("; ", unusable.Select(r => $"{Short(r)} ({r.UnusableReason})"))}");
        }
        foreach (var address in host.Probes)
        {
            var subject = Subjects.Address(host, address);
            if (address.DaneMatch is not { } match)
            {
                yield return DaneUnverified.For(subject,
                    $"TLSA published at {DaneNames.TlsaOwner(dane.TlsaBaseDomain ?? "", address.Probe.Endpoint.Port)}, but no TLS session: {address.Probe.Error ?? "STARTTLS is not offered"}");
            }
            else if (match.Matched)
            {
                yield return DaneMatch.For(subject, match.Reason);
            }
            else
            {
                // The rotated-too-early case: the records are the exact ones of the live chain; the detail is the procedure for next time.
                yield return DaneNoMatch.ForWithRecords(subject, match.Reason, RotationRunbook.RecordsToPublish(dane, address.Probe.PresentedChain, port));
            }
        }
        // Ready for a rollover: besides what the live certificate matches, there is a record that survives a change of
        // the leaf key: a DANE-TA record (the issuer stays), or a DANE-EE record that is not the current key (the next one).
        var usable = dane.UsableRecords.Distinct().ToList();
        var leaves = host.Probes.Where(p => p.Probe.PresentedChain.Count > 0).Select(p => p.Probe.PresentedChain[0]).ToList();
        var survivors = usable.Where(r => r.Usage == TlsaUsage.DaneTa || leaves.Count == 0 || !leaves.Any(l => TlsaAssociation.Matches(r, l))).ToList();
        if (survivors.Count > 0 && (usable.Count >= 2 || survivors.Any(r => r.Usage == TlsaUsage.DaneTa)))
        {
            yield return DaneRolloverReady.For(host.Host,
                $"{usable.Count} usable TLSA records ({string.Join(", ", usable.Select(Short))}); {Short(survivors[0])} still holds after a new leaf key");
        }
        else
        {
            yield return DaneRolloverNotReady.For(host.Host,
                $"{(usable.Count == 1 ? "only one usable TLSA record" : "only records of the current leaf key")} ({string.Join(", ", usable.Select(Short))}): " +
                "a new key or certificate breaks DANE until TLSA is updated and old answers expire from caches");
        }
    }

    private static string Short(TlsaRecord r)
    {
        var text = r.ToString();
        return text.Length > 24 ? text[..24] + "…" : text;
    }
}
