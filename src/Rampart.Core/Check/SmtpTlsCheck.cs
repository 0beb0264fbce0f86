using System.Security.Authentication;
using Rampart.Core.Smtp;
using Rampart.Core.Tls;
using static Rampart.Core.Check.CheckCatalog;

namespace Rampart.Core.Check;

/// <summary>
/// Per MX address: reachable, STARTTLS offered, handshake done, TLS 1.2 or newer (RFC 8996), and the certificate's
/// WebPKI status for the MX host name with its days left. Certificate findings are informational when DANE
/// authenticates the address: DANE senders do not look at WebPKI (RFC 7672 §3.1.1).
/// </summary>
public sealed class SmtpTlsCheck : IDomainCheck
{
    public IEnumerable<CheckFinding> Evaluate(DomainObservation observation, CheckSettings settings)
    {
        ArgumentNullException.ThrowIfNull(observation);
        ArgumentNullException.ThrowIfNull(settings);
        foreach (var host in observation.Hosts)
        {
            foreach (var address in host.Probes)
            {
                foreach (var finding in EvaluateAddress(observation, host, address, settings))
                {
                    yield return finding;
                }
            }
        }
    }

    private static IEnumerable<CheckFinding> EvaluateAddress(DomainObservation observation, MxHostObservation host, AddressObservation address, CheckSettings settings)
    {
        var subject = Subjects.Address(host, address);
        var probe = address.Probe;
        if (!probe.TlsEstablished)
        {
            yield return probe switch
            {
                { Error: null, StartTlsOffered: false } => SmtpStartTlsMissing.For(subject,
                    $"the server does not offer STARTTLS (EHLO keywords: {Keywords(probe)}): mail to it travels in clear"),
                { ReachedStage: SmtpProbeStage.Connect } => SmtpUnreachable.For(subject, $"cannot connect to {probe.Endpoint}: {probe.Error}"),
                { ReachedStage: SmtpProbeStage.Greeting or SmtpProbeStage.Ehlo } => SmtpError.For(subject, $"SMTP failed before STARTTLS: {probe.Error}"),
                _ => SmtpTlsFailed.For(subject, $"STARTTLS offered but no TLS session: {probe.Error}"),
            };
            yield break;
        }
        var protocol = ProtocolName(probe.Protocol);
        var old = probe.Protocol is { } negotiated && negotiated is not (SslProtocols.Tls12 or SslProtocols.Tls13 or SslProtocols.None);
        yield return old
            ? SmtpTlsVersionOld.For(subject, $"TLS established with {protocol}; TLS 1.0 and 1.1 are deprecated")
            : SmtpStartTls.For(subject, $"STARTTLS: {protocol}, {probe.CipherSuite}");

        var dane = address.DaneMatch?.Matched == true;
        var demoted = dane ? CheckSeverity.Info : (CheckSeverity?)null;
        var daneNote = dane ? " (informational: DANE authenticates this host)" : "";
        var verdict = address.WebPki;
        if (verdict is null)
        {
            yield break;
        }
        if (!verdict.IsValid)
        {
            var definition = verdict.Failure switch
            {
                WebPkiFailure.HostMismatch => CertNameMismatch,
                WebPkiFailure.Expired => CertExpired,
                _ => CertUntrusted,
            };
            yield return definition.For(subject, $"WebPKI check for {host.Host}: {verdict.Message}{daneNote}", demoted);
        }
        else
        {
            yield return CertValid.For(subject, $"{verdict.Message}; {DaysLeft(observation, address)} days left");
        }
        if (probe.PresentedChain.Count > 0 && verdict.Failure != WebPkiFailure.Expired)
        {
            var days = DaysLeft(observation, address);
            if (days < settings.CertificateWarningDays)
            {
                yield return CertExpiring.For(subject,
                    $"the certificate expires in {days} days, at {probe.PresentedChain[0].NotAfter.ToUniversalTime():u} (warning threshold {settings.CertificateWarningDays} days){daneNote}",
                    demoted);
            }
        }
    }

    private static int DaysLeft(DomainObservation observation, AddressObservation address) =>
        address.Probe.PresentedChain.Count == 0
            ? 0
            : (int)Math.Floor((new DateTimeOffset(address.Probe.PresentedChain[0].NotAfter.ToUniversalTime()) - observation.Time).TotalDays);

    private static string Keywords(SmtpTlsProbeResult probe) => probe.EhloKeywords.Count == 0 ? "none" : string.Join(" ", probe.EhloKeywords);

    internal static string ProtocolName(SslProtocols? protocol) => protocol switch
    {
        SslProtocols.Tls13 => "TLS 1.3",
        SslProtocols.Tls12 => "TLS 1.2",
        null => "unknown protocol",
        _ => protocol.Value.ToString(),
    };
}
