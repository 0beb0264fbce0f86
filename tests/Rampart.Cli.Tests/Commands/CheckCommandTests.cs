using System.Net;
using System.Net.Sockets;
using System.Text.Json;
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
    public async Task Check_BadInput_OneLineErrorExit2(string bad, string named)
    {
        var args = bad.StartsWith("--", StringComparison.Ordinal) ? new[] { "check", "example.org", bad } : ["check", bad];

        var result = await CliRunner.RunAsync(args);

        Assert.Equal(2, result.ExitCode);
        Assert.False(CliRunner.HasStackTrace(result), result.ToString());
        var line = Assert.Single(result.Stderr.Trim().Split('\n'));
        Assert.Contains(named, line, StringComparison.Ordinal);
        Assert.Empty(result.Stdout);
    }

    [Theory]
    [InlineData("missing", "no such file or directory")]
    [InlineData("directory", "without fullchain.pem or cert.pem")]
    [InlineData("garbage", "is neither PEM")]
    public async Task Check_BadNextCert_OneLineErrorNamingThePathExit2(string kind, string rule)
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

            Assert.Equal(2, result.ExitCode);
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
    public async Task Check_NoDomain_UsageErrorExit2()
    {
        var result = await CliRunner.RunAsync("check");

        Assert.Equal(2, result.ExitCode);
        Assert.False(CliRunner.HasStackTrace(result), result.ToString());
    }

    [Fact]
    public async Task Check_SilentResolver_JsonArrayOfFailuresWithinTimeout()
    {
        using var silent = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        silent.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var resolver = silent.LocalEndPoint!.ToString()!;

        var result = await CliRunner.RunAsync(["check", "example.org", "example.net", "--resolver", resolver, "--timeout", "1", "--json"], null, TimeSpan.FromSeconds(60));

        Assert.Equal(2, result.ExitCode);
        Assert.False(CliRunner.HasStackTrace(result), result.ToString());
        using var doc = JsonDocument.Parse(result.Stdout);
        var reports = doc.RootElement.EnumerateArray().ToList();
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
    public async Task Check_SilentResolverHuman_VerdictLine()
    {
        using var silent = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        silent.Bind(new IPEndPoint(IPAddress.Loopback, 0));

        var result = await CliRunner.RunAsync(["check", "example.org", "--resolver", silent.LocalEndPoint!.ToString()!, "--timeout", "1"], null, TimeSpan.FromSeconds(60));

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("FAILURE mx.lookup-error [example.org]", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("Verdict for example.org: FAILURE", result.Stdout, StringComparison.Ordinal);
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
