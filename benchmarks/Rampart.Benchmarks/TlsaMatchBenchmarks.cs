using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using BenchmarkDotNet.Attributes;
using Rampart.Core.Dane;

namespace Rampart.Benchmarks;

/// <summary>
/// <see cref="DaneMatcher.Match"/>: what an MX connection pays, after the handshake, to check the presented chain
/// against the host's TLSA RRset. The chains are made once (CertificateRequest): an ECDSA P-256 leaf for
/// <c>mx.example.test</c> signed by an intermediate signed by a root, and the same shape in RSA-2048; the server
/// "presents" leaf + intermediate, as the lab's MX receivers do. <see cref="GlobalSetup"/> checks that every case
/// ends the way its name says (matched at the expected depth, or the miss), so a broken case cannot time a shortcut.
/// </summary>
[MemoryDiagnoser]
public class TlsaMatchBenchmarks
{
    private static readonly string[] s_referenceNames = ["mx.example.test", "example.test"];

    private X509Certificate2[] _ecChain = null!;
    private X509Certificate2[] _rsaChain = null!;
    private TlsaRecord[] _ee311 = null!;
    private TlsaRecord[] _ee301 = null!;
    private TlsaRecord[] _ee312 = null!;
    private TlsaRecord[] _ta211 = null!;
    private TlsaRecord[] _ta211Rsa = null!;
    private TlsaRecord[] _miss311x3 = null!;
    private DaneMatchOptions _options = null!;

    [GlobalSetup]
    public void GlobalSetup()
    {
        var now = DateTimeOffset.UtcNow;
        _options = new DaneMatchOptions(s_referenceNames, now);
        _ecChain = Chain(rsa: false, now);
        _rsaChain = Chain(rsa: true, now);
        var leaf = _ecChain[0];
        _ee311 = [TlsaAssociation.For(leaf, TlsaUsage.DaneEe, TlsaSelector.Spki, TlsaMatchingType.Sha256)];
        _ee301 = [TlsaAssociation.For(leaf, TlsaUsage.DaneEe, TlsaSelector.Cert, TlsaMatchingType.Sha256)];
        _ee312 = [TlsaAssociation.For(leaf, TlsaUsage.DaneEe, TlsaSelector.Spki, TlsaMatchingType.Sha512)];
        _ta211 = [TlsaAssociation.For(_ecChain[1], TlsaUsage.DaneTa, TlsaSelector.Spki, TlsaMatchingType.Sha256)];
        _ta211Rsa = [TlsaAssociation.For(_rsaChain[1], TlsaUsage.DaneTa, TlsaSelector.Spki, TlsaMatchingType.Sha256)];
        // Three 3 1 1 records for keys this server does not have (e.g. after a botched key rollover).
        _miss311x3 = [.. Enumerable.Range(0, 3).Select(_ => new TlsaRecord(TlsaUsage.DaneEe, TlsaSelector.Spki, TlsaMatchingType.Sha256, RandomNumberGenerator.GetBytes(32)))];

        Expect(nameof(Ee311), Ee311(), depth: 0);
        Expect(nameof(Ee301), Ee301(), depth: 0);
        Expect(nameof(Ee312), Ee312(), depth: 0);
        Expect(nameof(Ta211), Ta211(), depth: 1);
        Expect(nameof(Ta211Rsa), Ta211Rsa(), depth: 1);
        var miss = Miss311x3();
        if (miss.Matched || miss.Failure != DaneFailure.NoMatch || miss.Usable != 3)
        {
            throw new InvalidOperationException($"{nameof(Miss311x3)} should be a NoMatch over 3 usable records: {miss.Reason}");
        }
        if (!ComputeSpkiSha256().AsSpan().SequenceEqual(_ee311[0].Data))
        {
            throw new InvalidOperationException($"{nameof(ComputeSpkiSha256)} disagrees with the 3 1 1 record");
        }
    }

