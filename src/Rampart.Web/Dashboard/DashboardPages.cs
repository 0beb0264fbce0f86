using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Http;
using Rampart.Core;
using Rampart.Core.Check;
using Rampart.Core.TlsRpt;

namespace Rampart.Web.Dashboard;

/// <summary>
/// Where the dashboard reads from: the report store (both of its interfaces) and, when there are any, the check --watch
/// history and the sessions of our own deliveries (TLS-RPT sending).
/// </summary>
internal sealed record DashboardSources(ITlsReportStore Reports, ITlsReportHistory History, IWatchHistoryView? Watch, TimeProvider Time,
    ITlsSessionStore? Sent = null);

/// <summary>
/// The dashboard's pages, server-rendered, read-only: <c>/</c> (every policy domain of the received TLS-RPT reports,
/// with findings), <c>/domain?name=D</c> (one domain: sessions per day, failures by result type, reporter, MX and sending
/// IP, its reports), <c>/report?key=N</c> (one report whole), <c>/monitored</c> (check --watch: verdict, findings with
/// first-seen, appeared/cleared timeline) and <c>/style.css</c>. Only GET and HEAD; a <c>days=N</c> query limits to
/// reports ending in the last N days. Every answer carries a strict Content-Security-Policy (no script at all). With a
/// credential, an address that sent <see cref="CredentialFailureLimits.MaxFailures"/> wrong ones is answered 429 for a while
/// (<see cref="CredentialFailureLimiter"/>, with <paramref name="failureLimits"/>, by default <see cref="CredentialFailureLimits.Default"/>).
/// </summary>
internal sealed class DashboardPages(DashboardSources sources, DashboardAccess access, string pathBase = "", CredentialFailureLimits? failureLimits = null)
{
    /// <summary>No script, no plug-in, no frame; styles and images from the dashboard only; forms submit to it.</summary>
    public const string ContentSecurityPolicy =
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

    private const int ReportsListed = 200;
    private const int SentDays = 30;
    private const int FindingsDomains = 200;
    private static readonly byte[] s_css = Encoding.UTF8.GetBytes(DashboardStyle.Css);
    private readonly CredentialFailureLimiter _failures = new(sources.Time, failureLimits);

    /// <summary>Where the pages are mounted (<c>/dashboard</c> in <c>rampart serve</c>); empty when they are the whole site.</summary>
    public string PathBase => pathBase;

