using System.Globalization;
using Rampart.Cli.Tests.Support;
using Rampart.Tests.Shared;

namespace Rampart.Cli.Tests.Commands;

/// <summary>
/// A month of reports imported with the real CLI, <c>rampart dashboard</c> started as a process, and the pages read in
/// a real headless Chromium: the DOM's numbers against <c>tlsrpt summary --json</c>, one chart point per day, a page
/// that fits a phone, screenshots, and a hostile report that renders as text and runs nothing.
/// </summary>
public sealed class DashboardBrowserTests(DashboardBrowserTests.Dashboard site) : IClassFixture<DashboardBrowserTests.Dashboard>
{
    /// <summary>Where the screenshots go: $RAMPART_TEST_ARTIFACTS/dashboard, else artifacts/dashboard beside the test binary.</summary>
    public static string Artifacts { get; } = Path.Combine(
        Environment.GetEnvironmentVariable("RAMPART_TEST_ARTIFACTS") is { Length: > 0 } root ? root : Path.Combine(AppContext.BaseDirectory, "artifacts"), "dashboard");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Overview_EveryDomainsNumbers_EqualSummaryJson()
    {
        await site.Browser.SetViewportAsync(1280, 800, mobile: false, Ct);
        await site.Browser.NavigateAsync(site.Url + "/", Ct);

        await DashboardDom.AssertOverviewEqualsAsync(site.Browser, site.Summary, Ct);
        var total = await DashboardDom.KpisAsync(site.Browser, ["successful", "failed"], Ct);
        Assert.Equal(new long[] { site.Summary.Values.Sum(s => s.Successful), site.Summary.Values.Sum(s => s.Failed) }, total);
        await site.Browser.ScreenshotAsync(Path.Combine(Artifacts, "overview-1280x800.png"), Ct);
    }

