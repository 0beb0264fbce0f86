using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Rampart.Cli.Tests.Support;
using Rampart.Core.Check;
using Rampart.Tests.Shared;

namespace Rampart.Cli.Tests.Commands;

/// <summary><c>rampart check</c> offline: input errors in one line, the JSON contract and exit codes, a silent resolver bounded by --timeout.</summary>
public sealed class CheckCommandTests
{
    [Theory]
    [InlineData("bad domain!", "check: domain 'bad domain!'")]
    [InlineData("--timeout=0", "rampart check: --timeout: '0' must be more than 0 and at most 600 seconds")]
    [InlineData("--concurrency=0", "rampart check: --concurrency: '0' must be from 1 to 256 domains")]
    [InlineData("--port=70000", "rampart check: --port: '70000' is not a port")]
    [InlineData("--rrsig-days=-1", "rampart check: --rrsig-days: '-1' must be from 0 to 3650 days")]
    public async Task Check_BadInput_OneLineErrorExit3Unknown(string bad, string named)
    {
        var args = bad.StartsWith("--", StringComparison.Ordinal) ? new[] { "check", "example.org", bad } : ["check", bad];

        var result = await CliRunner.RunAsync(args);

        Assert.Equal(3, result.ExitCode);
        Assert.False(CliRunner.HasStackTrace(result), result.ToString());
        var line = Assert.Single(result.Stderr.Trim().Split('\n'));
        Assert.Contains(named, line, StringComparison.Ordinal);
        Assert.Empty(result.Stdout);
    }

