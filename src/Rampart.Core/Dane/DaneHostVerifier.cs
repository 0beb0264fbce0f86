using System.Net;
using Rampart.Core.Smtp;

namespace Rampart.Core.Dane;

/// <summary>One address of an MX host: what STARTTLS presented and whether the published TLSA records authenticate it.</summary>
public sealed record DaneAddressVerdict(IPAddress Address, SmtpTlsProbeResult Probe, DaneMatchResult? Match)
{
    public bool Verified => Match?.Matched == true;

    /// <summary>One sentence: the match reason, or why no match was attempted.</summary>
    public string Summary => Match?.Reason ?? Probe.Error ?? (Probe.StartTlsOffered ? "no TLS session" : "the server does not offer STARTTLS");
}

/// <summary>The live DANE check of one MX host: its DNSSEC-validated TLSA records against every address's certificate chain.</summary>
public sealed record DaneVerification(DaneHostResult Host, IReadOnlyList<DaneAddressVerdict> Addresses)
{
    public bool Verified => Host.Status == DaneHostStatus.Usable && Addresses.Count > 0 && Addresses.All(a => a.Verified);
}

/// <summary>
/// What <c>rampart tlsa verify</c> and the auditor do for an MX host (the guide's check_tlsa, done right): TLSA records
/// found per RFC 7672 §2.2, then each address probed with STARTTLS and SNI set to the TLSA base domain (§8.1), and the
/// presented chain matched against the records with the base domain and the host name as reference identifiers (§3.2.2).
/// Addresses are probed one at a time, so a host never sees more than one connection from us.
/// </summary>
public sealed class DaneHostVerifier(DaneHostLookup lookup, SmtpTlsProbe probe, TimeProvider time, int port = 25)
{
    public async Task<DaneVerification> VerifyAsync(string host, CancellationToken cancellationToken)
    {
        var found = await lookup.LookupAsync(host, cancellationToken).ConfigureAwait(false);
        if (found.Status != DaneHostStatus.Usable)
        {
            return new DaneVerification(found, []);
        }
        var baseDomain = found.TlsaBaseDomain!;
        var references = baseDomain.Equals(host, StringComparison.OrdinalIgnoreCase) ? new[] { baseDomain } : [baseDomain, host];
        var verdicts = new List<DaneAddressVerdict>();
        foreach (var address in found.Addresses)
        {
            var presented = await probe.ProbeAsync(new IPEndPoint(address, port), baseDomain, cancellationToken).ConfigureAwait(false);
            var match = presented.TlsEstablished
                ? DaneMatcher.Match(found.Records, presented.PresentedChain, new DaneMatchOptions(references, time.GetUtcNow()))
                : null;
            verdicts.Add(new DaneAddressVerdict(address, presented, match));
        }
        return new DaneVerification(found, verdicts);
    }
}
