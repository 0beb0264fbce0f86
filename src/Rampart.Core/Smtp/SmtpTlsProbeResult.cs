using System.Net;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace Rampart.Core.Smtp;

/// <summary>How far an SMTP STARTTLS probe got before it stopped.</summary>
public enum SmtpProbeStage
{
    Connect,
    Greeting,
    Ehlo,
    StartTls,
    TlsHandshake,
    /// <summary>TLS established; the probe then quit politely.</summary>
    Done,
}

/// <summary>
/// What an SMTP server presented when asked for STARTTLS (RFC 3207): banner, EHLO capabilities, the TLS version
/// and cipher, and the certificate chain it sent (leaf first, copied out of the handshake). The probe never judges
/// the certificate: DANE and WebPKI validation are done on <see cref="PresentedChain"/> by their own code.
/// </summary>
/// <remarks>
/// <see cref="ReachedStage"/> is the stage the probe was in when it stopped. <see cref="Error"/> is null when the probe
/// ran to its natural end: TLS established (<see cref="SmtpProbeStage.Done"/>), or the server did not offer STARTTLS
/// (<see cref="SmtpProbeStage.Ehlo"/> with <see cref="StartTlsOffered"/> false, also after a HELO fallback). Otherwise it
/// names the stage and what the server sent or failed to send. <see cref="Banner"/> is the greeting's text without the
/// reply codes, one line per line. <see cref="EhloKeywords"/> are the extension keywords, upper-cased, without their
/// parameters. <see cref="PresentedChain"/> is what the server sent, leaf first, then in path order; the caller owns
/// these copies.
/// </remarks>
public sealed record SmtpTlsProbeResult(
    IPEndPoint Endpoint,
    SmtpProbeStage ReachedStage,
    bool StartTlsOffered,
    string? Banner,
    IReadOnlyList<string> EhloKeywords,
    SslProtocols? Protocol,
    string? CipherSuite,
    IReadOnlyList<X509Certificate2> PresentedChain,
    string? Error,
    TimeSpan Elapsed)
{
    public bool TlsEstablished => ReachedStage == SmtpProbeStage.Done;
}
