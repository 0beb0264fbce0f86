using System.Globalization;
using System.Text.Json;
using Rampart.Core.TlsRpt;
using Rampart.Tests.Shared;

namespace Rampart.Lab.Tests;

/// <summary>
/// A bounce of a mailed report, end to end with the real Postfix: the day's report about bounce.tlsrpt.test goes to
/// its first rua, <c>mailto:bounce@tlsrpt.test</c>; Postfix accepts it (so <c>tlsrpt send</c> records it sent), the
/// lab MX refuses the mailbox (550 5.1.1), and Postfix mails a delivery status notification back to our sender
/// address, which the lab MX of tlsrpt-https.test stores. <c>rampart tlsrpt bounce</c> reads that notification: the
/// rua is suppressed and the report queued again, and the next <c>tlsrpt send</c> delivers it to the record's second
/// rua (<c>rampart serve</c>), whose store shows the counted sessions.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
[Trait("Category", "integration")]
[Collection(LabAttacks.Collection)] // serve's address is shared with the other TLS-RPT sending tests (TlsRptLabReceivers)
public sealed class TlsRptBounceLabTests(PostfixSubmissionLab postfix) : IClassFixture<PostfixSubmissionLab>, IAsyncDisposable
{
    private const string Domain = "bounce.tlsrpt.test";
    private const string BouncingRua = "mailto:bounce@tlsrpt.test";
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(90);

    private readonly string _dir = Directory.CreateTempSubdirectory("rampart-lab-tlsrpt-bounce-").FullName;
    private readonly DateTime _started = DateTime.UtcNow.AddSeconds(-1);
    private RampartProcess? _serve;

    public async ValueTask DisposeAsync()
    {
        if (_serve is not null)
        {
            await _serve.DisposeAsync();
        }
        Directory.Delete(_dir, recursive: true);
    }

