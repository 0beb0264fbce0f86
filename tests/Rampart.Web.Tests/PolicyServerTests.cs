using System.IO.Compression;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using Rampart.Core;
using Rampart.Core.MtaSts;
using Rampart.Core.Publish;
using Rampart.Core.Tls;
using Rampart.Core.TlsRpt;
using Rampart.Storage.TlsRpt;
using Rampart.Web.Tests.Support;

namespace Rampart.Web.Tests;

/// <summary><c>rampart serve</c> on a real Kestrel on loopback, judged by Core's own MTA-STS fetcher and real TLS clients.</summary>
public sealed class PolicyServerTests : IAsyncLifetime
{
    private const string Yaml = """
        domains:
          - domain: example.test
            mx: [mx.example.test, "*.backup.example.test"]
            mode: enforce
            max_age: 604800
          - domain: other.test
            mx: mx.other.test
            cert_name: shared
        serve:
          listen: ["127.0.0.1:0"]
          report_max_bytes: 4096
        """;

    private readonly WebTestPki _pki = new();
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow); // only the certificate recheck reads it
    private PolicyServer? _server;
    private SqliteTlsReportStore? _store;
    private PublishConfig _config = null!;

    private int Port => _server!.BoundEndPoints[0].Port;

    public async ValueTask InitializeAsync()
    {
        _pki.IssueInto("mta-sts.example.test", "mta-sts.example.test");
        _pki.IssueInto("shared", "mta-sts.other.test");
        var parsed = PublishConfigFile.Parse(Yaml, "test.yml");
        _config = parsed with { Serve = parsed.Serve with { Certificates = _pki.Live } };
        _store = await SqliteTlsReportStore.OpenInDirectoryAsync(Path.Combine(_pki.Root, "state"), TimeProvider.System);
        _server = PolicyServer.Create(_config, _store, time: _time);
        await _server.StartAsync(TestContext.Current.CancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
        if (_store is not null)
        {
            await _store.DisposeAsync();
        }
        _pki.Dispose();
    }

    private MtaStsPolicyFetcher Fetcher() =>
        new(new LoopbackDns(), new WebPkiValidator(TrustAnchors.Load(_pki.CaFile, ""), TimeProvider.System),
            new MtaStsFetchSettings { Port = Port, TotalTimeout = TimeSpan.FromSeconds(20), ConnectTimeout = TimeSpan.FromSeconds(10) }, TimeProvider.System);

    private HttpClient Client(string sni) => Client(sni, Port);

    private static HttpClient Client(string sni, int port)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, ct) =>
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                await socket.ConnectAsync(IPAddress.Loopback, port, ct);
                return new NetworkStream(socket, ownsSocket: true);
            },
            SslOptions = new SslClientAuthenticationOptions { TargetHost = sni, RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is not null },
            UseProxy = false,
        };
        return new HttpClient(handler) { BaseAddress = new Uri($"https://{sni}:{port}/") };
    }

    [Fact]
    public async Task Fetch_ByCoreFetcher_PassesEveryFetchRuleAndIsByteIdenticalToPublish()
    {
        foreach (var domain in _config.Domains)
        {
            var result = await Fetcher().FetchAsync(domain.Domain, TestContext.Current.CancellationToken);

            Assert.True(result.IsSuccess, result.Message);
            Assert.Equal(PolicyDocument.For(domain).Bytes, result.Body);
            var parsed = MtaStsPolicyParser.Parse(result.Body!);
            Assert.True(parsed.IsValid, string.Join("; ", parsed.Errors));
            Assert.Equal(domain.Mode, parsed.Policy!.Mode);
            Assert.Equal(domain.MaxAge, parsed.Policy.MaxAge);
        }
    }

    [Fact]
    public async Task Get_Policy_TextPlainWithLength()
    {
        using var client = Client("mta-sts.example.test");
        using var response = await client.GetAsync("/.well-known/mta-sts.txt", TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal(PolicyDocument.For(_config.Domains[0]).Bytes.Length, response.Content.Headers.ContentLength);
    }

    [Fact]
    public async Task Metrics_OnItsOwnPlainListener_CountConnectionsAndResponsesByKindAndStatus()
    {
        // Issue 13: serve's refusals at max_connections were only logged. Its /metrics listener (plain HTTP, loopback)
        // shows the connection counts and every response by kind and status; the HTTPS listeners never serve /metrics.
        var config = _config with { Serve = _config.Serve with { Metrics = new IPEndPoint(IPAddress.Loopback, 0), MaxConnections = 50 } };
        await using var server = PolicyServer.Create(config, _store);
        await server.StartAsync(TestContext.Current.CancellationToken);
        var ct = TestContext.Current.CancellationToken;
        var metricsEndPoint = Assert.IsType<IPEndPoint>(server.BoundMetricsEndPoint);
        Assert.DoesNotContain(metricsEndPoint, server.BoundEndPoints);
        using (var client = Client("mta-sts.example.test", server.BoundEndPoints[0].Port))
        {
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/.well-known/mta-sts.txt", ct)).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/.well-known/mta-sts.txt", ct)).StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/metrics", ct)).StatusCode);
        }

        using var plain = new HttpClient { BaseAddress = new Uri($"http://{metricsEndPoint}/") };
        using var response = await plain.GetAsync("/metrics", ct);
        var text = await response.Content.ReadAsStringAsync(ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType!.MediaType);
        Assert.Contains("rampart_serve_responses_total{kind=\"policy\",status=\"200\"} 2\n", text, StringComparison.Ordinal);
        Assert.Contains("rampart_serve_responses_total{kind=\"other\",status=\"404\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("rampart_connections_max 50\n", text, StringComparison.Ordinal);
        Assert.Contains($"rampart_connections_refused_total{{listener=", text, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await plain.GetAsync("/.well-known/mta-sts.txt", ct)).StatusCode);
    }

    [Fact]
    public async Task Get_UnknownHostHeader_404()
    {
        Assert.Equal(404, await RawStatusAsync("mta-sts.example.test", "mta-sts.unknown.test"));
    }

    [Fact]
    public async Task Get_HostDiffersFromSni_421()
    {
        Assert.Equal(421, await RawStatusAsync("mta-sts.example.test", "mta-sts.other.test"));
    }

    /// <summary>One HTTP/1.1 GET over TLS with SNI and Host chosen apart (HttpClient would put the Host into the SNI).</summary>
    private async Task<int> RawStatusAsync(string sni, string host)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, Port, TestContext.Current.CancellationToken);
        await using var ssl = new SslStream(tcp.GetStream(), false, (_, certificate, _, _) => certificate is not null);
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = sni }, TestContext.Current.CancellationToken);
        await ssl.WriteAsync(Encoding.ASCII.GetBytes($"GET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"), TestContext.Current.CancellationToken);
        using var reader = new StreamReader(ssl, Encoding.ASCII);
        var status = await reader.ReadLineAsync(TestContext.Current.CancellationToken);
        return int.Parse(status!.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task Get_OtherPathAndHealthz_404And200()
    {
        using var client = Client("mta-sts.other.test");

        using var other = await client.GetAsync("/index.html", TestContext.Current.CancellationToken);
        using var health = await client.GetAsync("/healthz", TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.NotFound, other.StatusCode);
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    [Fact]
    public async Task Handshake_UnknownSni_Refused()
    {
        var result = await Fetcher().FetchAsync("unknown.test", TestContext.Current.CancellationToken);

        Assert.False(result.IsSuccess);
    }

    [Fact]
    public async Task Handshake_CertificateRenewedOnDisk_NewConnectionsGetIt()
    {
        var before = await PresentedAsync("mta-sts.example.test");
        var renewed = _pki.IssueInto("mta-sts.example.test", "mta-sts.example.test");
        _time.Advance(PolicyCertificateStore.RecheckInterval);

        var after = await PresentedAsync("mta-sts.example.test");

        Assert.NotEqual(before.SerialNumber, renewed.SerialNumber);
        Assert.Equal(renewed.SerialNumber, after.SerialNumber);
    }

    [Fact]
    public async Task Handshake_RenewalUnreadable_KeepsServingTheOldCertificate()
    {
        var before = await PresentedAsync("mta-sts.other.test");
        await File.WriteAllTextAsync(Path.Combine(_pki.Live, "shared", "fullchain.pem"), "garbage", TestContext.Current.CancellationToken);
        _time.Advance(PolicyCertificateStore.RecheckInterval);

        var after = await PresentedAsync("mta-sts.other.test");

        Assert.Equal(before.SerialNumber, after.SerialNumber);
    }

    private async Task<X509Certificate2> PresentedAsync(string sni)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, Port, TestContext.Current.CancellationToken);
        await using var ssl = new SslStream(tcp.GetStream(), false, (_, certificate, _, _) => certificate is not null);
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = sni }, TestContext.Current.CancellationToken);
        return new X509Certificate2(ssl.RemoteCertificate!);
    }

    private static byte[] Report(string id) => Encoding.UTF8.GetBytes($$"""
        {"organization-name":"Sender","date-range":{"start-datetime":"2025-03-01T00:00:00Z","end-datetime":"2025-03-01T23:59:59Z"},
         "contact-info":"tlsrpt@sender.test","report-id":"{{id}}",
         "policies":[{"policy":{"policy-type":"sts","policy-string":["version: STSv1","mode: enforce","mx: mx.example.test","max_age: 604800"],
           "policy-domain":"example.test","mx-host":["mx.example.test"]},
           "summary":{"total-successful-session-count":5,"total-failure-session-count":1},
           "failure-details":[{"result-type":"certificate-expired","sending-mta-ip":"192.0.2.1","receiving-mx-hostname":"mx.example.test","failed-session-count":1}]}]}
        """);

    private async Task<int> StoredReportsAsync() =>
        (await _store!.AggregateAsync(new TlsRptSummaryQuery(), TestContext.Current.CancellationToken)).Reporters.Sum(r => r.Reports);

    private async Task<HttpStatusCode> PostAsync(byte[] body, string type)
    {
        using var client = Client("mta-sts.example.test");
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(type);
        using var response = await client.PostAsync("/tlsrpt", content, TestContext.Current.CancellationToken);
        return response.StatusCode;
    }

    [Fact]
    public async Task Post_JsonReport_StoredOnceThenDuplicate()
    {
        Assert.Equal(HttpStatusCode.Created, await PostAsync(Report("json-1"), "application/tlsrpt+json"));
        Assert.Equal(HttpStatusCode.OK, await PostAsync(Report("json-1"), "application/tlsrpt+json"));
        Assert.Equal(1, await StoredReportsAsync());
    }

    [Fact]
    public async Task Post_GzipReport_Stored()
    {
        using var gz = new MemoryStream();
        await using (var zip = new GZipStream(gz, CompressionLevel.Optimal, leaveOpen: true))
        {
            zip.Write(Report("gzip-1"));
        }

        Assert.Equal(HttpStatusCode.Created, await PostAsync(gz.ToArray(), "application/tlsrpt+gzip"));
        Assert.Equal(1, await StoredReportsAsync());
    }

    [Fact]
    public async Task Post_NotAReport_400AndNothingStored()
    {
        Assert.Equal(HttpStatusCode.BadRequest, await PostAsync(Encoding.UTF8.GetBytes("{\"hello\": 1}"), "application/tlsrpt+json"));
        Assert.Equal(0, await StoredReportsAsync());
    }

    [Fact]
    public async Task Post_OverTheCap_413AndNothingStored()
    {
        var padded = Encoding.UTF8.GetString(Report("big-1")).Replace("\"contact-info\"", "\"x-pad\":\"" + new string('a', 5000) + "\",\"contact-info\"", StringComparison.Ordinal);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, await PostAsync(Encoding.UTF8.GetBytes(padded), "application/tlsrpt+json"));
        Assert.Equal(0, await StoredReportsAsync());
    }

    [Fact]
    public async Task Post_WrongContentType_415()
    {
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, await PostAsync(Report("type-1"), "application/json"));
        Assert.Equal(0, await StoredReportsAsync());
    }
}

