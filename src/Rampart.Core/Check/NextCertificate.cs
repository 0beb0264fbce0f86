using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography.X509Certificates;
using Rampart.Core.Dane;
using Rampart.Core.IO;

namespace Rampart.Core.Check;

/// <summary>
/// A certificate about to be deployed on an MX host (<c>rampart check --next-cert</c>): its chain, leaf first, and where
/// it was read from. The rotation check asks whether the published TLSA records already cover it.
/// </summary>
public sealed record NextCertificate(string Origin, IReadOnlyList<X509Certificate2> Chain)
{
    private const long MaxFileBytes = 1 << 20;

    /// <summary>The certificate that will be presented (the first of the chain).</summary>
    public X509Certificate2 Leaf => Chain[0];

    /// <summary>
    /// Reads a next certificate from a PEM (or DER) certificate or chain file, leaf first, or from a directory laid out
    /// like certbot's <c>live/NAME/</c>: <c>fullchain.pem</c>, else <c>cert.pem</c> followed by <c>chain.pem</c> when
    /// present (keys in the directory are never read). False with one sentence naming the path and the rule.
    /// </summary>
    public static bool TryLoad(string path, [NotNullWhen(true)] out NextCertificate? certificate, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(path);
        certificate = null;
        if (string.IsNullOrWhiteSpace(path))
        {
            error = "'': empty path";
            return false;
        }
        try
        {
            if (Directory.Exists(path))
            {
                return TryLoadDirectory(path, out certificate, out error);
            }
            if (!File.Exists(path))
            {
                error = $"{path}: no such file or directory";
                return false;
            }
            if (!TryReadChain(path, out var chain, out error))
            {
                return false;
            }
            return Validate(path, chain, out certificate, out error);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            error = $"{path}: cannot read it: {ex.Message}";
            return false;
        }
    }

    private static bool TryLoadDirectory(string directory, [NotNullWhen(true)] out NextCertificate? certificate, [NotNullWhen(false)] out string? error)
    {
        certificate = null;
        var fullchain = Path.Combine(directory, "fullchain.pem");
        var cert = Path.Combine(directory, "cert.pem");
        var chainFile = Path.Combine(directory, "chain.pem");
        List<X509Certificate2> chain;
        string origin;
        if (File.Exists(fullchain))
        {
            origin = fullchain;
            if (!TryReadChain(fullchain, out chain, out error))
            {
                return false;
            }
        }
        else if (File.Exists(cert))
        {
            origin = cert;
            if (!TryReadChain(cert, out chain, out error))
            {
                return false;
            }
            if (File.Exists(chainFile))
            {
                if (!TryReadChain(chainFile, out var issuers, out error))
                {
                    return false;
                }
                chain.AddRange(issuers);
                origin = $"{cert} + chain.pem";
            }
        }
        else
        {
            error = $"{directory}: a directory without fullchain.pem or cert.pem (give a certificate file, or certbot's live/NAME/ directory)";
            return false;
        }
        return Validate(origin, chain, out certificate, out error);
    }

    private static bool TryReadChain(string file, out List<X509Certificate2> chain, [NotNullWhen(false)] out string? error)
    {
        chain = [];
        if (UserFile.WhyNotReadable(file, MaxFileBytes) is { } unreadable)
        {
            error = $"{file}: {unreadable}";
            return false;
        }
        if (!PemBundle.TryRead(File.ReadAllBytes(file), out var bundle, out var pemError))
        {
            error = $"{file}: {pemError}";
            return false;
        }
        if (bundle.Certificates.Count == 0)
        {
            error = $"{file}: holds a key but no certificate (give the certificate or chain file, leaf first)";
            return false;
        }
        chain = [.. bundle.Certificates];
        error = null;
        return true;
    }

    private static bool Validate(string origin, List<X509Certificate2> chain, [NotNullWhen(true)] out NextCertificate? certificate, [NotNullWhen(false)] out string? error)
    {
        certificate = null;
        if (TlsaGenerator.IsCa(chain[0]) && chain.Skip(1).Any(c => !TlsaGenerator.IsCa(c)))
        {
            error = $"{origin}: the first certificate is a CA certificate ('{chain[0].Subject}'): give the chain leaf first, as the server sends it";
            return false;
        }
        certificate = new NextCertificate(origin, chain);
        error = null;
        return true;
    }

    /// <summary>The leaf's subject and expiry, for messages.</summary>
    public string Describe() =>
        $"{Origin} ('{Leaf.Subject}', expires {Leaf.NotAfter.ToUniversalTime():yyyy-MM-dd})";
}
