namespace Rampart.Hosting.Tests;

public sealed class PrometheusTextTests
{
    [Fact]
    public void Family_ThenSamples_InTheExpositionFormat()
    {
        var text = new PrometheusText()
            .Family("rampart_x_total", "counter", "Things counted.")
            .Sample("rampart_x_total", [("policy", "dane"), ("answer", "OK")], 3)
            .Sample("rampart_x_total", 4)
            .Sample("rampart_x_seconds_sum", [], 0.25)
            .ToString();

        Assert.Equal(
            "# HELP rampart_x_total Things counted.\n# TYPE rampart_x_total counter\n"
            + "rampart_x_total{policy=\"dane\",answer=\"OK\"} 3\nrampart_x_total 4\nrampart_x_seconds_sum 0.25\n",
            text);
    }

    [Fact]
    public void Sample_LabelValue_EscapesBackslashQuoteAndNewline()
    {
        var text = new PrometheusText().Sample("m", [("domain", "a\\b\"c\nd")], 1).ToString();

        Assert.Equal("m{domain=\"a\\\\b\\\"c\\nd\"} 1\n", text);
    }
}
