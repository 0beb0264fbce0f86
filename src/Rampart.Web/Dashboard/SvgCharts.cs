using System.Globalization;
using System.Text;
using Rampart.Core.TlsRpt;

namespace Rampart.Web.Dashboard;

/// <summary>
/// Charts drawn by Rampart as inline SVG (no script, no external file, nothing a Content-Security-Policy has to allow):
/// colours are presentation attributes, each point carries its numbers as <c>data-*</c> attributes and a
/// <c>&lt;title&gt;</c> tooltip, and every chart has a table of the same numbers beside it for readers without it.
/// </summary>
internal static class SvgCharts
{
    private const string Ok = "#2e7d32";
    private const string Failed = "#c62828";
    private const string Rate = "#1565c0";

    /// <summary>Every day from the first to the last of <paramref name="days"/> (one domain's rows), a day with no report as zeros.</summary>
    public static IReadOnlyList<TlsRptDayRow> Continuous(string domain, IReadOnlyList<TlsRptDayRow> days)
    {
        if (days.Count == 0)
        {
            return [];
        }
        var byDay = days.ToDictionary(d => d.Day);
        var all = new List<TlsRptDayRow>();
        for (var day = days.Min(d => d.Day); day <= days.Max(d => d.Day); day = day.AddDays(1))
        {
            all.Add(byDay.GetValueOrDefault(day) ?? new TlsRptDayRow(domain, day, 0, 0, 0));
        }
        return all;
    }

    /// <summary>
    /// Sessions per day as stacked bars (successful, failed) with the failure rate as a line of points on its own scale;
    /// one <c>circle.day</c> per day.
    /// </summary>
    public static string SessionsPerDay(IReadOnlyList<TlsRptDayRow> days, string label)
    {
        const double width = 960, height = 280, left = 64, right = 56, top = 16, bottom = 40;
        var plotWidth = width - left - right;
        var plotHeight = height - top - bottom;
        var svg = new StringBuilder(4096 + days.Count * 400);
        svg.Append(Invariant($"<svg class=\"chart\" id=\"sessions-per-day\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\""))
           .Append(Html.Encode(label)).Append("\" xmlns=\"http://www.w3.org/2000/svg\">");
        if (days.Count == 0)
        {
            svg.Append(Invariant($"<text x=\"{width / 2}\" y=\"{height / 2}\" text-anchor=\"middle\" fill=\"#555\">no reports</text></svg>"));
            return svg.ToString();
        }
        var maxSessions = Math.Max(1, days.Max(d => d.Successful + d.Failed));
        var maxRate = Math.Max(0.01, days.Max(d => d.FailureRate));
        var slot = plotWidth / days.Count;
        var barWidth = Math.Max(1, slot * 0.7);
        double Y(double fraction) => top + plotHeight * (1 - fraction);
        svg.Append(Invariant($"<line x1=\"{left}\" y1=\"{Y(0)}\" x2=\"{width - right}\" y2=\"{Y(0)}\" stroke=\"#888\"/>"));
        svg.Append(Invariant($"<text x=\"{left - 6}\" y=\"{Y(1) + 4}\" text-anchor=\"end\" font-size=\"12\" fill=\"#333\">{Html.Number(maxSessions)}</text>"));
        svg.Append(Invariant($"<text x=\"{left - 6}\" y=\"{Y(0) + 4}\" text-anchor=\"end\" font-size=\"12\" fill=\"#333\">0</text>"));
        svg.Append(Invariant($"<text x=\"{width - right + 6}\" y=\"{Y(1) + 4}\" font-size=\"12\" fill=\"{Rate}\">{Html.Percent(maxRate)}</text>"));
        svg.Append(Invariant($"<text x=\"{left}\" y=\"{height - 12}\" font-size=\"12\" fill=\"#333\">{days[0].Day:yyyy-MM-dd}</text>"));
        svg.Append(Invariant($"<text x=\"{width - right}\" y=\"{height - 12}\" text-anchor=\"end\" font-size=\"12\" fill=\"#333\">{days[^1].Day:yyyy-MM-dd}</text>"));
        var line = new StringBuilder();
        var points = new StringBuilder();
        for (var i = 0; i < days.Count; i++)
        {
            var d = days[i];
            var x = left + slot * i + (slot - barWidth) / 2;
            var okHeight = plotHeight * d.Successful / maxSessions;
            var failedHeight = plotHeight * d.Failed / maxSessions;
            svg.Append(Invariant($"<rect x=\"{x:0.##}\" y=\"{Y(0) - okHeight:0.##}\" width=\"{barWidth:0.##}\" height=\"{okHeight:0.##}\" fill=\"{Ok}\"/>"));
            if (failedHeight > 0)
            {
                svg.Append(Invariant($"<rect x=\"{x:0.##}\" y=\"{Y(0) - okHeight - Math.Max(failedHeight, 1):0.##}\" width=\"{barWidth:0.##}\" height=\"{Math.Max(failedHeight, 1):0.##}\" fill=\"{Failed}\"/>"));
            }
            var cx = left + slot * i + slot / 2;
            var cy = Y(d.FailureRate / maxRate);
            line.Append(Invariant($"{(i == 0 ? "" : " ")}{cx:0.##},{cy:0.##}"));
            points.Append(Invariant($"<circle class=\"day\" cx=\"{cx:0.##}\" cy=\"{cy:0.##}\" r=\"3\" fill=\"{Rate}\" data-day=\"{d.Day:yyyy-MM-dd}\" data-reports=\"{d.Reports}\" data-successful=\"{d.Successful}\" data-failed=\"{d.Failed}\">"))
                  .Append(Invariant($"<title>{d.Day:yyyy-MM-dd}: {Html.Number(d.Successful)} ok, {Html.Number(d.Failed)} failed ({Html.Percent(d.FailureRate)}), {d.Reports} report(s)</title></circle>"));
        }
        svg.Append(Invariant($"<polyline points=\"{line}\" fill=\"none\" stroke=\"{Rate}\" stroke-width=\"1.5\"/>")).Append(points).Append("</svg>");
        return svg.ToString();
    }

    /// <summary>A small line of failed sessions per day for a table row (no axes).</summary>
    public static string Sparkline(IReadOnlyList<TlsRptDayRow> days)
    {
        const double width = 120, height = 24;
        if (days.Count == 0)
        {
            return "";
        }
        var max = Math.Max(1, days.Max(d => d.Failed));
        var step = days.Count == 1 ? 0 : width / (days.Count - 1);
        var points = string.Join(' ', days.Select((d, i) => Invariant($"{i * step:0.#},{height - 2 - (height - 4) * d.Failed / max:0.#}")));
        return Invariant($"<svg class=\"spark\" viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" role=\"img\" aria-label=\"failed sessions per day\" xmlns=\"http://www.w3.org/2000/svg\"><polyline points=\"{points}\" fill=\"none\" stroke=\"{Failed}\" stroke-width=\"1.5\"/></svg>");
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
