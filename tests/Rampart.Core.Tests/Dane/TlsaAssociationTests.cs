using System.Diagnostics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Rampart.Core.Dane;
using Rampart.Core.Tests.Support;

namespace Rampart.Core.Tests.Dane;

/// <summary>TLSA association data agrees with what openssl computes for the same certificate (the way operators check it).</summary>
public sealed class TlsaAssociationTests : IDisposable
{
    private static readonly TestPki s_pki = new("Assoc");
    private readonly string _dir = Directory.CreateTempSubdirectory("rampart-tlsa").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string WritePem(X509Certificate2 cert)
    {
        var path = Path.Combine(_dir, $"cert-{Guid.NewGuid():N}.pem");
        File.WriteAllText(path, cert.ExportCertificatePem());
        return path;
    }

    /// <summary>Runs a bash pipeline and returns the hex digest openssl dgst prints ("SHA2-256(stdin)= 0123…").</summary>
    private static string OpensslDigest(string pipeline)
    {
        var info = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add("-o");
        info.ArgumentList.Add("pipefail");
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add(pipeline);
        using var process = Process.Start(info) ?? throw new InvalidOperationException("cannot start bash");
        var stdout = process.StandardOutput.ReadToEnd();
        var stderr = process.StandardError.ReadToEnd();
        Assert.True(process.WaitForExit(30_000), "openssl did not finish");
        Assert.True(process.ExitCode == 0, $"openssl failed (package openssl): {stderr}");
        var digest = stdout.Trim().Split("= ")[^1];
        Assert.Matches("^[0-9a-f]{64,128}$", digest);
        return digest.ToUpperInvariant();
    }

    public static TheoryData<string> Keys => ["ec", "rsa"];

    private static X509Certificate2 Leaf(string key) =>
        key == "rsa" ? TestPki.Issue("CN=mx.example.com", s_pki.Intermediate, dnsNames: ["mx.example.com"], rsa: true) : s_pki.Leaf("mx.example.com");

    [Theory]
    [MemberData(nameof(Keys))]
    public void For_SpkiSha256_EqualsOpenssl(string key)
    {
        var leaf = Leaf(key);
        var file = WritePem(leaf);

        var record = TlsaAssociation.For(leaf, TlsaUsage.DaneEe, TlsaSelector.Spki, TlsaMatchingType.Sha256);

        var expected = OpensslDigest($"openssl x509 -pubkey -noout -in '{file}' | openssl pkey -pubin -outform DER | openssl dgst -sha256");
        Assert.Equal($"3 1 1 {expected}", record.ToString());
    }

    [Theory]
    [MemberData(nameof(Keys))]
    public void For_CertSha512_EqualsOpenssl(string key)
    {
        var leaf = Leaf(key);
        var file = WritePem(leaf);

        var record = TlsaAssociation.For(leaf, TlsaUsage.DaneEe, TlsaSelector.Cert, TlsaMatchingType.Sha512);

        var expected = OpensslDigest($"openssl x509 -outform DER -in '{file}' | openssl dgst -sha512");
        Assert.Equal($"3 0 2 {expected}", record.ToString());
    }

    [Fact]
    public void For_SpkiFull_DigestEqualsOpensslSpkiSha512()
    {
        var file = WritePem(s_pki.Intermediate);

        var record = TlsaAssociation.For(s_pki.Intermediate, TlsaUsage.DaneTa, TlsaSelector.Spki, TlsaMatchingType.Full);

        var expected = OpensslDigest($"openssl x509 -pubkey -noout -in '{file}' | openssl pkey -pubin -outform DER | openssl dgst -sha512");
        Assert.Equal(expected, Convert.ToHexString(SHA512.HashData(record.Data)));
    }

    [Fact]
    public void For_CertFull_IsTheDer()
    {
        var record = TlsaAssociation.For(s_pki.Root, TlsaUsage.DaneTa, TlsaSelector.Cert, TlsaMatchingType.Full);

        Assert.Equal(s_pki.Root.RawData, record.Data);
        Assert.True(record.IsUsable);
    }

    [Fact]
    public void SubjectPublicKeyInfo_Certificate_EqualsRuntimeExport()
    {
        Assert.Equal(s_pki.Root.PublicKey.ExportSubjectPublicKeyInfo(), TlsaAssociation.SubjectPublicKeyInfo(s_pki.Root));
    }

    [Fact]
    public void ForPublicKey_PemPublicKey_EqualsCertificateRecord()
    {
        var leaf = s_pki.Leaf("mx.example.com");
        var pem = leaf.GetECDsaPublicKey()!.ExportSubjectPublicKeyInfoPem();
        Assert.True(PemBundle.TryRead(Encoding.ASCII.GetBytes(pem), out var bundle, out var error), error);

        var record = TlsaAssociation.ForPublicKey(bundle.PublicKeys.Single(), TlsaUsage.DaneEe, TlsaMatchingType.Sha256);

        Assert.Equal(TlsaAssociation.For(leaf, TlsaUsage.DaneEe, TlsaSelector.Spki, TlsaMatchingType.Sha256), record);
    }

    public static TheoryData<string> PrivateKeyFormats => ["ec-pkcs8", "ec-sec1", "rsa-pkcs8", "rsa-pkcs1"];

    [Theory]
    [MemberData(nameof(PrivateKeyFormats))]
    public void ForPublicKey_PrivateKeyPem_EqualsCertificateRecord(string format)
    {
        var rsa = format.StartsWith("rsa", StringComparison.Ordinal);
        var leaf = TestPki.Issue("CN=mx.example.com", s_pki.Intermediate, dnsNames: ["mx.example.com"], rsa: rsa);
        var pem = format switch
        {
            "ec-pkcs8" => leaf.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem(),
            "ec-sec1" => leaf.GetECDsaPrivateKey()!.ExportECPrivateKeyPem(),
            "rsa-pkcs8" => leaf.GetRSAPrivateKey()!.ExportPkcs8PrivateKeyPem(),
            _ => leaf.GetRSAPrivateKey()!.ExportRSAPrivateKeyPem(),
        };
        Assert.True(PemBundle.TryRead(Encoding.ASCII.GetBytes(pem), out var bundle, out var error), error);

        var record = TlsaAssociation.ForPublicKey(bundle.PublicKeys.Single(), TlsaUsage.DaneEe, TlsaMatchingType.Sha512);

        Assert.Equal(TlsaAssociation.For(leaf, TlsaUsage.DaneEe, TlsaSelector.Spki, TlsaMatchingType.Sha512), record);
    }

    [Fact]
    public void Matches_RecordOfOtherCertificate_False()
    {
        var record = TlsaAssociation.For(s_pki.Root, TlsaUsage.DaneEe, TlsaSelector.Spki, TlsaMatchingType.Sha256);

        Assert.True(TlsaAssociation.Matches(record, s_pki.Root));
        Assert.False(TlsaAssociation.Matches(record, s_pki.Intermediate));
    }

    [Fact]
    public void Select_UnknownSelector_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => TlsaAssociation.Select(s_pki.Root, (TlsaSelector)2));
    }
}
