using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Rampart.Cli.Tests.Support;
using Rampart.Tests.Shared;

namespace Rampart.Cli.Tests.Commands;

/// <summary>
/// The dashboard mounted in <c>rampart serve</c> (<c>serve.dashboard</c>): a month of reports imported with the real
/// CLI, <c>rampart serve</c> started as a process with the dashboard at <c>/dashboard</c> behind a token, and the pages
/// read over HTTPS (SNI <c>mta-sts.example.test</c>, mapped to loopback) in a real headless Chromium: the numbers against
/// <c>tlsrpt summary --json</c>, every link and the stylesheet under the mount; and over HTTP: 401 without or with a
/// wrong token, the policy file still served to anyone.
/// </summary>
public sealed class ServeDashboardBrowserTests(ServeDashboardBrowserTests.Site site) : IClassFixture<ServeDashboardBrowserTests.Site>
{
    private const string Host = "mta-sts.example.test";
    private const string Token = "0123456789abcdef0123456789abcdef";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Mounted_OverviewAndDomain_NumbersEqualSummaryJson_EveryLinkUnderTheMount()
    {
        await site.Browser.SetViewportAsync(1280, 800, mobile: false, Ct);
        await site.Browser.NavigateAsync(site.Url + "/dashboard/", Ct);

        await DashboardDom.AssertOverviewEqualsAsync(site.Browser, site.Summary, Ct);
        var targets = await site.Browser.EvaluateAsync<string[]>(
            "[...document.querySelectorAll('a[href], link[href], form[action]')].map(e => e.getAttribute('href') ?? e.getAttribute('action'))", Ct);
        Assert.NotEmpty(targets);
        Assert.All(targets, t => Assert.StartsWith("/dashboard/", t, StringComparison.Ordinal));
        Assert.True(await site.Browser.EvaluateAsync<int>("document.styleSheets[0].cssRules.length", Ct) > 0, "the stylesheet under /dashboard/ did not load");
        await site.Browser.ScreenshotAsync(Path.Combine(DashboardBrowserTests.Artifacts, "serve-overview-1280x800.png"), Ct);

        var alpha = await site.Browser.EvaluateAsync<string>("[...document.querySelectorAll('#domains a')].find(a => a.textContent === 'alpha.example').href", Ct);
        await site.Browser.NavigateAsync(alpha, Ct);

        Assert.Equal(new Uri(site.Url + "/dashboard/domain?name=alpha.example"), new Uri(alpha));
        var expectedAlpha = site.Summary["alpha.example"];
        Assert.Equal(new long[] { expectedAlpha.Reports, expectedAlpha.Successful, expectedAlpha.Failed },
            await DashboardDom.KpisAsync(site.Browser, ["reports", "successful", "failed"], Ct));
        Assert.Equal(MonthOfReports.Days, await site.Browser.EvaluateAsync<int>("document.querySelectorAll('#sessions-per-day circle.day').length", Ct));
    }

    [Fact]
    public async Task Mounted_WithoutOrWithWrongToken401_PolicyStillPublic_OnlyGet()
    {
        using var http = Client();

        using var none = await http.GetAsync("/dashboard/", Ct);
        Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        Assert.Equal("Bearer", none.Headers.WwwAuthenticate.Single().Scheme);
        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(http, HttpMethod.Get, "/dashboard/sent", "Bearer " + Token[..^1] + "X")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(http, HttpMethod.Get, "/dashboard", null)).StatusCode);
        using var ok = await SendAsync(http, HttpMethod.Get, "/dashboard", "Bearer " + Token);
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Contains("default-src 'none'", string.Join(";", ok.Headers.GetValues("Content-Security-Policy")), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, (await SendAsync(http, HttpMethod.Post, "/dashboard/", "Bearer " + Token)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(http, HttpMethod.Get, "/dashboardx", "Bearer " + Token)).StatusCode);
        using var policy = await http.GetAsync("/.well-known/mta-sts.txt", Ct);
        Assert.Equal(HttpStatusCode.OK, policy.StatusCode);
        Assert.StartsWith("version: STSv1", await policy.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
    }

    /// <summary>An HTTPS client for <see cref="Host"/> that connects to the serve process on loopback and accepts only its test certificate.</summary>
    private HttpClient Client() => new(new SocketsHttpHandler
    {
        ConnectCallback = async (_, ct) =>
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync(IPAddress.Loopback, site.Port, ct);
            return new NetworkStream(socket, ownsSocket: true);
        },
        SslOptions = { RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate?.GetCertHashString() == site.CertificateHash },
    })
    { BaseAddress = new Uri(site.Url) };

    private static async Task<HttpResponseMessage> SendAsync(HttpClient http, HttpMethod method, string path, string? authorization)
    {
        using var request = new HttpRequestMessage(method, path);
        if (authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        }
        return await http.SendAsync(request, Ct);
    }

    /// <summary>The store, the summary, the running serve with the dashboard mounted and the browser, shared by the tests of the class.</summary>
    public sealed class Site : DashboardSite
    {
        public int Port { get; } = LoopbackPort.Free();

        /// <summary>The SHA-1 hash of the certificate serve presents (the test lineage's).</summary>
        public string CertificateHash { get; private set; } = "";

        protected override async Task StartAsync(CancellationToken ct)
        {
            Url = $"https://{Host}:{Port}";
            var live = Path.Combine(Dir, "live");
            await SelfSignedLineage.WriteAsync(Path.Combine(live, Host), Host, ct);
            using (var certificate = X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(Path.Combine(live, Host, "fullchain.pem"), ct)))
            {
                CertificateHash = certificate.GetCertHashString();
            }
            var tokenFile = Path.Combine(Dir, "token");
            await File.WriteAllTextAsync(tokenFile, Token + "\n", ct);
            var config = Path.Combine(Dir, "publish.yml");
            await File.WriteAllTextAsync(config, $"""
                domain: example.test
                mx: mx.example.test
                serve:
                  listen: ["127.0.0.1:{Port}"]
                  certificates: {live}
                  state_dir: {StateDir}
                  dashboard:
                    path: /dashboard
                    token_file: {tokenFile}
                """, ct);
            Server = RampartProcess.Start(["serve", "--config", config]);
            var started = await Server.WaitForLineAsync(l => l.Contains("rampart serve listening on", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
            Assert.Contains("dashboard at /dashboard/", started, StringComparison.Ordinal);
            Browser = await HeadlessChromium.StartAsync([$"--host-resolver-rules=MAP {Host} 127.0.0.1", "--ignore-certificate-errors"], ct);
            await Browser.SetExtraHeadersAsync(new Dictionary<string, string> { ["Authorization"] = "Bearer " + Token }, ct);
        }
    }
}
