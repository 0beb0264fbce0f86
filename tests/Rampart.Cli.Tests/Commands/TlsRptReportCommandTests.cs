using System.Text.Json;
using Rampart.Core.TlsRpt;
using Rampart.Storage.TlsRpt;
using Rampart.Tests.Shared;

namespace Rampart.Cli.Tests.Commands;

/// <summary>
/// <c>rampart tlsrpt report</c> and <c>send</c> through the real executable, over a session store with counts: the JSON
/// contract, the RFC 8460 object in it, bad input in one line, and a DNS error that keeps a report for the next try
/// without building it twice.
/// </summary>
public sealed class TlsRptReportCommandTests : IDisposable
{
    private static readonly DateOnly s_day = new(2026, 11, 30);
    private readonly string _dir = Directory.CreateTempSubdirectory("rampart-tlsrpt-report-").FullName;
    private readonly string _noResolver = "127.0.0.1:" + LoopbackPort.Free(); // nothing answers: every lookup is an error

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string State => Path.Combine(_dir, "state");

    private static async Task SeedAsync(string state, DateOnly day)
    {
        var at = new DateTimeOffset(day.ToDateTime(new TimeOnly(10, 0)), TimeSpan.Zero);
        var sts = new TlsSessionPolicy(TlsRptPolicyTypes.Sts, "sts-enforce.test", ["version: STSv1", "mode: enforce", "mx: mx.sts-enforce.test", "max_age: 86400"], ["mx.sts-enforce.test"]);
        var stripped = new TlsSessionFailure(TlsRptResultTypes.StartTlsNotSupported, "10.0.0.2", "mx.sts-enforce.test", null, "10.0.0.25");
        var entries = new List<TlsSessionEntry>();
        for (var i = 0; i < 4; i++)
        {
            entries.Add(new(new TlsSessionResult("sts-enforce.test", "v=TLSRPTv1; rua=mailto:tlsrpt@sts-enforce.test", sts, true, [], at)));
        }
        entries.Add(new(new TlsSessionResult("sts-enforce.test", "v=TLSRPTv1; rua=mailto:tlsrpt@sts-enforce.test", sts, false, [stripped], at)));
        await using var store = await SqliteTlsSessionStore.OpenAsync(SqliteTlsSessionStore.PathIn(state), TimeProvider.System, TestContext.Current.CancellationToken);
        await store.AddAsync(TlsSessionSources.Datagram, entries, null, TestContext.Current.CancellationToken);
    }

    private string Config(string reporting)
    {
        var path = Path.Combine(_dir, "rampart.yml");
        File.WriteAllText(path, $"state_dir: {State}\nresolver: {_noResolver}\ntlsrpt_reporting:\n{reporting}");
        return path;
    }