/// <summary>Startup faults of <c>serve</c>: one message naming the file, never a crash.</summary>
public sealed class PolicyServerStartupTests
{
    [Fact]
    public void Create_MissingCertificate_NamesTheFile()
    {
        using var pki = new WebTestPki();
        var config = PublishConfigFile.Parse("domain: example.test\nmx: mx.example.test\n", "t.yml");
        config = config with { Serve = config.Serve with { Certificates = pki.Live } };

        var ex = Assert.Throws<RampartException>(() => PolicyServer.Create(config, null));

        Assert.Contains(Path.Combine(pki.Live, "mta-sts.example.test", "fullchain.pem"), ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_KeyOfAnotherCertificate_NamesTheKeyFile()
    {
        using var pki = new WebTestPki();
        pki.IssueInto("mta-sts.example.test", "mta-sts.example.test");
        pki.IssueInto("other", "mta-sts.example.test");
        File.Copy(Path.Combine(pki.Live, "other", "privkey.pem"), Path.Combine(pki.Live, "mta-sts.example.test", "privkey.pem"), overwrite: true);
        var config = PublishConfigFile.Parse("domain: example.test\nmx: mx.example.test\n", "t.yml");
        config = config with { Serve = config.Serve with { Certificates = pki.Live } };

        var ex = Assert.Throws<RampartException>(() => PolicyServer.Create(config, null));

        Assert.Contains("privkey.pem", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_CertificateForAnotherName_Refused()
    {
        using var pki = new WebTestPki();
        pki.IssueInto("mta-sts.example.test", "mta-sts.wrong.test");
        var config = PublishConfigFile.Parse("domain: example.test\nmx: mx.example.test\n", "t.yml");
        config = config with { Serve = config.Serve with { Certificates = pki.Live } };

        var ex = Assert.Throws<RampartException>(() => PolicyServer.Create(config, null));

        Assert.Contains("not valid for mta-sts.example.test", ex.Message, StringComparison.Ordinal);
    }
}
