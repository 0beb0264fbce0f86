using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Time.Testing;
using Rampart.Core.Tests.Support;
using Rampart.Core.Tls;

namespace Rampart.Core.Tests.Tls;

public sealed class WebPkiValidatorTests : IDisposable
{
    private static readonly TestPki s_pki = new();
    private readonly string _dir = Directory.CreateTempSubdirectory("rampart-pki").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private WebPkiValidator Validator(bool trustTestRoot = true) =>
        new(trustTestRoot ? TrustAnchors.Load(s_pki.WriteRootPem(_dir), sslCertFile: "") : TrustAnchors.SystemOnly, new FakeTimeProvider(TestPki.Now));

    [Fact]
    public void Validate_ChainToExtraRootAndMatchingName_Valid()
    {
        var leaf = s_pki.Leaf("mta-sts.example.org");

        var verdict = Validator().Validate(leaf, [leaf, s_pki.Intermediate], "mta-sts.example.org");

        Assert.True(verdict.IsValid, verdict.Message);
    }

    [Fact]
    public void Constructor_WithExtraRoots_ReadsNoTrustStoreUntilTheFirstValidation()
    {
        var validator = Validator();
        Assert.False(validator.HasReadTrustStore);

        var leaf = s_pki.Leaf("mta-sts.example.org");
        var verdict = validator.Validate(leaf, [leaf, s_pki.Intermediate], "mta-sts.example.org");

        Assert.True(verdict.IsValid, verdict.Message);
        Assert.True(validator.HasReadTrustStore);
    }

    [Fact]
    public void Validate_ConcurrentFirstValidations_AllSeeTheSameTrust()
    {
        var validator = Validator();
        var leaf = s_pki.Leaf("mta-sts.example.org");
        var other = new TestPki("Other");
        var untrusted = other.Leaf("mta-sts.example.org", issuer: other.Root);

        var verdicts = new WebPkiVerdict[16];
        Parallel.For(0, verdicts.Length, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
            verdicts[i] = i % 2 == 0
                ? validator.Validate(leaf, [leaf, s_pki.Intermediate], "mta-sts.example.org")
                : validator.Validate(untrusted, [untrusted], "mta-sts.example.org"));

        Assert.All(verdicts.Where((_, i) => i % 2 == 0), v => Assert.True(v.IsValid, v.Message));
        Assert.All(verdicts.Where((_, i) => i % 2 == 1), v => Assert.Equal(WebPkiFailure.NotTrusted, v.Failure));
    }

    [Fact]
    public void Validate_RootNotTrusted_NotTrusted()
    {
        var leaf = s_pki.Leaf("mta-sts.example.org");

        var verdict = Validator(trustTestRoot: false).Validate(leaf, [leaf, s_pki.Intermediate], "mta-sts.example.org");

        Assert.Equal(WebPkiFailure.NotTrusted, verdict.Failure);
    }

    [Fact]
    public void Validate_IntermediateMissing_NotTrusted()
    {
        var leaf = s_pki.Leaf("mta-sts.example.org");

        var verdict = Validator().Validate(leaf, [leaf], "mta-sts.example.org");

        Assert.Equal(WebPkiFailure.NotTrusted, verdict.Failure);
    }