    [Fact]
    public async Task Report_Json_OneReportPerDomain_TheRfcObjectReadsBack()
    {
        await SeedAsync(State, s_day);
        var config = Config("  sender_address: tlsrpt@sender.test\n  organization_name: Sender Test\n");

        var result = await CliRunner.RunAsync("tlsrpt", "report", "--config", config, "--day", "2026-11-30", "--json");

        Assert.True(result.ExitCode == 0, result.ToString());
        using var json = JsonDocument.Parse(result.Stdout);
        Assert.Equal("2026-11-30", json.RootElement.GetProperty("day").GetString());
        var report = Assert.Single(json.RootElement.GetProperty("reports").EnumerateArray());
        Assert.Equal("sts-enforce.test", report.GetProperty("domain").GetString());
        Assert.Equal(0, report.GetProperty("rua").GetArrayLength()); // the lookup failed: where it would go is not known now
        Assert.Equal("lookup-error", report.GetProperty("rua_status").GetString());
        var parsed = TlsRptReportParser.Parse(report.GetProperty("report").GetRawText());
        Assert.Null(parsed.Error);
        Assert.Empty(parsed.Report!.Warnings);
        Assert.Equal(("Sender Test", 4L, 1L), (parsed.Report.OrganizationName, parsed.Report.TotalSuccessful, parsed.Report.TotalFailed));
        Assert.Equal(TlsRptResultTypes.StartTlsNotSupported, Assert.Single(parsed.Report.Policies[0].FailureDetails).ResultType);
        Assert.EndsWith("@sender.test", parsed.Report.ReportId, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Report_DayWithoutSessions_SaysSo()
    {
        var result = await CliRunner.RunAsync("tlsrpt", "report", "--state-dir", State, "--resolver", _noResolver, "--day", "2026-01-01");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("no sessions counted", result.Stdout, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("report", "--day", "30.11.2026")]
    [InlineData("send", "--day", "yesterday")]
    public async Task BadDay_OneLineExit2(string verb, string option, string value)
    {
        var result = await CliRunner.RunAsync("tlsrpt", verb, "--state-dir", State, "--resolver", _noResolver, option, value);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("not a day as YYYY-MM-DD", result.Stderr, StringComparison.Ordinal);
        Assert.Single(result.Stderr.Trim().Split('\n'));
    }

    [Fact]
    public async Task Send_WithoutSenderAddress_OneLineExit2()
    {
        var result = await CliRunner.RunAsync("tlsrpt", "send", "--state-dir", State, "--resolver", _noResolver);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("tlsrpt_reporting.sender_address is not set", result.Stderr, StringComparison.Ordinal);
        Assert.False(CliRunner.HasStackTrace(result));
    }

    [Fact]
    public async Task Send_DnsError_KeptForTheNextTry_AndNotBuiltTwice()
    {
        var yesterday = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-1); // within the day of retries
        await SeedAsync(State, yesterday);
        var config = Config("  sender_address: tlsrpt@sender.test\n");

        var first = await CliRunner.RunAsync("tlsrpt", "send", "--config", config, "--day", yesterday.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture), "--json");
        var second = await CliRunner.RunAsync("tlsrpt", "send", "--config", config, "--json");

        Assert.True(first.ExitCode == 1, first.ToString()); // a report not sent
        Assert.Contains("not DKIM-signed", first.Stderr, StringComparison.Ordinal);
        using var json = JsonDocument.Parse(first.Stdout);
        Assert.Equal(1, json.RootElement.GetProperty("queued").GetInt32());
        var report = Assert.Single(json.RootElement.GetProperty("reports").EnumerateArray());
        Assert.Equal("pending", report.GetProperty("state").GetString());
        Assert.Contains("_smtp._tls.sts-enforce.test", report.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.NotEqual(JsonValueKind.Null, report.GetProperty("next_try").ValueKind);
        // The retry waits five minutes, and the day is not built again.
        Assert.True(second.ExitCode == 0, second.ToString());
        using var again = JsonDocument.Parse(second.Stdout);
        Assert.Equal(0, again.RootElement.GetProperty("queued").GetInt32());
        Assert.Equal(0, again.RootElement.GetProperty("reports").GetArrayLength());
    }

    [Fact]
    public async Task Send_PurgesSessionDaysOlderThanKeepDays()
    {
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        foreach (var day in new[] { today.AddDays(-4), today.AddDays(-3), today.AddDays(-1) })
        {
            await SeedAsync(State, day);
        }
        var config = Config("  sender_address: tlsrpt@sender.test\n  keep_days: 3\n");

        var result = await CliRunner.RunAsync("tlsrpt", "send", "--config", config, "--json");

        Assert.Equal(1, result.ExitCode); // the reports wait for DNS (nothing answers); the purge does not depend on them
        await using var store = await SqliteTlsSessionStore.OpenAsync(SqliteTlsSessionStore.PathIn(State), TimeProvider.System, TestContext.Current.CancellationToken);
        Assert.Equal([today.AddDays(-3), today.AddDays(-1)], await store.DaysAsync(TestContext.Current.CancellationToken));
    }
}
