using System.Text.Json;
using Rampart.Core.TlsRpt;
using Rampart.Storage.Tests.Servers;
using Rampart.Tests.Shared;

namespace Rampart.Cli.Tests.Commands;

/// <summary>
/// A fleet on a real PostgreSQL server, through the real executable: two MTAs ("mx1", "mx2": two configurations with
/// their own state directories and <c>tlsrpt_reporting.host</c>, one <c>tlsrpt_reporting.store</c>) count their logs
/// with <c>tlsrpt ingest-log</c>, and <c>tlsrpt report --json</c> from either shows ONE report per policy domain with
/// the two hosts' counts summed; a replay of one host's log counts nothing again.
/// </summary>
[Trait("Category", "integration")]
public sealed class TlsRptFleetCommandTests(PostgresServerFixture fixture) : IClassFixture<PostgresServerFixture>, IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("rampart-tlsrpt-fleet-").FullName;
    private readonly string _noResolver = "127.0.0.1:" + LoopbackPort.Free(); // nothing answers: the rua lookup is an error, the report is still shown

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    // One success and one stripped STARTTLS to sts-enforce.test, one success to dane.test; the same text on both hosts.
    private const string Log = """
        Dec  7 18:12:38 mail postfix/smtp[4711]: Verified TLS connection established to mx.sts-enforce.test[127.0.1.1]:25: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)
        Dec  7 18:12:38 mail postfix/smtp[4711]: 4F2A31C0B7: to=<user@sts-enforce.test>, relay=mx.sts-enforce.test[127.0.1.1]:25, delay=0.2, delays=0/0/0.1/0.1, dsn=2.0.0, status=sent (250 2.0.0 Ok)
        Dec  7 18:12:39 mail postfix/smtp[4712]: 5F2A31C0B7: to=<user@sts-enforce.test>, relay=mx.sts-enforce.test[127.0.1.50]:25, delay=1.1, delays=0/0/1/0, dsn=4.7.5, status=deferred (TLS is required, but was not offered by host mx.sts-enforce.test[127.0.1.50])
        Dec  7 18:12:40 mail postfix/smtp[4713]: Verified TLS connection established to mx.dane.test[127.0.1.2]:25: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)
        Dec  7 18:12:40 mail postfix/smtp[4713]: 6F2A31C0B7: to=<user@dane.test>, relay=mx.dane.test[127.0.1.2]:25, delay=0.2, delays=0/0/0.1/0.1, dsn=2.0.0, status=sent (250 2.0.0 Ok)

        """;

    private string Host(string name, string database)
    {
        var dir = Directory.CreateDirectory(Path.Combine(_dir, name)).FullName;
        var log = Path.Combine(dir, "mail.log");
        File.WriteAllText(log, Log);
        File.SetLastWriteTimeUtc(log, new DateTime(2026, 12, 7, 20, 0, 0, DateTimeKind.Utc));
        File.WriteAllText(Path.Combine(dir, "rampart.yml"), $"""
            state_dir: {Path.Combine(dir, "state")}
            resolver: {_noResolver}
            tlsrpt_reporting:
              sender_address: tlsrpt-noreply@sender.lab
              store: {fixture.Server.Url(database)}
              host: {name}
            """);
        return dir;
    }

    private static async Task<JsonElement> RunJsonAsync(params string[] args)
    {
        var result = await CliRunner.RunAsync(args);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.DoesNotContain(PostgresServer.Password, result.Stdout + result.Stderr, StringComparison.Ordinal);
        return JsonDocument.Parse(result.Stdout).RootElement.Clone();
    }

    [Fact]
    public async Task TwoHostsIngestIntoOneStore_OneReportPerDomainWithSummedCounts_ReplayCountsNothing()
    {
        var database = await fixture.Server.CreateDatabaseAsync();
        var mx1 = Host("mx1", database);
        var mx2 = Host("mx2", database);

        var first = await RunJsonAsync("tlsrpt", "ingest-log", "--config", Path.Combine(mx1, "rampart.yml"), "--json", Path.Combine(mx1, "mail.log"));
        var second = await RunJsonAsync("tlsrpt", "ingest-log", "--config", Path.Combine(mx2, "rampart.yml"), "--json", Path.Combine(mx2, "mail.log"));
        var replay = await RunJsonAsync("tlsrpt", "ingest-log", "--config", Path.Combine(mx1, "rampart.yml"), "--json", Path.Combine(mx1, "mail.log"));

        Assert.Equal((3, 0), (first.GetProperty("counted").GetInt32(), first.GetProperty("already_counted").GetInt32()));
        Assert.Equal((3, 0), (second.GetProperty("counted").GetInt32(), second.GetProperty("already_counted").GetInt32())); // mx2's alike lines are its own sessions
        Assert.Equal((0, 3), (replay.GetProperty("counted").GetInt32(), replay.GetProperty("already_counted").GetInt32()));
        Assert.False(File.Exists(Path.Combine(mx1, "state", "tlsrpt-sessions.sqlite")), "a fleet counts in PostgreSQL, not in the state directory");

        foreach (var host in new[] { mx1, mx2 })
        {
            var json = await RunJsonAsync("tlsrpt", "report", "--config", Path.Combine(host, "rampart.yml"), "--day", "2026-12-07", "--json");
            var reports = json.GetProperty("reports").EnumerateArray().ToList();
            Assert.Equal(["dane.test", "sts-enforce.test"], reports.Select(r => r.GetProperty("domain").GetString()).Order(StringComparer.Ordinal));
            var sts = reports.Single(r => r.GetProperty("domain").GetString() == "sts-enforce.test");
            var parsed = TlsRptReportParser.Parse(sts.GetProperty("report").GetRawText());
            Assert.True(parsed.Report is not null, parsed.Error);
            var policy = Assert.Single(parsed.Report.Policies);
            Assert.Equal((2L, 2L), (policy.TotalSuccessfulSessionCount, policy.TotalFailureSessionCount));
            var failure = Assert.Single(policy.FailureDetails);
            Assert.Equal((TlsRptResultTypes.StartTlsNotSupported, 2L), (failure.ResultType, failure.FailedSessionCount));
            var dane = TlsRptReportParser.Parse(reports.Single(r => r.GetProperty("domain").GetString() == "dane.test").GetProperty("report").GetRawText()).Report!;
            Assert.Equal(2L, Assert.Single(dane.Policies).TotalSuccessfulSessionCount);
        }
    }

    [Fact]
    public async Task StoreUnreachable_OneLineExitTwoWithoutPassword()
    {
        var dir = Directory.CreateDirectory(Path.Combine(_dir, "down")).FullName;
        var port = LoopbackPort.Free();
        var config = Path.Combine(dir, "rampart.yml");
        await File.WriteAllTextAsync(config, $"""
            state_dir: {Path.Combine(dir, "state")}
            resolver: {_noResolver}
            tlsrpt_reporting:
              store: postgres://rampart:{Uri.EscapeDataString(PostgresServer.Password)}@127.0.0.1:{port}/tlsrpt?connect_timeout=3
            """, TestContext.Current.CancellationToken);

        var result = await CliRunner.RunAsync("tlsrpt", "report", "--config", config, "--day", "2026-12-07", "--json");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains($"TLS-RPT session store postgres://rampart@127.0.0.1:{port}/tlsrpt", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain(PostgresServer.Password, result.Stderr, StringComparison.Ordinal);
        Assert.Single(result.Stderr.TrimEnd().Split('\n'));
    }
}