    [GlobalCleanup]
    public void GlobalCleanup()
    {
        foreach (var certificate in _ecChain.Concat(_rsaChain))
        {
            certificate.Dispose();
        }
    }

    /// <summary>DANE-EE, SHA-256 of the leaf's SubjectPublicKeyInfo: the common record (RFC 7672 §3.1.1).</summary>
    [Benchmark(Baseline = true)]
    public DaneMatchResult Ee311() => DaneMatcher.Match(_ee311, _ecChain, _options);

    /// <summary>DANE-EE, SHA-256 of the whole leaf certificate.</summary>
    [Benchmark]
    public DaneMatchResult Ee301() => DaneMatcher.Match(_ee301, _ecChain, _options);

    /// <summary>DANE-EE, SHA-512 of the leaf's key.</summary>
    [Benchmark]
    public DaneMatchResult Ee312() => DaneMatcher.Match(_ee312, _ecChain, _options);

    /// <summary>DANE-TA on the intermediate's key: match at depth 1, verify the leaf's signature and dates, check its names.</summary>
    [Benchmark]
    public DaneMatchResult Ta211() => DaneMatcher.Match(_ta211, _ecChain, _options);

    /// <summary>The same with RSA-2048 keys throughout.</summary>
    [Benchmark]
    public DaneMatchResult Ta211Rsa() => DaneMatcher.Match(_ta211Rsa, _rsaChain, _options);

    /// <summary>Three 3 1 1 records, none for this key: every record is tried against every certificate and described.</summary>
    [Benchmark]
    public DaneMatchResult Miss311x3() => DaneMatcher.Match(_miss311x3, _ecChain, _options);

    /// <summary>The association data of a 3 1 1 record: SHA-256 over the leaf's SubjectPublicKeyInfo.</summary>
    [Benchmark]
    public byte[] ComputeSpkiSha256() => TlsaAssociation.Compute(_ecChain[0], TlsaSelector.Spki, TlsaMatchingType.Sha256);

    private static void Expect(string name, DaneMatchResult result, int depth)
    {
        if (!result.Matched || result.Depth != depth)
        {
            throw new InvalidOperationException($"{name} should match at depth {depth}: {result.Reason}");
        }
    }

    /// <summary>Leaf (mx.example.test) + intermediate, as presented; the root is made and signs the intermediate but is not sent.</summary>
    private static X509Certificate2[] Chain(bool rsa, DateTimeOffset now)
    {
        using var root = Issue("CN=Bench Root", null, ca: true, rsa, now.AddDays(-30), now.AddYears(10));
        var intermediate = Issue("CN=Bench Intermediate", root, ca: true, rsa, now.AddDays(-30), now.AddYears(5));
        var leaf = Issue("CN=mx.example.test", intermediate, ca: false, rsa, now.AddDays(-1), now.AddDays(90), "mx.example.test");
        return [leaf, intermediate];
    }

    private static X509Certificate2 Issue(string subject, X509Certificate2? issuer, bool ca, bool rsa, DateTimeOffset notBefore, DateTimeOffset notAfter, string? dnsName = null)
    {
        using var ecKey = rsa ? null : ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var rsaKey = rsa ? RSA.Create(2048) : null;
        var request = rsa
            ? new CertificateRequest(subject, rsaKey!, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)
            : new CertificateRequest(subject, ecKey!, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(ca, false, 0, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        if (ca)
        {
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        }
        else
        {
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | (rsa ? X509KeyUsageFlags.KeyEncipherment : 0), true));
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
            var san = new SubjectAlternativeNameBuilder();
            san.AddDnsName(dnsName!);
            request.CertificateExtensions.Add(san.Build());
        }
        if (issuer is null)
        {
            return request.CreateSelfSigned(notBefore, notAfter);
        }
        using var certificate = request.Create(issuer, notBefore, notAfter, RandomNumberGenerator.GetBytes(12));
        return rsa ? certificate.CopyWithPrivateKey(rsaKey!) : certificate.CopyWithPrivateKey(ecKey!);
    }
}