    [Fact]
    public void Validate_OtherName_HostMismatch()
    {
        var leaf = s_pki.Leaf("mta-sts.other.org");

        var verdict = Validator().Validate(leaf, [leaf, s_pki.Intermediate], "mta-sts.example.org");

        Assert.Equal(WebPkiFailure.HostMismatch, verdict.Failure);
        Assert.Contains("mta-sts.other.org", verdict.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_Expired_Expired()
    {
        var leaf = s_pki.Leaf("mta-sts.example.org", TestPki.Now.AddDays(-90), TestPki.Now.AddDays(-1));

        var verdict = Validator().Validate(leaf, [leaf, s_pki.Intermediate], "mta-sts.example.org");

        Assert.Equal(WebPkiFailure.Expired, verdict.Failure);
    }

    [Fact]
    public void Validate_SelfSigned_NotTrusted()
    {
        var other = new TestPki("Other");
        var leaf = other.Leaf("mta-sts.example.org", issuer: other.Root);

        var verdict = Validator().Validate(leaf, [leaf], "mta-sts.example.org");

        Assert.Equal(WebPkiFailure.NotTrusted, verdict.Failure);
    }

    [Fact]
    public void Validate_NoCertificate_Fails()
    {
        Assert.Equal(WebPkiFailure.NoCertificate, Validator().Validate(null, [], "mta-sts.example.org").Failure);
    }

    [Fact]
    public void Load_MissingCaFile_ErrorNamesTheFile()
    {
        var ex = Assert.Throws<TrustAnchorException>(() => TrustAnchors.Load(Path.Combine(_dir, "nope.pem"), sslCertFile: ""));

        Assert.Contains("nope.pem", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_FileWithoutCertificates_ErrorSaysSo()
    {
        var path = Path.Combine(_dir, "empty.pem");
        File.WriteAllText(path, "not a certificate\n");

        var ex = Assert.Throws<TrustAnchorException>(() => TrustAnchors.Load(path, sslCertFile: ""));

        Assert.Contains("no PEM certificate", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_Directory_ErrorSaysSo()
    {
        var ex = Assert.Throws<TrustAnchorException>(() => TrustAnchors.Load(_dir, sslCertFile: ""));

        Assert.Contains("directory", ex.Message, StringComparison.Ordinal);
    }

    /// <summary>What a TLS handshake does with <see cref="WebPkiValidator.CreateHandshakeChainPolicy"/>: builds the chain at the real time, the presented certificates as the extra store.</summary>
    private static (X509Chain Chain, SslPolicyErrors Errors) Handshake(WebPkiValidator validator, X509Certificate2 leaf, params X509Certificate2[] presented)
    {
        var chain = new X509Chain { ChainPolicy = validator.CreateHandshakeChainPolicy() };
        chain.ChainPolicy.ExtraStore.AddRange(presented);
        return (chain, chain.Build(leaf) ? SslPolicyErrors.None : SslPolicyErrors.RemoteCertificateChainErrors);
    }

    [Fact]
    public void CreateHandshakeChainPolicy_WithExtraRoots_AnchorsNothing_SystemOnly_AsTheChainPolicy()
    {
        var withExtra = Validator();
        var handshake = withExtra.CreateHandshakeChainPolicy();

        Assert.Equal(X509ChainTrustMode.CustomRootTrust, handshake.TrustMode);
        Assert.Empty(handshake.CustomTrustStore);
        Assert.Contains(withExtra.CreateChainPolicy().CustomTrustStore, c => c.Thumbprint == s_pki.Root.Thumbprint);
        Assert.Equal(X509ChainTrustMode.System, Validator(trustTestRoot: false).CreateHandshakeChainPolicy().TrustMode);
    }

    [Fact]
    public void CheckHandshake_ChainToExtraRoot_ValidThoughTheHandshakeAnchoredNothing()
    {
        var validator = Validator();
        var leaf = s_pki.Leaf("mta-sts.example.org", DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(1));
        var (chain, errors) = Handshake(validator, leaf, s_pki.Intermediate);
        using (chain)
        {
            Assert.Equal(SslPolicyErrors.RemoteCertificateChainErrors, errors);

            var verdict = validator.CheckHandshake(leaf, chain, errors, "mta-sts.example.org");

            Assert.True(verdict.IsValid, verdict.Message);
        }
    }

    [Fact]
    public void CheckHandshake_RootNotAnAnchor_NotTrusted()
    {
        var validator = Validator();
        var stranger = new TestPki("Stranger");
        var leaf = stranger.Leaf("mta-sts.example.org", DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(1));
        var (chain, errors) = Handshake(validator, leaf, stranger.Intermediate);
        using (chain)
        {
            var verdict = validator.CheckHandshake(leaf, chain, errors, "mta-sts.example.org");

            Assert.Equal(WebPkiFailure.NotTrusted, verdict.Failure);
        }
    }

    [Fact]
    public void CheckHandshake_ExpiredLeaf_Expired()
    {
        var validator = Validator();
        var leaf = s_pki.Leaf("mta-sts.example.org", DateTimeOffset.UtcNow.AddDays(-30), DateTimeOffset.UtcNow.AddDays(-1));
        var (chain, errors) = Handshake(validator, leaf, s_pki.Intermediate);
        using (chain)
        {
            var verdict = validator.CheckHandshake(leaf, chain, errors, "mta-sts.example.org");

            Assert.Equal(WebPkiFailure.Expired, verdict.Failure);
        }
    }
}