    /// <summary>Answers one request.</summary>
    public async Task HandleAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var request = context.Request;
        var response = context.Response;
        var headers = response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        headers.XFrameOptions = "DENY";
        headers.CacheControl = "no-store";
        if (access.RequiresCredential)
        {
            var client = context.Connection.RemoteIpAddress;
            if (_failures.IsBlocked(client, out var retryAfter))
            {
                response.Headers.RetryAfter = retryAfter.ToString(CultureInfo.InvariantCulture);
                await PlainAsync(response, StatusCodes.Status429TooManyRequests, "too many wrong credentials from this address; try again later", context.RequestAborted).ConfigureAwait(false);
                return;
            }
            if (!access.Admits(request))
            {
                if (request.Headers.Authorization.Count > 0)
                {
                    _failures.Failed(client); // a browser's first request without credentials is not a wrong one
                }
                access.Challenge(response);
                return;
            }
            _failures.Succeeded(client);
        }
        if (!HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method))
        {
            response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            headers.Allow = "GET, HEAD";
            return;
        }
        var path = request.Path.Value ?? "/";
        if (path == "/style.css")
        {
            response.ContentType = "text/css; charset=utf-8";
            await response.Body.WriteAsync(s_css, context.RequestAborted).ConfigureAwait(false);
            return;
        }
        string page;
        try
        {
            if (!TryDays(request, out var days, out var badDays))
            {
                await PlainAsync(response, StatusCodes.Status400BadRequest, badDays, context.RequestAborted).ConfigureAwait(false);
                return;
            }
            var since = days is { } n ? sources.Time.GetUtcNow().AddDays(-n) : (DateTimeOffset?)null;
            switch (path)
            {
                case "/":
                    page = await OverviewAsync(days, since, context.RequestAborted).ConfigureAwait(false);
                    break;
                case "/domain" when request.Query["name"].ToString() is { Length: > 0 } name:
                    page = await DomainAsync(name, days, since, context.RequestAborted).ConfigureAwait(false);
                    break;
                case "/report":
                    if (!long.TryParse(request.Query["key"].ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out var key))
                    {
                        await PlainAsync(response, StatusCodes.Status400BadRequest, "report: key must be a report number from the list", context.RequestAborted).ConfigureAwait(false);
                        return;
                    }
                    if (await sources.History.ReadAsync(key, context.RequestAborted).ConfigureAwait(false) is not { } stored)
                    {
                        await PlainAsync(response, StatusCodes.Status404NotFound, $"no report {key}", context.RequestAborted).ConfigureAwait(false);
                        return;
                    }
                    page = Report(key, stored);
                    break;
                case "/monitored":
                    page = await MonitoredAsync(context.RequestAborted).ConfigureAwait(false);
                    break;
                case "/sent":
                    page = await SentAsync(days ?? SentDays, context.RequestAborted).ConfigureAwait(false);
                    break;
                default:
                    response.StatusCode = StatusCodes.Status404NotFound;
                    return;
            }
        }
        catch (RampartException ex)
        {
            await PlainAsync(response, StatusCodes.Status503ServiceUnavailable, ex.Message, context.RequestAborted).ConfigureAwait(false);
            return;
        }
        response.ContentType = "text/html; charset=utf-8";
        await response.WriteAsync(page, context.RequestAborted).ConfigureAwait(false);
    }

    private static bool TryDays(HttpRequest request, out int? days, out string error)
    {
        (days, error) = (null, "");
        var text = request.Query["days"].ToString();
        if (text.Length == 0)
        {
            return true;
        }
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is >= 1 and <= 36500)
        {
            days = n;
            return true;
        }
        error = "days: a whole number of days from 1 to 36500";
        return false;
    }

    private static Task PlainAsync(HttpResponse response, int status, string message, CancellationToken ct)
    {
        response.StatusCode = status;
        response.ContentType = "text/plain; charset=utf-8";
        return response.WriteAsync(DisplayText.Sanitize(message, 500) + "\n", ct);
    }

    private async Task<string> OverviewAsync(int? days, DateTimeOffset? since, CancellationToken ct)
    {
        var query = new TlsRptSummaryQuery(null, since);
        var domains = TlsRptSummaryBuilder.Build(await sources.Reports.AggregateAsync(query, ct).ConfigureAwait(false));
        var daily = await sources.History.DailyAsync(query, ct).ConfigureAwait(false);
        var html = Start("TLS reports received", days);
        html.Raw("<h1>TLS reports received</h1>");
        Filter(html, "/", days, null);
        if (domains.Count == 0)
        {
            html.Raw("<p class=\"empty\">").Text(since is null
                ? $"The report store ({sources.Reports.Location}) is empty: import reports with 'rampart tlsrpt import PATH' or receive them with 'rampart serve'."
                : $"No report in the last {days} day(s); the store has older ones.", 500).Raw("</p>");
        }
        else
        {
            Kpis(html, domains.Sum(d => d.Reports), domains.Sum(d => d.Successful), domains.Sum(d => d.Failed), domains.Count);
            var findings = new List<(string Domain, TlsRptAdvice Advice)>();
            foreach (var d in domains.OrderByDescending(d => d.Failed).Take(FindingsDomains))
            {
                foreach (var advice in await FindingsAsync(d, daily, since, ct).ConfigureAwait(false))
                {
                    findings.Add((d.PolicyDomain, advice));
                }
            }
            html.Raw("<h2>Findings</h2>");
            Findings(html, findings.OrderByDescending(f => Rank(f.Advice.Severity)).ToList());
            var perDomain = daily.Days.ToLookup(r => r.PolicyDomain, StringComparer.Ordinal);
            html.Table("Policy domains, most failures first", "domains",
                ["Policy domain", "Reports", "Successful", "Failed", "Failure rate", "Failed per day", "Last report"],
                domains.OrderByDescending(d => d.Failed).ThenBy(d => d.PolicyDomain, StringComparer.Ordinal),
                d => [
                    new Cell(null, Link($"/domain?name={Uri.EscapeDataString(d.PolicyDomain)}{DaysQuery(days, "&")}", d.PolicyDomain.Length > 0 ? d.PolicyDomain : "(no policy-domain)"), Field: "domain"),
                    Cell.Of(d.Reports, "reports"), Cell.Of(d.Successful, "successful"), Cell.Of(d.Failed, "failed"), Cell.Rate(d.FailureRate),
                    new Cell(null, SvgCharts.Sparkline(SvgCharts.Continuous(d.PolicyDomain, perDomain[d.PolicyDomain].ToList()))),
                    Html.Stamp(d.LastSeen),
                ]);
        }
        return End(html);
    }

    private async Task<string> DomainAsync(string name, int? days, DateTimeOffset? since, CancellationToken ct)
    {
        var query = new TlsRptSummaryQuery(name, since);
        var summary = TlsRptSummaryBuilder.Build(await sources.Reports.AggregateAsync(query, ct).ConfigureAwait(false));
        var html = Start(name, days);
        html.Element("h1", name, "id=\"domain-name\"");
        Filter(html, "/domain", days, name);
        if (summary.Count == 0)
        {
            var anyAtAll = TlsRptSummaryBuilder.Build(await sources.Reports.AggregateAsync(new TlsRptSummaryQuery(), ct).ConfigureAwait(false)).Count > 0;
            html.Raw("<p class=\"empty\">").Text(anyAtAll ? "No report matches: no report for this domain in the chosen period." : "The report store is empty.").Raw("</p>");
            return End(html);
        }
        var d = summary[0];
        var daily = await sources.History.DailyAsync(query, ct).ConfigureAwait(false);
        Kpis(html, d.Reports, d.Successful, d.Failed, null);
        var series = SvgCharts.Continuous(d.PolicyDomain, daily.Days.Where(r => r.PolicyDomain == d.PolicyDomain).ToList());
        html.Raw("<h2>Sessions per day</h2><p class=\"legend\"><span class=\"ok\">■ successful</span><span class=\"failed\">■ failed</span><span class=\"rate\">● failure rate</span></p>")
            .Raw(SvgCharts.SessionsPerDay(series, $"Sessions per day for {d.PolicyDomain}"))
            .Raw("<details><summary>The same, as a table</summary>")
            .Table("Sessions per day", "per-day", ["Day (UTC)", "Reports", "Successful", "Failed", "Failure rate"], series,
                r => [r.Day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), Cell.Of(r.Reports), Cell.Of(r.Successful), Cell.Of(r.Failed), Cell.Rate(r.FailureRate)])
            .Raw("</details>");
        html.Raw("<h2>Findings</h2>");
        Findings(html, (await FindingsAsync(d, daily, since, ct).ConfigureAwait(false)).Select(a => (d.PolicyDomain, a)).ToList());
        html.Table("Failures by result type", "by-type", ["Result type", "Sessions", "What it means"], d.FailureTypes,
            kv => [new Cell(kv.Key, Field: "type"), Cell.Of(kv.Value, "sessions"), TlsRptAdvisor.Explain(kv.Key, d.PolicyDomain).Meaning], "no failure details");
        html.Table("By reporter", "by-reporter", ["Reporter", "Reports", "Successful", "Failed", "Failure rate", "Severity", "First", "Last"], d.Reporters,
            r => [new Cell(r.Organization, Field: "organization"), Cell.Of(r.Reports), Cell.Of(r.Successful), Cell.Of(r.Failed), Cell.Rate(r.FailureRate),
                  new Cell(null, Severity(TlsRptFindings.Severity(r.FailureRate, new TlsRptAdviceSettings()) ?? (r.Failed > 0 ? "info" : "ok"))),
                  Html.Stamp(r.FirstSeen), Html.Stamp(r.LastSeen)]);
        html.Table("Failures by receiving MX", "by-mx", ["Receiving MX", "Sessions"], d.FailuresByMx, kv => [kv.Key, Cell.Of(kv.Value)], "no MX named in failure details");
        html.Table("Failures by sending IP", "by-ip", ["Sending MTA IP", "Sessions"], d.FailuresBySendingIp, kv => [kv.Key, Cell.Of(kv.Value)], "no sending IP in failure details");
        var reports = await sources.History.ListAsync(query, ReportsListed, ct).ConfigureAwait(false);
        html.Table(reports.Count == ReportsListed ? $"Reports (newest {ReportsListed})" : "Reports", "reports",
            ["Start (UTC)", "Reporter", "Report id", "Successful", "Failed", "DKIM"], reports,
            r => [Html.Stamp(r.Start), new Cell(r.OrganizationName, Field: "organization"), new Cell(null, Link($"/report?key={r.Key}", r.ReportId)),
                  Cell.Of(r.Successful), Cell.Of(r.Failed), r.Dkim]);
        return End(html);
    }

    private string Report(long key, TlsRptStoredReport stored)
    {
        var r = stored.Report;
        var html = Start($"report {r.ReportId}", null);
        html.Raw("<h1>Report ").Text(r.ReportId).Raw("</h1><dl>")
            .Raw("<dt>Reporter</dt>").Element("dd", r.OrganizationName, "id=\"organization\"")
            .Raw("<dt>Range (UTC)</dt>").Element("dd", $"{Html.Stamp(r.StartDatetime)} .. {Html.Stamp(r.EndDatetime)}")
            .Raw("<dt>Contact</dt>").Element("dd", r.ContactInfo ?? "(none)")
            .Raw("<dt>Source</dt>").Element("dd", stored.Source, "", 500)
            .Raw("<dt>DKIM</dt>").Element("dd", stored.Dkim.StatusName + (stored.Dkim.Domain is { } dk ? $" ({dk})" : "") + (stored.Dkim.Detail is { } dd ? $": {dd}" : ""), "", 500)
            .Raw("<dt>Sessions</dt>").Element("dd", $"{Html.Number(r.TotalSuccessful)} successful, {Html.Number(r.TotalFailed)} failed")
            .Raw("</dl>");
        if (r.Warnings.Count > 0)
        {
            html.Raw("<h2>Notes from import</h2><ul>");
            foreach (var warning in r.Warnings)
            {
                html.Element("li", warning, "", 500);
            }
            html.Raw("</ul>");
        }
        var i = 0;
        foreach (var p in r.Policies)
        {
            i++;
            html.Raw("<h2>Policy ").Raw(i.ToString(CultureInfo.InvariantCulture)).Raw(": ").Text(p.PolicyType).Raw(" for ").Text(p.PolicyDomain).Raw("</h2>")
                .Raw("<p>").Text($"{Html.Number(p.TotalSuccessfulSessionCount)} successful, {Html.Number(p.TotalFailureSessionCount)} failed; MX: {(p.MxHosts.Count > 0 ? string.Join(", ", p.MxHosts) : "(none)")}", 1000).Raw("</p>");
            if (p.PolicyString.Count > 0)
            {
                html.Raw("<details><summary>Policy as the reporter saw it</summary><pre>").Text(string.Join("\n", p.PolicyString.Select(s => DisplayText.Sanitize(s, 500))), 8000).Raw("</pre></details>");
            }
            html.Table("Failure details", $"failures-{i}",
                ["Result type", "Sessions", "Sending MTA IP", "Receiving MX", "Receiving IP", "HELO", "Reason code", "Additional information"], p.FailureDetails,
                f => [new Cell(f.ResultType, Field: "type"), Cell.Of(f.FailedSessionCount), f.SendingMtaIp, f.ReceivingMxHostname, f.ReceivingIp, f.ReceivingMxHelo,
                      new Cell(f.FailureReasonCode, Field: "reason"), f.AdditionalInformation],
                "no failure details");
        }
        html.Raw("<p><a href=\"").Raw(Href($"/domain?name={Uri.EscapeDataString(r.Policies.Count > 0 ? r.Policies[0].PolicyDomain : "")}")).Raw("\">Back to the domain</a> (report ")
            .Raw(key.ToString(CultureInfo.InvariantCulture)).Raw(")</p>");
        return End(html);
    }

    private async Task<string> MonitoredAsync(CancellationToken ct)
    {
        var html = Start("Monitored domains", null);
        html.Raw("<h1>Monitored domains</h1>");
        IReadOnlyList<WatchedDomain> domains = sources.Watch is null ? [] : await sources.Watch.ReadAllAsync(ct).ConfigureAwait(false);
        if (domains.Count == 0)
        {
            html.Raw("<p class=\"empty\">No monitored domain yet: 'rampart check --watch FILE' records its rounds in this state directory.</p>");
            return End(html);
        }
        html.Table("Current verdict", "monitored", ["Domain", "Verdict", "Failures", "Warnings", "Last checked (UTC)"],
            domains.OrderByDescending(d => d.Status).ThenBy(d => d.Domain, StringComparer.Ordinal),
            d => [new Cell(null, "<a href=\"#d-" + Anchor(d.Domain) + "\">" + Html.Encode(d.Domain) + "</a>", Field: "domain"),
                  new Cell(null, Severity(DomainCheckReport.StatusName(d.Status)), Field: "verdict"),
                  Cell.Of(d.Findings.Count(f => f.Finding.Severity == CheckSeverity.Failure)), Cell.Of(d.Findings.Count(f => f.Finding.Severity == CheckSeverity.Warning)),
                  d.LastChecked is { } at ? Html.Stamp(at) : "(before timelines were kept)"]);
        foreach (var d in domains.OrderBy(d => d.Domain, StringComparer.Ordinal))
        {
            html.Raw("<h2 id=\"d-").Raw(Anchor(d.Domain)).Raw("\">").Text(d.Domain).Raw(" ").Raw(Severity(DomainCheckReport.StatusName(d.Status))).Raw("</h2>");
            html.Table("Findings", "findings-" + Anchor(d.Domain), ["Severity", "Finding", "Subject", "Message", "First seen (UTC)"],
                d.Findings.OrderByDescending(f => f.Finding.Severity),
                f => [new Cell(null, Severity(CheckFinding.SeverityName(f.Finding.Severity))), f.Finding.Id, f.Finding.Subject, f.Finding.Message, Html.Stamp(f.FirstSeen)],
                "no findings: ok");
            html.Table("Timeline (newest first)", "timeline-" + Anchor(d.Domain), ["When (UTC)", "Change", "Severity", "Finding", "Subject"], d.Timeline.Take(100),
                e => [Html.Stamp(e.At), new Cell(e.Change, Field: "change"), new Cell(null, Severity(CheckFinding.SeverityName(e.Severity))), e.Id, e.Subject],
                "no change recorded yet");
        }
        return End(html);
    }

    /// <summary>
    /// Our own deliveries (the sessions TLS-RPT sending counts, per destination and UTC day): per destination domain the
    /// sessions ok and failed with a line of failures per day, then every failure of the period, newest first: what
    /// was deferred or failed, where, and why.
    /// </summary>
    private async Task<string> SentAsync(int days, CancellationToken ct)
    {
        var html = Start("Our deliveries", days);
        html.Raw("<h1>Our deliveries (sent side)</h1>");
        Filter(html, "/sent", days, null);
        if (sources.Sent is null)
        {
            html.Raw("<p class=\"empty\">No session store yet: the daemon records the sessions of our own deliveries when TLS-RPT sending is on (docs/tlsrpt-sending.md).</p>");
            return End(html);
        }
        var today = DateOnly.FromDateTime(sources.Time.GetUtcNow().UtcDateTime);
        var rows = new List<TlsSessionDayPolicy>();
        foreach (var day in (await sources.Sent.DaysAsync(ct).ConfigureAwait(false)).Where(d => d > today.AddDays(-days)).Order())
        {
            rows.AddRange(await sources.Sent.ReadDayAsync(day, null, ct).ConfigureAwait(false));
        }
        if (rows.Count == 0)
        {
            html.Raw("<p class=\"empty\">").Text($"No session recorded in the last {days} day(s).").Raw("</p>");
            return End(html);
        }
        var destinations = rows.GroupBy(r => r.ReportDomain, StringComparer.Ordinal)
            .Select(g => (Domain: g.Key, Successful: g.Sum(r => r.Successful), Failed: g.Sum(r => r.Failed),
                Days: g.GroupBy(r => r.Day).Select(d => new TlsRptDayRow(g.Key, d.Key, 0, d.Sum(r => r.Successful), d.Sum(r => r.Failed))).OrderBy(d => d.Day).ToList()))
            .OrderByDescending(d => d.Failed).ThenBy(d => d.Domain, StringComparer.Ordinal).ToList();
        Kpis(html, null, destinations.Sum(d => d.Successful), destinations.Sum(d => d.Failed), destinations.Count, "destination domains");
        html.Table("Destination domains, most failures first", "sent-domains", ["Destination", "Successful", "Failed", "Failure rate", "Failed per day"], destinations,
            d => [new Cell(d.Domain, Field: "domain"), Cell.Of(d.Successful, "successful"), Cell.Of(d.Failed, "failed"),
                  Cell.Rate(TlsRptSummaryBuilder.Rate(d.Successful, d.Failed)), new Cell(null, SvgCharts.Sparkline(SvgCharts.Continuous(d.Domain, d.Days)))]);
        var failures = rows.SelectMany(r => r.Failures.Select(f => (r.Day, r.ReportDomain, r.Policy.PolicyType, f.Failure, f.Sessions)))
            .OrderByDescending(f => f.Day).ThenByDescending(f => f.Sessions).Take(ReportsListed).ToList();
        html.Table("What failed and why (newest first)", "sent-failures",
            ["Day (UTC)", "Destination", "Policy", "Result type", "Sessions", "Receiving MX", "Receiving IP", "Reason code", "Additional information"], failures,
            f => [new Cell(f.Day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), Field: "day"), new Cell(f.ReportDomain, Field: "domain"), f.PolicyType,
                  new Cell(f.Failure.ResultType, Field: "type"), Cell.Of(f.Sessions, "sessions"), new Cell(f.Failure.ReceivingMxHostname, Field: "mx"), f.Failure.ReceivingIp,
                  new Cell(f.Failure.FailureReasonCode, Field: "reason"), new Cell(f.Failure.AdditionalInformation, Field: "information")],
            "no failed session");
        return End(html);
    }

    private async Task<IReadOnlyList<TlsRptAdvice>> FindingsAsync(TlsRptDomainSummary d, TlsRptDaily daily, DateTimeOffset? since, CancellationToken ct)
    {
        var newest = await sources.History.ListAsync(new TlsRptSummaryQuery(d.PolicyDomain, since), 1, ct).ConfigureAwait(false);
        var report = newest.Count == 0 ? null : (await sources.History.ReadWithoutFailureDetailsAsync(newest[0].Key, ct).ConfigureAwait(false))?.Report;
        return [.. TlsRptAdvisor.Advise(d).Where(a => a.Id == "failure-rate"), .. TlsRptFindings.Find(d, daily.FailureTypes, report)];
    }

    private static void Findings(Html html, IReadOnlyList<(string Domain, TlsRptAdvice Advice)> findings)
    {
        if (findings.Count == 0)
        {
            html.Raw("<p class=\"empty\" id=\"findings\">Nothing to look at.</p>");
            return;
        }
        html.Raw("<ul class=\"findings\" id=\"findings\">");
        foreach (var (domain, advice) in findings)
        {
            html.Raw("<li class=\"").Raw(SeverityClass(advice.Severity)).Raw("\" data-id=\"").Text(advice.Id).Raw("\"><span class=\"sev\">").Raw(SeverityClass(advice.Severity)).Raw("</span>")
                .Element("b", domain).Raw(" ").Text(advice.Message, 600).Raw("<span class=\"fix\">Fix: ").Text(advice.Fix, 600).Raw("</span></li>");
        }
        html.Raw("</ul>");
    }

    private static void Kpis(Html html, long? reports, long successful, long failed, int? domains, string domainsLabel = "policy domains")
    {
        html.Raw("<div class=\"kpis\">");
        if (reports is { } r)
        {
            Kpi("reports", "reports", r);
        }
        Kpi("successful", "successful sessions", successful);
        Kpi("failed", "failed sessions", failed);
        html.Raw("<div class=\"kpi\"><b data-field=\"failure-rate\">").Raw(Html.Percent(TlsRptSummaryBuilder.Rate(successful, failed))).Raw("</b><span>failure rate</span></div>");
        if (domains is { } n)
        {
            Kpi("domains", domainsLabel, n);
        }
        html.Raw("</div>");

        void Kpi(string field, string label, long value) =>
            html.Raw("<div class=\"kpi\"><b data-field=\"").Raw(field).Raw("\" data-value=\"").Raw(value.ToString(CultureInfo.InvariantCulture)).Raw("\">")
                .Raw(Html.Number(value)).Raw("</b><span>").Raw(label).Raw("</span></div>");
    }

    private void Filter(Html html, string action, int? days, string? name)
    {
        html.Raw("<form class=\"filter\" method=\"get\" action=\"").Raw(Href(action)).Raw("\">");
        if (name is not null)
        {
            html.Raw("<input type=\"hidden\" name=\"name\" value=\"").Text(name, 300).Raw("\">");
        }
        html.Raw("<label for=\"days\">Period</label><select id=\"days\" name=\"days\">");
        foreach (var (value, label) in new[] { ("", "all reports"), ("7", "last 7 days"), ("30", "last 30 days"), ("90", "last 90 days"), ("365", "last year") })
        {
            var selected = value == (days?.ToString(CultureInfo.InvariantCulture) ?? "") ? " selected" : "";
            html.Raw($"<option value=\"{value}\"{selected}>{label}</option>");
        }
        html.Raw("</select><button type=\"submit\">Show</button></form>");
    }

    private Html Start(string title, int? days)
    {
        var html = new Html();
        html.Raw("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
            .Raw("<title>").Text(title).Raw(" · Rampart</title><link rel=\"stylesheet\" href=\"").Raw(Href("/style.css")).Raw("\"></head><body><header><strong>Rampart</strong>")
            .Raw("<a href=\"").Raw(Href("/" + DaysQuery(days, "?"))).Raw("\">TLS reports received</a>")
            .Raw("<a href=\"").Raw(Href("/monitored")).Raw("\">Monitored domains</a>")
            .Raw("<a href=\"").Raw(Href("/sent")).Raw("\">Our deliveries</a></header><main>");
        return html;
    }

    private static string End(Html html) => html.Raw("</main></body></html>").ToString();

    private string Link(string target, string text) => $"<a href=\"{Href(target)}\">{Html.Encode(text)}</a>";

    /// <summary>A link inside the dashboard (under its path base when mounted), encoded for an attribute.</summary>
    private string Href(string target) => System.Net.WebUtility.HtmlEncode(pathBase + target);

    private static string DaysQuery(int? days, string separator) => days is { } n ? $"{separator}days={n}" : "";

    private static string Severity(string severity) => $"<span class=\"sev {SeverityClass(severity)}\">{SeverityClass(severity)}</span>";

    private static string SeverityClass(string severity) => severity switch
    {
        "failure" => "failure",
        "warning" => "warning",
        "info" => "info",
        _ => "ok",
    };

    private static int Rank(string severity) => severity switch { "failure" => 3, "warning" => 2, "info" => 1, _ => 0 };

    /// <summary>A fragment id for a domain name: letters, digits, '-' and '.' kept, anything else as its code.</summary>
    private static string Anchor(string domain)
    {
        var sb = new StringBuilder(domain.Length);
        foreach (var c in domain)
        {
            sb.Append(char.IsAsciiLetterOrDigit(c) || c is '-' or '.' ? c : $"_{(int)c:x}");
        }
        return sb.ToString();
    }
}
