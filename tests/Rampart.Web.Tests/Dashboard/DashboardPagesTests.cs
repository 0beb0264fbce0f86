using System.Net;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Time.Testing;
using Rampart.Core;
using Rampart.Core.TlsRpt;
using Rampart.Storage.TlsRpt;
using Rampart.Web.Dashboard;

namespace Rampart.Web.Tests.Dashboard;

/// <summary>
/// The dashboard's pages over a real SQLite store, answered without Kestrel: values are text, never markup; only GET and
/// HEAD; bad query values are 400 with one line; the exposure rule and the credentials.
/// </summary>
public sealed class DashboardPagesTests : IAsyncLifetime
{
    private const string Hostile = "<script>alert(1)</script>\"'&<img src=x onerror=alert(2)>";
    private static readonly DateTimeOffset Day = new(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);
    private readonly string _dir = Directory.CreateTempSubdirectory("rampart-dashboard-pages-").FullName;
    private SqliteTlsReportStore _store = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _store = await SqliteTlsReportStore.OpenInDirectoryAsync(_dir, TimeProvider.System, Ct);
        var policy = new TlsRptPolicyResult("sts", ["version: STSv1", "mode: enforce"], "a.example", ["mx.a.example"], 90, 10,
            [new TlsRptFailureDetail("certificate-expired", "192.0.2.1", Hostile, null, null, 10, Hostile, Hostile)]);
        await _store.AddAsync(new TlsRptStoredReport(new TlsRptReport(Hostile, Day, Day.AddDays(1).AddSeconds(-1), Hostile, "r1", [policy]), "test", TlsRptDkimResult.NotChecked), Ct);
        await _store.AddAsync(new TlsRptStoredReport(new TlsRptReport("Google", Day.AddDays(3), Day.AddDays(4).AddSeconds(-1), null, "r2", [policy with { FailureDetails = [] }]), "test", TlsRptDkimResult.NotChecked), Ct);
    }

    public async ValueTask DisposeAsync()
    {
        await _store.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private DashboardPages Pages(DashboardAccess? access = null) =>
        new(new DashboardSources(_store, _store, null, new FakeTimeProvider(Day.AddDays(5))), access ?? DashboardAccess.Open);

    private static async Task<(int Status, string Body, IHeaderDictionary Headers)> GetAsync(DashboardPages pages, string pathAndQuery, string method = "GET", string? authorization = null,
        IPAddress? client = null)
    {
        var context = new DefaultHttpContext();
        context.Connection.RemoteIpAddress = client ?? IPAddress.Loopback;
        var parts = pathAndQuery.Split('?', 2);
        context.Request.Method = method;
        context.Request.Path = parts[0];
        context.Request.QueryString = parts.Length > 1 ? new QueryString("?" + parts[1]) : QueryString.Empty;
        if (authorization is not null)
        {
            context.Request.Headers.Authorization = authorization;
        }
        var body = new MemoryStream();
        context.Response.Body = body;
        await pages.HandleAsync(context);
        return (context.Response.StatusCode, Encoding.UTF8.GetString(body.ToArray()), context.Response.Headers);
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/domain?name=a.example")]
    [InlineData("/report?key=1")]
    [InlineData("/domain?name=%3Cscript%3Ealert(3)%3C%2Fscript%3E")]
    public async Task Page_HostileFields_AreEncodedText_UnderAStrictCsp(string path)
    {
        var (status, body, headers) = await GetAsync(Pages(), path);

        Assert.Equal(200, status);
        Assert.DoesNotContain("<script", body, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<img", body, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("onerror=alert", body.Replace("onerror=alert(2)&gt;", "", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.Equal(DashboardPages.ContentSecurityPolicy, headers.ContentSecurityPolicy.ToString());
        Assert.Equal("nosniff", headers.XContentTypeOptions.ToString());
    }

    [Fact]
    public async Task Report_ShowsTheHostileOrganizationEncoded()
    {
        var (_, body, _) = await GetAsync(Pages(), "/report?key=1");

        Assert.Contains(WebUtility.HtmlEncode(Hostile), body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Domain_ChartHasOneCirclePerDay_GapDaysAsZero()
    {
        var (_, body, _) = await GetAsync(Pages(), "/domain?name=a.example");

        Assert.Equal(4, body.Split("<circle class=\"day\"").Length - 1);
        Assert.Contains("data-day=\"2026-11-02\" data-reports=\"0\" data-successful=\"0\" data-failed=\"0\"", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Filters_NoMatchVersusEmptyStore_Differ()
    {
        var (_, nothingRecent, _) = await GetAsync(Pages(), "/?days=1");
        var (_, otherDomain, _) = await GetAsync(Pages(), "/domain?name=nosuch.example");

        Assert.Contains("No report in the last 1 day(s); the store has older ones.", nothingRecent, StringComparison.Ordinal);
        Assert.Contains("No report matches", otherDomain, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("POST", "/", 405)]
    [InlineData("DELETE", "/report?key=1", 405)]
    [InlineData("GET", "/?days=0", 400)]
    [InlineData("GET", "/?days=x", 400)]
    [InlineData("GET", "/report?key=-1", 400)]
    [InlineData("GET", "/report?key=999", 404)]
    [InlineData("GET", "/nothing", 404)]
    [InlineData("HEAD", "/", 200)]
    public async Task Requests_OnlyReadsAnswered_BadValues400(string method, string path, int expected)
    {
        var (status, _, _) = await GetAsync(Pages(), path, method);

        Assert.Equal(expected, status);
    }

    [Fact]
    public async Task Token_WrongOrMissing_401WithChallenge()
    {
        var pages = Pages(DashboardAccess.Token("0123456789abcdef0123"));

        Assert.Equal(401, (await GetAsync(pages, "/")).Status);
        Assert.Equal(401, (await GetAsync(pages, "/", authorization: "Bearer 0123456789abcdef012")).Status);
        Assert.Equal(401, (await GetAsync(pages, "/style.css", authorization: "Basic b3BzOnNlY3JldA==")).Status);
        Assert.Equal(200, (await GetAsync(pages, "/", authorization: "Bearer 0123456789abcdef0123")).Status);
        Assert.StartsWith("Bearer", (await GetAsync(pages, "/")).Headers.WWWAuthenticate.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sent_PerDestinationCountsAndWhy_FromTheSessionStore_Escaped()
    {
        await using var sent = await SqliteTlsSessionStore.OpenAsync(SqliteTlsSessionStore.PathIn(_dir), TimeProvider.System, Ct);
        var sts = new TlsSessionPolicy("sts", "b.example", ["version: STSv1", "mode: enforce"], ["mx.b.example"]);
        var failure = new TlsSessionFailure("certificate-expired", "192.0.2.1", "mx.b.example", null, "198.51.100.1", null, Hostile);
        TlsSessionResult Session(string domain, bool ok, int day) => new(domain, null, sts, ok, ok ? [] : [failure], Day.AddDays(day).AddHours(3));
        await sent.AddAsync(TlsSessionSources.Log,
            [.. new[] { Session("b.example", true, 0), Session("b.example", false, 0), Session("b.example", false, 2), Session("c.example", true, 1) }.Select(r => new TlsSessionEntry(r))],
            null, Ct);
        var pages = new DashboardPages(new DashboardSources(_store, _store, null, new FakeTimeProvider(Day.AddDays(5)), sent), DashboardAccess.Open);

        var (status, body, _) = await GetAsync(pages, "/sent");
        var (_, none, _) = await GetAsync(Pages(), "/sent");

        Assert.Equal(200, status);
        Assert.Contains("<td data-field=\"domain\">b.example</td><td class=\"num\" data-field=\"successful\" data-value=\"1\">1</td><td class=\"num\" data-field=\"failed\" data-value=\"2\">2</td>",
            body, StringComparison.Ordinal);
        Assert.Contains("data-field=\"failed\" data-value=\"0\">0</td>", body, StringComparison.Ordinal);
        Assert.Equal(2, body.Split("<td data-field=\"type\">certificate-expired</td>").Length - 1);
        Assert.Contains(WebUtility.HtmlEncode(Hostile), body, StringComparison.Ordinal);
        Assert.DoesNotContain("<script", body, StringComparison.Ordinal);
        Assert.Contains("No session store yet", none, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WrongCredentials_TenFromOneAddress_Then429WithRetryAfter_UntilTheWindowEnds()
    {
        const string token = "0123456789abcdef0123456789abcdef";
        var time = new FakeTimeProvider(Day);
        var pages = new DashboardPages(new DashboardSources(_store, _store, null, time), DashboardAccess.Token(token));
        var attacker = IPAddress.Parse("192.0.2.66");
        var other = IPAddress.Parse("192.0.2.67");

        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(401, (await GetAsync(pages, "/", client: attacker)).Status); // no credential at all: a browser's first request, not counted
        }
        for (var i = 0; i < CredentialFailureLimits.Default.MaxFailures; i++)
        {
            Assert.Equal(401, (await GetAsync(pages, "/", authorization: $"Bearer wrong-{i}", client: attacker)).Status);
        }
        time.Advance(TimeSpan.FromMinutes(4));
        var (status, body, headers) = await GetAsync(pages, "/", authorization: "Bearer " + token, client: attacker);
        var otherStatus = (await GetAsync(pages, "/", authorization: "Bearer " + token, client: other)).Status;
        time.Advance(TimeSpan.FromMinutes(6));
        var afterWindow = (await GetAsync(pages, "/", authorization: "Bearer " + token, client: attacker)).Status;

        Assert.Equal(429, status);
        Assert.Equal("360", headers.RetryAfter.ToString());
        Assert.Equal("too many wrong credentials from this address; try again later\n", body);
        Assert.Equal(200, otherStatus);
        Assert.Equal(200, afterWindow);
    }

    [Fact]
    public void PasswordHash_VerifiesOnlyThePassword_AndRejectsOtherText()
    {
        var hash = PasswordHash.Parse(PasswordHash.Create("correct horse", 10_000));

        Assert.True(hash.Verify("correct horse"));
        Assert.False(hash.Verify("correct horse "));
        Assert.NotEqual(PasswordHash.Create("same"), PasswordHash.Create("same"));
        foreach (var bad in new[] { "correct horse", "pbkdf2-sha256$1$AAAAAAAAAAA=$AAAA", "pbkdf2-sha256$210000$!!$!!", "md5$1$2$3" })
        {
            Assert.Contains("password hash: not pbkdf2-sha256", Assert.Throws<RampartException>(() => PasswordHash.Parse(bad)).Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("127.0.0.1", false, false, null)]
    [InlineData("::1", false, false, null)]
    [InlineData("0.0.0.0", false, false, "without TLS (--tls-cert, --tls-key) and a credential")]
    [InlineData("0.0.0.0", true, false, "without a credential")]
    [InlineData("0.0.0.0", false, true, "without TLS (--tls-cert, --tls-key);")]
    [InlineData("192.0.2.1", true, true, null)]
    public void Validate_NotLoopback_NeedsTlsAndCredential(string address, bool tls, bool credential, string? refusal)
    {
        var settings = new DashboardSettings([new IPEndPoint(IPAddress.Loopback, 8460), new IPEndPoint(IPAddress.Parse(address), 8460)],
            tls ? "cert.pem" : null, tls ? "key.pem" : null, credential ? DashboardAccess.Token("0123456789abcdef0123") : DashboardAccess.Open);

        if (refusal is null)
        {
            settings.Validate();
        }
        else
        {
            var message = Assert.Throws<RampartException>(settings.Validate).Message;
            Assert.Contains($"refusing to listen on {new IPEndPoint(IPAddress.Parse(address), 8460)} (not loopback) {refusal}", message, StringComparison.Ordinal);
        }
    }
}
