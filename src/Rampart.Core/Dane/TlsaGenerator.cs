using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Security.Cryptography.X509Certificates;

namespace Rampart.Core.Dane;

/// <summary>
/// The records to publish for a certificate chain (leaf first), as <c>rampart tlsa generate</c> prints them: DANE-EE (3)
/// pins the leaf, DANE-TA (2) the top certificate of the chain, which must be a CA (a DANE-TA record for the leaf itself
/// never authenticates, RFC 7672 §3.1.2); the association data comes from <see cref="TlsaAssociation"/>.
/// </summary>
public static class TlsaGenerator
{
    /// <summary>The record of <paramref name="chain"/> with these parameters, or false with one sentence saying why there is none.</summary>
    public static bool TryCreate(IReadOnlyList<X509Certificate2> chain, TlsaUsage usage, TlsaSelector selector, TlsaMatchingType matchingType,
        [NotNullWhen(true)] out TlsaRecord? record, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(chain);
        record = null;
        if (chain.Count == 0)
        {
            error = "no certificate";
            return false;
        }
        if (usage is not (TlsaUsage.DaneEe or TlsaUsage.DaneTa))
        {
            error = $"usage {(byte)usage} is not used for SMTP; use 3 (DANE-EE) or 2 (DANE-TA)";
            return false;
        }
        var target = chain[0];
        if (usage == TlsaUsage.DaneTa)
        {
            if (chain.Count < 2 || !IsCa(chain[^1]))
            {
                error = "a DANE-TA record needs the issuing CA certificate: give the chain (fullchain.pem), leaf first";
                return false;
            }
            target = chain[^1];
        }
        record = TlsaAssociation.For(target, usage, selector, matchingType);
        error = null;
        return true;
    }

    /// <summary>A zone-file line: <c>_PORT._tcp.HOST. IN TLSA U S M HEX</c> (HOST is the TLSA base domain, without the trailing dot).</summary>
    public static string ZoneLine(string host, int port, TlsaRecord record)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(record);
        return $"{DaneNames.TlsaOwner(host.TrimEnd('.'), port)}. IN TLSA {record}";
    }

    /// <summary>True when the certificate's basic constraints say it is a CA.</summary>
    public static bool IsCa(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return certificate.Extensions.OfType<X509BasicConstraintsExtension>().FirstOrDefault() is { CertificateAuthority: true };
    }
}
