using System.Text.Json;
using Rampart.Tests.Shared;

namespace Rampart.Cli.Tests.Commands;

/// <summary><c>rampart tlsrpt ingest-log</c> as an operator runs it: counts, idempotence, the dry run, the sender from --config, bad files.</summary>
public sealed class TlsRptIngestLogCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("rampart-ingest-log-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private const string Log = """
        Dec  7 18:12:37 mail postfix/qmgr[300]: DDDDD44444: from=<tlsrpt-noreply@sender.lab>, size=2410, nrcpt=1 (queue active)
        Dec  7 18:12:38 mail postfix/smtp[4711]: Verified TLS connection established to mx.sts-enforce.test[127.0.1.1]:25: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)
        Dec  7 18:12:38 mail postfix/smtp[4711]: 4F2A31C0B7: to=<user@sts-enforce.test>, relay=mx.sts-enforce.test[127.0.1.1]:25, delay=0.2, delays=0/0/0.1/0.1, dsn=2.0.0, status=sent (250 2.0.0 Ok)
        Dec  7 18:12:39 mail postfix/smtp[4712]: 5F2A31C0B7: to=<user@mitm-sts.test>, relay=mx.mitm-sts.test[127.0.1.50]:25, delay=1.1, delays=0/0/1/0, dsn=4.7.5, status=deferred (TLS is required, but was not offered by host mx.mitm-sts.test[127.0.1.50])
        Dec  7 18:12:40 mail postfix/smtp[4711]: Verified TLS connection established to mx.a.test[192.0.2.1]:25: TLSv1.3 with cipher X (256/256 bits)
        Dec  7 18:12:40 mail postfix/smtp[4711]: DDDDD44444: to=<tlsrpt@a.test>, relay=mx.a.test[192.0.2.1]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 ok)

        """;

    private string WriteLog()
    {
        var path = Path.Combine(_dir, "mail.log");
        File.WriteAllText(path, Log);
        File.SetLastWriteTimeUtc(path, new DateTime(2026, 12, 7, 20, 0, 0, DateTimeKind.Utc));
        return path;
    }

    private static JsonElement Json(CliResult result)
    {
        Assert.True(result.ExitCode == 0, result.ToString());
        return JsonDocument.Parse(result.Stdout).RootElement;
    }

    [Fact]
    public async Task IngestLog_TwiceWithSenderFromConfig_CountedOnce()
    {
        var log = WriteLog();
        var config = Path.Combine(_dir, "rampart.yml");
        await File.WriteAllTextAsync(config, $"""
            state_dir: {Path.Combine(_dir, "state")}
            tlsrpt_reporting:
              sender_address: TLSRPT-NoReply@Sender.Lab
            """, TestContext.Current.CancellationToken);

        var first = Json(await CliRunner.RunAsync("tlsrpt", "ingest-log", "--config", config, "--json", log));
        var again = Json(await CliRunner.RunAsync("tlsrpt", "ingest-log", "--config", config, "--json", log));

        Assert.Equal((2, 1, 2, 0), (first.GetProperty("sessions").GetInt32(), first.GetProperty("own_reports").GetInt32(),
            first.GetProperty("counted").GetInt32(), first.GetProperty("already_counted").GetInt32()));
        Assert.Equal(1, first.GetProperty("by_result").GetProperty("starttls-not-supported").GetInt32());
        Assert.Equal(1, first.GetProperty("by_result").GetProperty("success").GetInt32());
        Assert.Equal(2, first.GetProperty("by_day").GetProperty("2026-12-07").GetInt32());
        Assert.Equal((0, 2), (again.GetProperty("counted").GetInt32(), again.GetProperty("already_counted").GetInt32()));
        Assert.True(File.Exists(Path.Combine(_dir, "state", "tlsrpt-sessions.sqlite")));
    }

    [Fact]
    public async Task IngestLog_DryRun_PrintsResultsStoresNothing()
    {
        var log = WriteLog();
        var state = Path.Combine(_dir, "dry");

        var result = Json(await CliRunner.RunAsync("tlsrpt", "ingest-log", "--state-dir", state, "--dry-run", "--json", log));

        var results = result.GetProperty("results").EnumerateArray().ToList();
        Assert.Equal(3, results.Count); // no sender given: our report's session counts too
        Assert.Equal("mitm-sts.test", results[1].GetProperty("report_domain").GetString());
        Assert.Equal("starttls-not-supported", results[1].GetProperty("failures")[0].GetProperty("result_type").GetString());
        Assert.Equal("no-policy-found", results[1].GetProperty("policy_type").GetString());
        Assert.False(Directory.Exists(state) && Directory.EnumerateFiles(state).Any(), "a dry run writes nothing");
    }

    [Theory]
    [InlineData("/dev/zero", "log file /dev/zero: is a character device; give a regular file")]
    [InlineData("/nonexistent/mail.log", "log file /nonexistent/mail.log: no such file")]
    public async Task IngestLog_NotARegularFile_OneLineExitTwo(string path, string message)
    {
        var result = await CliRunner.RunAsync("tlsrpt", "ingest-log", "--state-dir", _dir, path);

        Assert.Equal(2, result.ExitCode);
        Assert.False(CliRunner.HasStackTrace(result), result.ToString());
        Assert.Equal("rampart: " + message, result.Stderr.Trim());
    }

    [Fact]
    public async Task IngestLog_ReportStoreOption_RefusedInOneLine()
    {
        var result = await CliRunner.RunAsync("tlsrpt", "ingest-log", "--store", Path.Combine(_dir, "reports.sqlite"), WriteLog());

        Assert.Equal(2, result.ExitCode);
        Assert.False(CliRunner.HasStackTrace(result), result.ToString());
        Assert.StartsWith("rampart: ingest-log: --store names the store of received reports;", result.Stderr.Trim(), StringComparison.Ordinal);
    }
}
