using System.Security.Cryptography.X509Certificates;
using Rampart.Core.MtaSts;
using Rampart.Core.Tls;
using static Rampart.Core.Check.CheckCatalog;

namespace Rampart.Core.Check;

/// <summary>
/// Rotation safety for MTA-STS (<c>rampart check --next-cert</c>, RFC 8461 §4.1): for a domain whose policy is in mode
/// testing or enforce, would an MTA-STS sender accept each next certificate on the MX hosts whose names it carries? It must
/// chain to a trusted root (the probe's trust: system store plus <c>--ca-file</c>), be valid now and not expire within
/// <see cref="CheckSettings.CertificateWarningDays"/>, and cover the host name. A next certificate naming no MX host is a
/// failure naming them. Refusals are failures under enforce and warnings under testing (senders then only report).
/// </summary>
public sealed class MtaStsRotationCheck : IDomainCheck
{
    public IEnumerable<CheckFinding> Evaluate(DomainObservation observation, CheckSettings settings)
    {
        ArgumentNullException.ThrowIfNull(observation);
        ArgumentNullException.ThrowIfNull(settings);
        if (settings.NextCertificates.Count == 0 || observation.IsNullMx || observation.Mx.Outcome != Dns.DnsOutcome.Records ||
            observation.MtaSts.Policy?.Mode is not ({ } mode and (MtaStsMode.Testing or MtaStsMode.Enforce)))
        {
            yield break;
        }
        var enforce = mode == MtaStsMode.Enforce;
        var refusal = enforce ? CheckSeverity.Failure : CheckSeverity.Warning;
        var senders = enforce ? "enforcing MTA-STS senders would refuse" : "testing MTA-STS senders would report";
        foreach (var next in settings.NextCertificates)
        {
            var verdicts = observation.NextWebPki.Where(v => ReferenceEquals(v.Certificate, next)).ToList();
            if (verdicts.Count == 0)
            {
                var names = WebPkiValidator.DnsNames(next.Leaf).ToList();
                yield return StsRotationNextWebPkiInvalid.For(observation.Domain,
                    $"name mismatch: the next certificate {next.Describe()} names [{string.Join(", ", names)}], none of the MX hosts " +
                    $"({string.Join(", ", observation.Hosts.Select(h => h.Host))}): {senders} it on each of them", refusal);
                continue;
            }
            foreach (var (_, host, verdict) in verdicts)
            {
                if (!verdict.IsValid)
                {
                    yield return StsRotationNextWebPkiInvalid.For(host,
                        $"{Reason(verdict, next.Leaf, observation.Time)}: {senders} the next certificate {next.Describe()} on {host}: {verdict.Message}{LeafAloneHint(verdict, next)}",
                        refusal);
                    continue;
                }
                var daysLeft = (int)Math.Floor((new DateTimeOffset(next.Leaf.NotAfter.ToUniversalTime()) - observation.Time).TotalDays);
                if (daysLeft < settings.CertificateWarningDays)
                {
                    yield return StsRotationNextWebPkiExpiring.For(host,
                        $"the next certificate {next.Describe()} is WebPKI-valid for {host} but expires in {daysLeft} days " +
                        $"(warning threshold {settings.CertificateWarningDays} days)");
                    continue;
                }
                yield return StsRotationNextWebPkiOk.For(host,
                    $"MTA-STS senders would accept the next certificate {next.Describe()} on {host}: {verdict.Message}; {daysLeft} days left");
            }
        }
    }

    /// <summary>A leaf given without its issuers cannot chain; senders only get what the server sends, so say what to give.</summary>
    private static string LeafAloneHint(WebPkiVerdict verdict, NextCertificate next)
    {
        var selfIssued = next.Leaf.SubjectName.RawData.AsSpan().SequenceEqual(next.Leaf.IssuerName.RawData);
        return verdict.Failure == WebPkiFailure.NotTrusted && next.Chain.Count == 1 && !selfIssued
            ? " (only the leaf was given: give the chain the server will send, leaf first, e.g. certbot's fullchain.pem or its live/NAME/ directory)"
            : "";
    }

    /// <summary>The short reason of a refusal: untrusted chain, expired, not yet valid, name mismatch.</summary>
    private static string Reason(WebPkiVerdict verdict, X509Certificate2 leaf, DateTimeOffset now) => verdict.Failure switch
    {
        WebPkiFailure.HostMismatch => "name mismatch",
        WebPkiFailure.Expired when new DateTimeOffset(leaf.NotBefore.ToUniversalTime()) > now => "not yet valid",
        WebPkiFailure.Expired when new DateTimeOffset(leaf.NotAfter.ToUniversalTime()) < now => "expired",
        WebPkiFailure.Expired => "expired (a CA certificate in its chain is outside its validity)",
        _ => "untrusted chain",
    };
}
