using System.Net.Security;
using Rampart.Core.Tests.Fakes;
using Rampart.Core.Tests.Servers;
using Rampart.Core.Tests.Support;
using Rampart.Core.Tls;
using Rampart.Core.TlsRpt;

namespace Rampart.Core.Tests.TlsRpt;

/// <summary>POSTed reports (RFC 8460 §5.2): 2xx is success, 4xx refuses for good (but 408 and 429), the rest is retried; the certificate is checked.</summary>
public sealed class TlsRptHttpsDeliveryTests : IAsyncDisposable
{
    private const string Host = "rpt.example.test";
    private static readonly TestPki s_pki = new("TlsRptPost");
    private static readonly Lazy<TrustAnchors> s_anchors = new(() =>
        TrustAnchors.Load(s_pki.WriteRootPem(Directory.CreateTempSubdirectory("rampart-tlsrpt-post").FullName), sslCertFile: ""));
    private readonly List<ScriptedPolicyHost> _hosts = [];

    public async ValueTask DisposeAsync()
    {
        foreach (var host in _hosts)
        {
            await host.DisposeAsync();
        }
    }

    private static OutgoingTlsRptReport Report() => TlsRptReportBuilder.Build(new DateOnly(2026, 12, 6),
        [new TlsSessionDayPolicy(new DateOnly(2026, 12, 6), "a.example", null, TlsSessionPolicy.NoPolicyFound, 3, 0, [])],
        new TlsRptReporter("o", "mailto:c@s.example", "s.example"))[0];

    private async Task<TlsRptDeliveryResult> PostAsync(string response, TestPki? serverPki = null)
    {
        var pki = serverPki ?? s_pki;
        var certificate = SslStreamCertificateContext.Create(pki.LeafFor([Host], DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(1)), [pki.Intermediate], offline: true);
        var host = ScriptedPolicyHost.Start(certificate, ScriptedPolicyHost.Answer(response));
        _hosts.Add(host);
        using var delivery = new TlsRptHttpsDelivery(new FakeDnsResolver().Address(Host, "127.0.0.1"), new WebPkiValidator(s_anchors.Value, TimeProvider.System), TimeSpan.FromSeconds(10));
        return await delivery.DeliverAsync(new Uri($"https://{Host}:{host.Port}/tlsrpt"), Report(), TestContext.Current.CancellationToken);
    }

    [Theory]
    [InlineData("HTTP/1.1 201 Created\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", TlsRptDeliveryStatus.Accepted)]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", TlsRptDeliveryStatus.Accepted)]
    [InlineData("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", TlsRptDeliveryStatus.PermanentFailure)]
    [InlineData("HTTP/1.1 415 Unsupported Media Type\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", TlsRptDeliveryStatus.PermanentFailure)]
    [InlineData("HTTP/1.1 429 Too Many Requests\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", TlsRptDeliveryStatus.TemporaryFailure)]
    [InlineData("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", TlsRptDeliveryStatus.TemporaryFailure)]
    [InlineData("HTTP/1.1 302 Found\r\nLocation: https://elsewhere.example/\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", TlsRptDeliveryStatus.TemporaryFailure)]
    public async Task Post_StatusDecides(string response, TlsRptDeliveryStatus expected)
    {
        var result = await PostAsync(response);

        Assert.Equal(expected, result.Status);
        Assert.Contains("answered HTTP", result.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Post_CertificateFromAnUnknownCa_RetriedNotSent()
    {
        var result = await PostAsync("HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n", new TestPki("Stranger"));

        Assert.Equal(TlsRptDeliveryStatus.TemporaryFailure, result.Status);
        // The verdict of the shared client's certificate check, not the handshake's generic "rejected by the callback".
        Assert.Contains("is not trusted", result.Detail, StringComparison.Ordinal);
    }
}
