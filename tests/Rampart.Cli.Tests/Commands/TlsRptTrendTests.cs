using Rampart.Core.TlsRpt;

namespace Rampart.Cli.Tests.Commands;

/// <summary>The per-day line of <c>tlsrpt summary</c>: one character per day, gaps shown, height by failed sessions.</summary>
public sealed class TlsRptTrendTests
{
    private static readonly DateOnly Day = new(2026, 11, 1);

    [Fact]
    public void Sparkline_OneCharacterPerDay_GapsAsDots_MostFailuresFullBlock()
    {
        TlsRptDayRow[] days =
        [
            new("a.example", Day, 1, 100, 0), new("a.example", Day.AddDays(1), 1, 100, 10), new("a.example", Day.AddDays(3), 1, 100, 80),
            new("a.example", Day.AddDays(4), 1, 100, 1),
        ];

        Assert.Equal("▁▂·█▂", TlsRptTrend.Sparkline(days)); // any failure shows above the baseline
        Assert.Equal("", TlsRptTrend.Sparkline([]));
    }
}
