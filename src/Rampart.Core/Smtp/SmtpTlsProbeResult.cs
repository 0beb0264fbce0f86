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
