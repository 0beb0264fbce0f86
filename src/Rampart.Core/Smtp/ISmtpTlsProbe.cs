using System.Net;

namespace Rampart.Core.Smtp;

/// <summary>
/// Asks one SMTP server for STARTTLS and records what it presents (<see cref="SmtpTlsProbe"/> is the real one). Outcomes
/// are values; only cancellation by the caller throws. Lets the auditor be tested with hand-written fakes.
/// </summary>
public interface ISmtpTlsProbe
{
    /// <summary>Probes <paramref name="endpoint"/>, sending <paramref name="serverName"/> as SNI (none when null).</summary>
    Task<SmtpTlsProbeResult> ProbeAsync(IPEndPoint endpoint, string? serverName, CancellationToken cancellationToken = default);
}
