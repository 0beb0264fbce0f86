using System.Collections.Concurrent;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Rampart.Lab;

/// <summary>
/// Issues leaf certificates from the lab intermediate CA (made by lab/up with openssl under
/// STATE/pki) on demand, one per (host, kind), cached for the life of the process.
/// </summary>
internal sealed class LabPki
{
    /// <summary>The name a <see cref="CertKind.WrongName"/> certificate is issued for.</summary>
    public const string WrongName = "mta-sts.not-this-domain.test";

    private readonly X509Certificate2 _intermediate;
    private readonly ECDsa _intermediateKey;
    private readonly ConcurrentDictionary<(string Host, CertKind Kind), Lazy<SslStreamCertificateContext>> _cache = new();

    private LabPki(X509Certificate2 intermediate, ECDsa intermediateKey)
    {
        _intermediate = intermediate;
        _intermediateKey = intermediateKey;
    }

    public static LabPki Load(string pkiDir)
    {
        var certPath = Path.Combine(pkiDir, "intermediate.crt");
        var keyPath = Path.Combine(pkiDir, "intermediate.key");
        if (!File.Exists(certPath) || !File.Exists(keyPath))
        {
            throw new LabException($"lab CA not found in {pkiDir} (run lab/up)");
        }

        var key = ECDsa.Create();
        key.ImportFromPem(File.ReadAllText(keyPath));
        return new LabPki(X509Certificate2.CreateFromPem(File.ReadAllText(certPath)), key);
    }

    public SslStreamCertificateContext Get(string host, CertKind kind) =>
        _cache.GetOrAdd((host, kind), k => new Lazy<SslStreamCertificateContext>(() => Create(k.Host, k.Kind))).Value;

    private SslStreamCertificateContext Create(string host, CertKind kind)
    {
        var now = DateTimeOffset.UtcNow;
        X509Certificate2 leaf = kind switch
        {
            CertKind.Lab => Issue(host, now.AddHours(-1), now.AddDays(90), selfSigned: false),
            CertKind.SelfSigned => Issue(host, now.AddHours(-1), now.AddDays(90), selfSigned: true),
            CertKind.WrongName => Issue(WrongName, now.AddHours(-1), now.AddDays(90), selfSigned: false),
            CertKind.Expired => Issue(host, now.AddDays(-90), now.AddDays(-30), selfSigned: false),
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
        var chain = kind == CertKind.SelfSigned ? [] : new X509Certificate2Collection(_intermediate);
        return SslStreamCertificateContext.Create(leaf, chain, offline: true);
    }

    private X509Certificate2 Issue(string name, DateTimeOffset notBefore, DateTimeOffset notAfter, bool selfSigned) =>
        Issue(ECDsa.Create(ECCurve.NamedCurves.nistP256), name, notBefore, notAfter, selfSigned);

    /// <summary>The lab intermediate CA certificate (what MX hosts send after their leaf).</summary>
    public X509Certificate2 Intermediate => _intermediate;

    /// <summary>A leaf for <paramref name="name"/> (SAN and CN) with the given key, from the lab intermediate or self-signed.</summary>
    public X509Certificate2 Issue(ECDsa key, string name, DateTimeOffset notBefore, DateTimeOffset notAfter, bool selfSigned)
    {
        var req = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        req.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        req.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(name);
        req.CertificateExtensions.Add(san.Build());
        req.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(req.PublicKey, false));
        if (selfSigned)
        {
            return req.CreateSelfSigned(notBefore, notAfter);
        }

        req.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(_intermediate, true, false));
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f;
        // The generator overload does not clamp dates to the issuer's validity (needed for `expired`);
        // lab/up back-dates the lab CA so even the expired leaf chains to a CA valid at that time.
        using var cert = req.Create(_intermediate.SubjectName, X509SignatureGenerator.CreateForECDsa(_intermediateKey), notBefore, notAfter, serial);
        return cert.CopyWithPrivateKey(key);
    }
}