    [Theory]
    [InlineData("missing", "no such file or directory")]
    [InlineData("directory", "without fullchain.pem or cert.pem")]
    [InlineData("garbage", "is neither PEM")]
    public async Task Check_BadNextCert_OneLineErrorNamingThePathExit3(string kind, string rule)
    {
        var dir = Directory.CreateTempSubdirectory("rampart-next-cli-").FullName;
        try
        {
            var path = Path.Combine(dir, kind == "directory" ? "" : "next.pem");
            if (kind == "garbage")
            {
                await File.WriteAllTextAsync(path, "not a certificate", TestContext.Current.CancellationToken);
            }

            var result = await CliRunner.RunAsync("check", "example.org", "--next-cert", path);

            Assert.Equal(3, result.ExitCode);
            Assert.False(CliRunner.HasStackTrace(result), result.ToString());
            var line = Assert.Single(result.Stderr.Trim().Split('\n'));
            Assert.StartsWith($"rampart: --next-cert {path}", line, StringComparison.Ordinal);
            Assert.Contains(rule, line, StringComparison.Ordinal);
            Assert.Empty(result.Stdout);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task Check_NoDomain_UsageErrorExit3()
    {
        var result = await CliRunner.RunAsync("check");

        Assert.Equal(3, result.ExitCode);
        Assert.False(CliRunner.HasStackTrace(result), result.ToString());
    }

    [Fact]
    public async Task Check_SilentResolver_UnknownNotTheDomains_JsonOneShapeWithinTimeout()
    {
        using var silent = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        silent.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var resolver = silent.LocalEndPoint!.ToString()!;

        var result = await CliRunner.RunAsync(["check", "example.org", "example.net", "--resolver", resolver, "--timeout", "1", "--json"], null, TimeSpan.FromSeconds(60));

        Assert.Equal(3, result.ExitCode);
        Assert.False(CliRunner.HasStackTrace(result), result.ToString());
        using var doc = JsonDocument.Parse(result.Stdout);
        Assert.Equal("unknown", doc.RootElement.GetProperty("status").GetString());
        Assert.Contains($"the local resolver {resolver} does not answer for 'org' either", doc.RootElement.GetProperty("unknown").GetString(), StringComparison.Ordinal);
        var reports = doc.RootElement.GetProperty("domains").EnumerateArray().ToList();
        Assert.Equal(["example.org", "example.net"], reports.Select(r => r.GetProperty("domain").GetString()!));
        foreach (var report in reports)
        {
            Assert.Equal("failure", report.GetProperty("status").GetString());
            var mx = report.GetProperty("findings").EnumerateArray().First(f => f.GetProperty("id").GetString() == "mx.lookup-error");
            Assert.Equal("failure", mx.GetProperty("severity").GetString());
            Assert.Equal(report.GetProperty("domain").GetString(), mx.GetProperty("subject").GetString());
            Assert.Contains("timeout", mx.GetProperty("message").GetString(), StringComparison.Ordinal);
            Assert.False(string.IsNullOrEmpty(mx.GetProperty("fix").GetString()));
            Assert.False(string.IsNullOrEmpty(mx.GetProperty("reference").GetString()));
        }
        Assert.True(result.Elapsed < TimeSpan.FromSeconds(30), result.ToString());
    }

    [Fact]
    public async Task Check_SilentResolverHuman_VerdictLineThenUnknown()
    {
        using var silent = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        silent.Bind(new IPEndPoint(IPAddress.Loopback, 0));

        var result = await CliRunner.RunAsync(["check", "example.org", "--resolver", silent.LocalEndPoint!.ToString()!, "--timeout", "1"], null, TimeSpan.FromSeconds(60));

        Assert.Equal(3, result.ExitCode);
        Assert.Contains("FAILURE mx.lookup-error [example.org]", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("Verdict for example.org: FAILURE", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("(docs/checks.md#mx; RFC", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("UNKNOWN: the local resolver", result.Stdout, StringComparison.Ordinal);
        Assert.EndsWith("1 domain(s): 1 failure, 0 warning, 0 ok", result.Stdout.Trim().Split('\n')[^1].Split(';')[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_Nagios_SilentResolver_Unknown3_StatusLineAndPerfdata()
    {
        using var silent = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        silent.Bind(new IPEndPoint(IPAddress.Loopback, 0));

        var result = await CliRunner.RunAsync(["check", "example.org", "example.net", "--nagios", "--resolver", silent.LocalEndPoint!.ToString()!, "--timeout", "1"], null, TimeSpan.FromSeconds(60));

        Assert.Equal(3, result.ExitCode);
        var line = Assert.Single(result.Stdout.Trim().Split('\n'));
        Assert.StartsWith("UNKNOWN - the local resolver", line, StringComparison.Ordinal);
        var perf = NagiosPerfdata(line);
        Assert.Equal((2L, 0L, 0L, 2L), (perf["domains"], perf["ok"], perf["warning"], perf["failure"]));
        Assert.True(perf["findings_failure"] >= 2);
    }

    [Theory]
    [InlineData("bad domain!")]
    [InlineData("--timeout=abc")]
    [InlineData("--jsno")]
    public async Task Check_Nagios_BadInput_Unknown3_OneStatusLine(string bad)
    {
        var args = bad.StartsWith("--", StringComparison.Ordinal) ? new[] { "check", "--nagios", "example.org", bad } : ["check", "--nagios", bad];

        var result = await CliRunner.RunAsync(args);

        Assert.Equal(3, result.ExitCode);
        Assert.StartsWith("UNKNOWN - ", Assert.Single(result.Stdout.Trim().Split('\n')), StringComparison.Ordinal);
        Assert.False(CliRunner.HasStackTrace(result), result.ToString());
    }

    [Theory]
    [InlineData(new CheckSeverity[0], 0, "OK - 0 domain(s) ok")]
    [InlineData(new[] { CheckSeverity.Ok, CheckSeverity.Info }, 0, "OK - 2 domain(s) ok")]
    [InlineData(new[] { CheckSeverity.Warning, CheckSeverity.Ok }, 1, "WARNING - 1 of 2 with warnings: d0.example (x.warning)")]
    [InlineData(new[] { CheckSeverity.Warning, CheckSeverity.Failure }, 2, "CRITICAL - 1 of 2 domain(s) failing: d1.example (x.failure); 1 of 2 with warnings: d0.example (x.warning)")]
    public void Nagios_EachStatus_ExitCodeLineAndParseablePerfdata(CheckSeverity[] severities, int exitCode, string text)
    {
        var reports = severities.Select((s, i) => new DomainCheckReport($"d{i}.example",
            [new CheckFinding($"x.{CheckFinding.SeverityName(s)}", s, "d|pipe", "m", "f", "r")])).ToList();

        var (line, code) = CheckOutput.Nagios(reports, null);

        Assert.Equal(exitCode, code);
        Assert.StartsWith(text + " | ", line, StringComparison.Ordinal);
        var perf = NagiosPerfdata(line);
        Assert.Equal(reports.Count, perf["domains"]);
        Assert.Equal(perf["domains"], perf["ok"] + perf["warning"] + perf["failure"]);
        Assert.Equal(severities.Count(s => s == CheckSeverity.Failure), perf["findings_failure"]);
        var (unknown, unknownCode) = CheckOutput.Nagios(reports, "resolver down | really");
        Assert.Equal(3, unknownCode);
        Assert.StartsWith("UNKNOWN - resolver down / really | domains=", unknown, StringComparison.Ordinal);
    }

    /// <summary>The perfdata of a plugin line, parsed as monitoring systems do: after the one '|', <c>label=value[UOM];warn;crit;min;max</c>.</summary>
    private static Dictionary<string, long> NagiosPerfdata(string line)
    {
        var parts = line.Split('|');
        Assert.Equal(2, parts.Length);
        return parts[1].Trim().Split(' ').Select(item =>
        {
            var m = System.Text.RegularExpressions.Regex.Match(item, @"^([a-z_]+)=(\d+);;;0$");
            Assert.True(m.Success, $"perfdata item '{item}'");
            return (m.Groups[1].Value, long.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture));
        }).ToDictionary(kv => kv.Item1, kv => kv.Item2);
    }

    [Fact]
    public void Human_SummaryAcrossDomains_DocsAnchorPerFamily()
    {
        var reports = new List<DomainCheckReport>
        {
            new("ok.example", [new CheckFinding("mx.ok", CheckSeverity.Ok, "ok.example", "fine", "", "RFC 5321"), new CheckFinding("dane.tlsa.none", CheckSeverity.Info, "mx", "no TLSA", "Publish TLSA.", "RFC 7672")]),
            new("bad.example", [new CheckFinding("mx.ok", CheckSeverity.Ok, "bad.example", "fine", "", "RFC 5321"), new CheckFinding("tls.cert.expired", CheckSeverity.Failure, "mx", "expired", "Renew.", "RFC 8461")]),
        };

        Assert.Equal("docs/checks.md#certificates-per-mx-address", CheckDocs.Anchor("tls.cert.expired"));
        Assert.Equal("2 domain(s): 1 failure, 0 warning, 1 ok", CheckOutput.Summary(reports));
    }

    [Fact]
    public void DocsAnchors_EveryFamilySection_IsAHeadingOfChecksMd()
    {
        var anchors = DocsPages.Anchors(CheckDocs.Page);
        foreach (var family in new[] { "mx.x", "dnssec.x", "smtp.x", "tls.x", "dane.x", "mta-sts.x", "tls-rpt.x", "consistency.x", "check.x" })
        {
            Assert.Contains(CheckDocs.Section(family), anchors);
        }
    }

    [Theory]
    [InlineData(new CheckSeverity[0], 0)]
    [InlineData(new[] { CheckSeverity.Info }, 0)]
    [InlineData(new[] { CheckSeverity.Warning, CheckSeverity.Ok }, 1)]
    [InlineData(new[] { CheckSeverity.Warning, CheckSeverity.Failure }, 2)]
    public void ExitCode_WorstStatusNagiosStyle(CheckSeverity[] severities, int exitCode)
    {
        var reports = severities.Select((s, i) => new DomainCheckReport($"d{i}.example", [new CheckFinding("x.y", s, "d", "m", "f", "r")])).ToList();

        Assert.Equal(exitCode, CheckOutput.ExitCode(reports));
    }
}