    /// <summary>Postfix 3.7 log lines (syslog time, this UTC day) of three delivered sessions to the domain and one stripped.</summary>
    private string WriteLog()
    {
        var now = DateTime.UtcNow;
        string At(int second) => string.Create(CultureInfo.InvariantCulture, $"{now:MMM} {now.Day,2} {now:HH:mm}:{second:00} lab postfix/smtp");
        var lines = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            lines.Add($"{At(i)}[{4700 + i}]: Verified TLS connection established to mx.{Domain}[127.0.9.9]:25: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)");
            lines.Add($"{At(i)}[{4700 + i}]: B0{i}CE0: to=<user@{Domain}>, relay=mx.{Domain}[127.0.9.9]:25, delay=0.2, delays=0/0/0.1/0.1, dsn=2.0.0, status=sent (250 2.0.0 Ok)");
        }
        lines.Add($"{At(5)}[4710]: B05CE0: to=<user@{Domain}>, relay=mx.{Domain}[127.0.9.9]:25, delay=1.1, delays=0/0/1/0, dsn=4.7.5, status=deferred (TLS is required, but was not offered by host mx.{Domain}[127.0.9.9])");
        var path = Path.Combine(_dir, "mail.log");
        File.WriteAllLines(path, lines);
        return path;
    }

    private static JsonElement Json(CliResult result)
    {
        Assert.True(result.ExitCode == 0, result.ToString());
        using var json = JsonDocument.Parse(result.Stdout);
        return json.RootElement.Clone();
    }

    [Fact]
    public async Task MailedReportBounced_RuaSuppressed_ReportDeliveredToTheNextRua()
    {
        Lab.RequireLab();
        _serve = await TlsRptLabReceivers.StartServeAsync(_dir, Path.Combine(_dir, "received"));
        var config = Path.Combine(_dir, "rampart.yml");
        await File.WriteAllTextAsync(config, $"""
            state_dir: {Path.Combine(_dir, "state")}
            resolver: 127.0.0.1:53
            ca_file: {TlsRptLabReceivers.CaBundle}
            tlsrpt_reporting:
              sender_address: {TlsRptLabReceivers.SenderAddress}
              organization_name: Rampart Lab Sender
              submit: 127.0.0.1:{postfix.SmtpdPort}
              dkim: {TlsRptLabReceivers.DkimSetting}
            """, TestContext.Current.CancellationToken);
        var ingested = Json(await CliRunner.RunAsync(["tlsrpt", "ingest-log", "--config", config, "--json", WriteLog()], null, TimeSpan.FromSeconds(60)));
        Assert.Equal(4, ingested.GetProperty("counted").GetInt32());

        // Postfix accepts the report for the first rua: sent, as far as the sender can know.
        var today = DateOnly.FromDateTime(DateTime.UtcNow).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var first = Assert.Single(Json(await CliRunner.RunAsync(["tlsrpt", "send", "--config", config, "--day", today, "--json"], null, TimeSpan.FromSeconds(120)))
            .GetProperty("reports").EnumerateArray());
        Assert.Equal(("sent", BouncingRua), (first.GetProperty("state").GetString(), first.GetProperty("sent_to").GetString()));
        var reportId = first.GetProperty("report_id").GetString()!;

        // The lab MX refuses bounce@ for good; Postfix returns the report to our sender address (the lab MX of its domain).
        var dsn = await TlsRptLabReceivers.MailedReportAsync(reportId, _started, Bound, "mx.tlsrpt-https.test");
        Assert.True(dsn is not null, $"no bounce of {reportId} at the lab MX of tlsrpt-https.test\n{postfix.Log()}");
        Assert.Contains("report-type=delivery-status", await File.ReadAllTextAsync(dsn, TestContext.Current.CancellationToken), StringComparison.Ordinal);

        var bounce = Assert.Single(Json(await CliRunner.RunAsync(["tlsrpt", "bounce", "--config", config, "--json", dsn], null, TimeSpan.FromSeconds(60)))
            .GetProperty("messages").EnumerateArray());
        Assert.Equal(("bounced", reportId, Domain), (bounce.GetProperty("kind").GetString(), bounce.GetProperty("report_id").GetString(), bounce.GetProperty("report_domain").GetString()));
        var recipient = Assert.Single(bounce.GetProperty("recipients").EnumerateArray());
        Assert.Equal(("bounce@tlsrpt.test", "5.1.1", BouncingRua, true),
            (recipient.GetProperty("address").GetString(), recipient.GetProperty("status").GetString(),
             recipient.GetProperty("suppressed_rua").GetString(), recipient.GetProperty("requeued").GetBoolean()));
        Assert.Contains("no such user", recipient.GetProperty("diagnostic").GetString(), StringComparison.Ordinal);
        var suppressed = Assert.Single(Json(await CliRunner.RunAsync(["tlsrpt", "suppressed", "--config", config, "--json"], null, TimeSpan.FromSeconds(60)))
            .GetProperty("suppressed").EnumerateArray());
        Assert.Equal(BouncingRua, suppressed.GetProperty("rua").GetString());

        // The next pass offers the report to the record's second rua; the bounced one is skipped, not tried again.
        var again = Assert.Single(Json(await CliRunner.RunAsync(["tlsrpt", "send", "--config", config, "--json"], null, TimeSpan.FromSeconds(120)))
            .GetProperty("reports").EnumerateArray());
        Assert.Equal(("sent", TlsRptLabReceivers.HttpsRua, reportId),
            (again.GetProperty("state").GetString(), again.GetProperty("sent_to").GetString(), again.GetProperty("report_id").GetString()));
        Assert.Contains(again.GetProperty("attempts").EnumerateArray(), a => a.GetProperty("rua").GetString() == BouncingRua && a.GetProperty("result").GetString() == "skipped");
        await TlsRptLabReceivers.AssertSummaryAsync(Path.Combine(_dir, "received"), Domain, 3, 1, TlsRptResultTypes.StartTlsNotSupported);
    }
}
