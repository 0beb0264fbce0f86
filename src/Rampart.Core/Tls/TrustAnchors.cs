using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Rampart.Core.IO;

namespace Rampart.Core.Tls;

/// <summary>
/// Extra CA certificates trusted beside the system store: the operator's <c>--ca-file</c> and the bundle named by
/// <c>SSL_CERT_FILE</c> (so private PKIs and the lab work without touching the system store).
/// </summary>
public sealed class TrustAnchors
{
    public static TrustAnchors SystemOnly { get; } = new([], []);

    private TrustAnchors(X509Certificate2Collection extraRoots, IReadOnlyList<string> sources)
    {
        ExtraRoots = extraRoots;
        Sources = sources;
    }

    public X509Certificate2Collection ExtraRoots { get; }

    /// <summary>The files the extra roots came from, for evidence and logs.</summary>
    public IReadOnlyList<string> Sources { get; }

    /// <summary>
    /// Loads the extra anchors: <paramref name="caFile"/> when given (a missing or unreadable file is an error the
    /// operator must see), plus <c>SSL_CERT_FILE</c> when set and readable.
    /// </summary>
    public static TrustAnchors Load(string? caFile, string? sslCertFile = null)
    {
        var roots = new X509Certificate2Collection();
        var sources = new List<string>();
        if (!string.IsNullOrEmpty(caFile))
        {
            roots.AddRange(ReadPemBundle(caFile));
            sources.Add(caFile);
        }
        sslCertFile ??= Environment.GetEnvironmentVariable("SSL_CERT_FILE");
        if (!string.IsNullOrEmpty(sslCertFile) && File.Exists(sslCertFile) && sslCertFile != caFile)
        {
            try
            {
                roots.AddRange(ReadPemBundle(sslCertFile));
                sources.Add(sslCertFile);
            }
            catch (TrustAnchorException)
            {
                // SSL_CERT_FILE is a hint shared with other programs; an unusable one leaves the system store in charge.
            }
        }
        return new TrustAnchors(roots, sources);
    }

    private static X509Certificate2Collection ReadPemBundle(string path)
    {
        var collection = new X509Certificate2Collection();
        try
        {
            collection.ImportFromPem(UserFile.ReadAllText(path, "CA file", UserFile.Limits.Pem));
        }
        catch (UserFileException ex)
        {
            throw new TrustAnchorException(ex.Message, ex);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException)
        {
            throw new TrustAnchorException($"CA file {path}: cannot be read as a PEM certificate bundle ({ex.Message})", ex);
        }
        if (collection.Count == 0)
        {
            throw new TrustAnchorException($"CA file {path}: holds no PEM certificate");
        }
        return collection;
    }
}

/// <summary>The operator named a CA file that cannot be used.</summary>
public sealed class TrustAnchorException : RampartException
{
    public TrustAnchorException(string message, Exception? inner = null) : base(message, inner) { }
}
