using System.Text;
using Rampart.Core.TlsRpt;

namespace Rampart.Cli;

/// <summary>A domain's per-day series as one terminal line: a block per day, its height the day's failed sessions.</summary>
internal static class TlsRptTrend
{
    private const string Blocks = "▁▂▃▄▅▆▇█";

    /// <summary>
    /// One character per day from the first to the last day of <paramref name="days"/> (one domain's rows, by day):
    /// <c>▁</c> no failure … <c>█</c> the most failures, <c>·</c> a day without a report.
    /// </summary>
    public static string Sparkline(IReadOnlyList<TlsRptDayRow> days)
    {
        if (days.Count == 0)
        {
            return "";
        }
        var byDay = days.ToDictionary(d => d.Day);
        var max = Math.Max(1, days.Max(d => d.Failed));
        var line = new StringBuilder();
        for (var day = days[0].Day; day <= days[^1].Day; day = day.AddDays(1))
        {
            line.Append(byDay.TryGetValue(day, out var row)
                ? Blocks[row.Failed == 0 ? 0 : 1 + (int)((Blocks.Length - 2) * row.Failed / max)]
                : '·');
        }
        return line.ToString();
    }
}
