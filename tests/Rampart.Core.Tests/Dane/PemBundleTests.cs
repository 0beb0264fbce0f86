using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Rampart.Core.Dane;
using Rampart.Core.Tests.Support;

namespace Rampart.Core.Tests.Dane;

public sealed class PemBundleTests
{
    private static readonly TestPki s_pki = new("Pem");

    private static bool Read(string text, out PemBundle? bundle, out string? error) =>
        PemBundle.TryRead(Encoding.UTF8.GetBytes(text), out bundle, out error);

    [Fact]
    public void TryRead_Chain_CertificatesInFileOrder()
    {
        var leaf = s_pki.Leaf("mx.example.com");
        var text = leaf.ExportCertificatePem() + "\n" + s_pki.Intermediate.ExportCertificatePem() + "\n" + s_pki.Root.ExportCertificatePem();

        Assert.True(Read(text, out var bundle, out var error), error);

        Assert.Equal([leaf.Thumbprint, s_pki.Intermediate.Thumbprint, s_pki.Root.Thumbprint], bundle!.Certificates.Select(c => c.Thumbprint));
        Assert.Empty(bundle.PublicKeys);
    }

    [Fact]
    public void TryRead_CertificateWithKeyAndCrl_BothKeptCrlIgnored()
    {
        var leaf = s_pki.Leaf("mx.example.com");
        var text = leaf.ExportCertificatePem() + "\n" + leaf.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem() + "\n-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n";

        Assert.True(Read(text, out var bundle, out var error), error);

        Assert.Single(bundle!.Certificates);
        Assert.Equal(TlsaAssociation.SubjectPublicKeyInfo(leaf), bundle.PublicKeys.Single());
        Assert.Equal(["X509 CRL"], bundle.IgnoredLabels);
    }

    [Fact]
    public void TryRead_Der_OneCertificate()
    {
        Assert.True(PemBundle.TryRead(s_pki.Root.RawData, out var bundle, out var error), error);

        Assert.Equal(s_pki.Root.RawData, bundle.Certificates.Single().RawData);
    }

    [Theory]
    [InlineData("", "is empty")]
    [InlineData(" \n\r\n\t", "is empty")]
    [InlineData("hello, world\n", "neither PEM")]
    [InlineData("-----BEGIN CERTIFICATE-----\nnot base64 !!!\n-----END CERTIFICATE-----\n", "no complete, well-formed PEM block")]
    [InlineData("-----BEGIN CERTIFICATE-----\nMIIB\n", "no complete, well-formed PEM block")]
    [InlineData("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "PEM block 1 (CERTIFICATE) is not a valid X.509 certificate")]
    [InlineData("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "PEM block 1 (PUBLIC KEY) is not a usable key")]
    [InlineData("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n", "encrypted private key")]
    [InlineData("-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n", "holds no certificate or key")]
    public void TryRead_BadInput_OneClearError(string text, string expected)
    {
        Assert.False(Read(text, out var bundle, out var error));

        Assert.Null(bundle);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error!);
    }

    [Fact]
    public void TryRead_RandomBytes_FalseNotThrow()
    {
        Assert.False(PemBundle.TryRead(RandomNumberGenerator.GetBytes(300), out _, out var error));
        Assert.NotEmpty(error);
    }

    [Fact]
    public void TryRead_SecondCertificateCorrupt_NamesBlock2()
    {
        var text = s_pki.Root.ExportCertificatePem() + "\n-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n";

        Assert.False(Read(text, out _, out var error));

        Assert.StartsWith("PEM block 2 (CERTIFICATE)", error, StringComparison.Ordinal);
    }
}
