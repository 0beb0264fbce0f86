namespace Rampart.Cli.Tests.Support;

/// <summary>What the dashboard's pages show, read from the DOM of the page the browser is on.</summary>
internal static class DashboardDom
{
    /// <summary>The overview's table: per policy domain, its reports, successful and failed sessions.</summary>
    public static Task<Dictionary<string, long[]>> OverviewRowsAsync(HeadlessChromium browser, CancellationToken ct) =>
        browser.EvaluateAsync<Dictionary<string, long[]>>("""
            Object.fromEntries([...document.querySelectorAll('#domains tbody tr')].map(tr => [
                tr.querySelector('[data-field=domain]').textContent,
                ['reports', 'successful', 'failed'].map(f => Number(tr.querySelector(`[data-field=${f}]`).dataset.value))]))
            """, ct);

    /// <summary>Asserts that the overview's table has exactly the domains of <paramref name="summary"/>, each with its numbers.</summary>
    public static async Task AssertOverviewEqualsAsync(HeadlessChromium browser, IReadOnlyDictionary<string, MonthOfReports.SummaryNumbers> summary, CancellationToken ct)
    {
        var rows = await OverviewRowsAsync(browser, ct);
        Assert.Equal(summary.Keys.Order(), rows.Keys.Order());
        foreach (var (domain, expected) in summary)
        {
            Assert.Equal(new long[] { expected.Reports, expected.Successful, expected.Failed }, rows[domain]);
        }
    }

    /// <summary>The numbers of the key figures at the top of a page (<c>reports</c>, <c>successful</c>, <c>failed</c>, <c>domains</c>).</summary>
    public static Task<long[]> KpisAsync(HeadlessChromium browser, IReadOnlyList<string> fields, CancellationToken ct) =>
        browser.EvaluateAsync<long[]>(
            $"[{string.Join(", ", fields.Select(f => $"'{f}'"))}].map(f => Number(document.querySelector(`.kpis [data-field=${{f}}]`).dataset.value))", ct);
}