    [Fact]
    public async Task Domain_ChartHasOnePointPerDay_AndNumbersEqualSummaryJson()
    {
        await site.Browser.SetViewportAsync(1280, 800, mobile: false, Ct);
        await site.Browser.NavigateAsync(site.Url + "/domain?name=alpha.example", Ct);

        var days = await site.Browser.EvaluateAsync<string[]>("[...document.querySelectorAll('#sessions-per-day circle.day')].map(c => c.dataset.day)", Ct);
        Assert.Equal(Enumerable.Range(0, MonthOfReports.Days).Select(i => MonthOfReports.First.AddDays(i).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)), days);
        var expected = site.Summary["alpha.example"];
        var pointSums = await site.Browser.EvaluateAsync<long[]>("""
            ['successful', 'failed'].map(f => [...document.querySelectorAll('#sessions-per-day circle.day')].reduce((s, c) => s + Number(c.dataset[f]), 0))
            """, Ct);
        Assert.Equal(new long[] { expected.Successful, expected.Failed }, pointSums);
        var kpis = await DashboardDom.KpisAsync(site.Browser, ["reports", "successful", "failed"], Ct);
        Assert.Equal(new long[] { expected.Reports, expected.Successful, expected.Failed }, kpis);
        var types = await site.Browser.EvaluateAsync<Dictionary<string, long>>("""
            Object.fromEntries([...document.querySelectorAll('#by-type tbody tr')].map(tr =>
                [tr.querySelector('[data-field=type]').textContent, Number(tr.querySelector('[data-field=sessions]').dataset.value)]))
            """, Ct);
        Assert.Equal(expected.FailureTypes, types);
        var findings = await site.Browser.EvaluateAsync<string[]>("[...document.querySelectorAll('#findings li')].map(li => li.dataset.id)", Ct);
        Assert.Contains("new-failure-type:certificate-expired", findings);
        Assert.Contains("reporter-failure-rate:Google LLC", findings);
        await site.Browser.ScreenshotAsync(Path.Combine(Artifacts, "domain-1280x800.png"), Ct);
    }

    [Fact]
    public async Task Phone_PagesFitTheWidth_AndAreCaptured()
    {
        await site.Browser.SetViewportAsync(390, 844, mobile: true, Ct);
        foreach (var (page, file) in new[] { ("/", "overview-390x844.png"), ("/domain?name=alpha.example", "domain-390x844.png"), ("/sent", "sent-390x844.png") })
        {
            await site.Browser.NavigateAsync(site.Url + page, Ct);

            var width = await site.Browser.EvaluateAsync<int>("document.documentElement.scrollWidth", Ct);
            Assert.True(width <= 390, $"{page} is {width} px wide on a 390 px phone");
            await site.Browser.ScreenshotAsync(Path.Combine(Artifacts, file), Ct);
        }
        Assert.True(new FileInfo(Path.Combine(Artifacts, "domain-390x844.png")).Length > 1000);
    }

    [Fact]
    public async Task HostileReport_RendersAsText_AndRunsNoScript()
    {
        await site.Browser.SetViewportAsync(1280, 800, mobile: false, Ct);
        await site.Browser.NavigateAsync(site.Url + "/domain?name=" + MonthOfReports.HostileDomain, Ct);
        Assert.Equal(MonthOfReports.HostileOrganization,
            await site.Browser.EvaluateAsync<string>("document.querySelector('#by-reporter [data-field=organization]').textContent", Ct));
        var report = await site.Browser.EvaluateAsync<string>("document.querySelector('#reports a').href", Ct);

        await site.Browser.NavigateAsync(report, Ct);

        Assert.Equal(MonthOfReports.HostileOrganization, await site.Browser.EvaluateAsync<string>("document.querySelector('#organization').textContent", Ct));
        Assert.Equal(MonthOfReports.HostileReason, await site.Browser.EvaluateAsync<string>("document.querySelector('#failures-1 [data-field=reason]').textContent", Ct));
        Assert.Equal(0, await site.Browser.EvaluateAsync<int>("document.querySelectorAll('script, img, b, [onerror]').length", Ct));
        Assert.Equal("undefined", await site.Browser.EvaluateAsync<string>("typeof window.__pwned", Ct));
        Assert.DoesNotContain(site.Browser.Events, e => e["method"]?.GetValue<string>() == "Page.javascriptDialogOpening");
        await site.Browser.ScreenshotAsync(Path.Combine(Artifacts, "hostile-report-1280x800.png"), Ct);
    }

    [Fact]
    public async Task Sent_PerDestinationNumbers_EqualTheSessionStore_HostileFieldsAreText()
    {
        var (byDomain, byType) = await SessionStoreTotals.ReadByDomainAsync(site.StateDir, d => d > DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-30));
        await site.Browser.SetViewportAsync(1280, 800, mobile: false, Ct);

        await site.Browser.NavigateAsync(site.Url + "/sent", Ct);

        var rows = await site.Browser.EvaluateAsync<Dictionary<string, long[]>>("""
            Object.fromEntries([...document.querySelectorAll('#sent-domains tbody tr')].map(tr => [
                tr.querySelector('[data-field=domain]').textContent,
                ['successful', 'failed'].map(f => Number(tr.querySelector(`[data-field=${f}]`).dataset.value))]))
            """, Ct);
        Assert.Equal(3, byDomain.Count);
        Assert.Equal(byDomain.Keys.Order(), rows.Keys.Order());
        foreach (var (domain, expected) in byDomain)
        {
            Assert.Equal(expected, rows[domain]);
        }
        Assert.DoesNotContain(SentSessions.OldDestination, rows.Keys);
        Assert.Equal(new[] { byDomain.Values.Sum(v => v[0]), byDomain.Values.Sum(v => v[1]), 3 }, await DashboardDom.KpisAsync(site.Browser, ["successful", "failed", "domains"], Ct));
        var types = await site.Browser.EvaluateAsync<Dictionary<string, long>>("""
            [...document.querySelectorAll('#sent-failures tbody tr')].reduce((by, tr) => {
                const type = tr.querySelector('[data-field=type]').textContent;
                by[type] = (by[type] ?? 0) + Number(tr.querySelector('[data-field=sessions]').dataset.value);
                return by;
            }, {})
            """, Ct);
        Assert.Equal(byType, types);
        var hostile = await site.Browser.EvaluateAsync<string[][]>("""
            ['domain', 'mx', 'reason'].map(f => [...new Set([...document.querySelectorAll(`#sent-failures [data-field=${f}]`)].map(td => td.textContent))])
            """, Ct);
        Assert.Contains(SentSessions.HostileDestination, hostile[0]);
        Assert.Contains(SentSessions.HostileMx, hostile[1]);
        Assert.Contains(SentSessions.HostileReason, hostile[2]);
        Assert.Equal(0, await site.Browser.EvaluateAsync<int>("document.querySelectorAll('script, img, [onerror], [onload]').length", Ct));
        Assert.Equal("undefined", await site.Browser.EvaluateAsync<string>("typeof window.__pwned", Ct));
        Assert.DoesNotContain(site.Browser.Events, e => e["method"]?.GetValue<string>() == "Page.javascriptDialogOpening");
        await site.Browser.ScreenshotAsync(Path.Combine(Artifacts, "sent-1280x800.png"), Ct);
    }

    [Fact]
    public async Task Monitored_WithoutHistory_SaysHowToStart()
    {
        await site.Browser.NavigateAsync(site.Url + "/monitored", Ct);

        Assert.Contains("check --watch", await site.Browser.EvaluateAsync<string>("document.querySelector('main').textContent", Ct), StringComparison.Ordinal);
    }

    /// <summary>The store, the summary, the running dashboard and the browser, shared by the tests of the class.</summary>
    public sealed class Dashboard : DashboardSite
    {
        protected override async Task StartAsync(CancellationToken ct)
        {
            await SentSessions.WriteAsync(StateDir, ct);
            var port = LoopbackPort.Free();
            Server = RampartProcess.Start(["dashboard", "--state-dir", StateDir, "--listen", $"127.0.0.1:{port}"]);
            await Server.WaitForLineAsync(l => l.StartsWith("rampart dashboard on", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
            Url = $"http://127.0.0.1:{port}";
            Browser = await HeadlessChromium.StartAsync(ct);
        }
    }
}
