using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Rampart.Core.Smtp;
using Rampart.Core.Tests.Servers;
using Rampart.Core.Tests.Support;

namespace Rampart.Core.Tests.Smtp;

/// <summary>
/// How the presented chain is put together, and the runtime behaviour it relies on: if .NET changes what the
/// validation callback sees, or how it sends SNI, these fail first.
/// </summary>
public class PresentedChainTests
{
    private static readonly TestPki s_pki = new("Order");
    private static readonly X509Certificate2 s_leaf = s_pki.Leaf("mx.example.test");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public void OrderPresentedChain_SentOutOfOrder_LeafThenPathThenRoot()
    {
        var ordered = SmtpTlsProbe.OrderPresentedChain(s_leaf, [s_pki.Root, s_leaf, s_pki.Intermediate]);

        Assert.Equal([s_leaf.Thumbprint, s_pki.Intermediate.Thumbprint, s_pki.Root.Thumbprint], ordered.Select(c => c.Thumbprint));
    }

    [Fact]
    public void OrderPresentedChain_UnrelatedAndDuplicateCertificates_UnrelatedKeptAtEndDuplicatesDropped()
    {
        var other = new TestPki("Other");

        var ordered = SmtpTlsProbe.OrderPresentedChain(s_leaf, [other.Intermediate, s_pki.Intermediate, s_pki.Intermediate, s_leaf]);

        Assert.Equal([s_leaf.Thumbprint, s_pki.Intermediate.Thumbprint, other.Intermediate.Thumbprint], ordered.Select(c => c.Thumbprint));
    }

    [Fact]
    public void OrderPresentedChain_TwoIssuersWithSameName_KeyIdentifierPicksTheRightOne()
    {
        // Same subject name as the real intermediate, another key: a re-keyed or cross-signed CA, sent first.
        var impostor = new TestPki("Order").Intermediate;
        var leaf = LeafWithAuthorityKeyId(s_pki.Intermediate);

        var ordered = SmtpTlsProbe.OrderPresentedChain(leaf, [impostor, s_pki.Intermediate]);

        Assert.Equal([leaf.Thumbprint, s_pki.Intermediate.Thumbprint, impostor.Thumbprint], ordered.Select(c => c.Thumbprint));
    }

    [Fact]
    public void OrderPresentedChain_TwoIssuersWithSameNameNoKeyIdentifier_FirstSentWins()
    {
        var impostor = new TestPki("Order").Intermediate;

        var ordered = SmtpTlsProbe.OrderPresentedChain(s_leaf, [impostor, s_pki.Intermediate]);

        Assert.Equal([s_leaf.Thumbprint, impostor.Thumbprint, s_pki.Intermediate.Thumbprint], ordered.Select(c => c.Thumbprint));
    }

    private static X509Certificate2 LeafWithAuthorityKeyId(X509Certificate2 issuer)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=aki.example.test", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(issuer, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        return request.Create(issuer, TestPki.Now.AddDays(-1), TestPki.Now.AddDays(30), [1, 2, 3, 4]);
    }

    [Fact]
    public void OrderPresentedChain_LeafOnly_JustTheLeaf() =>
        Assert.Equal([s_leaf.Thumbprint], SmtpTlsProbe.OrderPresentedChain(s_leaf, []).Select(c => c.Thumbprint));

    [Fact]
    public async Task Runtime_ClientValidationCallback_ExtraStoreHoldsWhatTheServerSentInWireOrder()
    {
        var seen = await HandshakeAsync("mx.example.test", chain => chain!.ChainPolicy.ExtraStore.Select(c => c.Thumbprint).ToList());

        Assert.Equal([s_leaf.Thumbprint, s_pki.Intermediate.Thumbprint], seen.Result);
    }

    [Fact]
    public async Task Runtime_EmptyTargetHost_SendsNoSni()
    {
        var seen = await HandshakeAsync("", _ => new List<string>());

        Assert.True(string.IsNullOrEmpty(seen.Sni), $"SNI sent: '{seen.Sni}'");
    }

    [Fact]
    public async Task Runtime_TargetHostWithTrailingDot_SentVerbatimSoTheProbeStripsIt()
    {
        var seen = await HandshakeAsync("mx.example.test.", _ => new List<string>());

        Assert.Equal("mx.example.test.", seen.Sni);
        Assert.Equal("mx.example.test", SmtpTlsProbe.NormalizeServerName("mx.example.test."));
    }

    /// <summary>A bare TLS handshake (no SMTP) against the scripted server, with a callback that looks at the chain.</summary>
    private static async Task<(List<string> Result, string? Sni)> HandshakeAsync(string targetHost, Func<X509Chain?, List<string>> inspect)
    {
        var context = SslStreamCertificateContext.Create(s_leaf, [s_pki.Intermediate], offline: true);
        await using var server = ScriptedSmtpServer.Start(s => s.StartTls(context).Stall());
        using var client = new TcpClient();
        await client.ConnectAsync(server.EndPoint, Ct);
        await using var tls = new SslStream(client.GetStream());
        List<string> result = [];
        await tls.AuthenticateAsClientAsync(
            new SslClientAuthenticationOptions
            {
                TargetHost = targetHost,
#pragma warning disable CA5359 // Test client against the test's own server: it only looks at what the callback receives.
                RemoteCertificateValidationCallback = (_, _, chain, _) =>
                {
                    result = inspect(chain);
                    return true;
                },
#pragma warning restore CA5359
            },
            Ct);
        Assert.True(server.ClientHelloSeen);
        return (result, server.ClientSni);
    }
}
