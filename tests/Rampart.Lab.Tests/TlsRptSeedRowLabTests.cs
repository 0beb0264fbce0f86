using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Rampart.Core.TlsRpt;
using Rampart.Storage.TlsRpt;
using Rampart.Tests.Shared;

namespace Rampart.Lab.Tests;

/// <summary>The lab Postfix with an smtpd on loopback: the local MTA <c>rampart tlsrpt send</c> submits mailed reports to.</summary>
public sealed class PostfixSubmissionLab : PostfixLab
{
    public override int? SmtpdPort { get; } = LoopbackPort.Free();
}

/// <summary>
/// The seed row of issue 14, end to end through Postfix 3.7's log, in one test: the lab's real Postfix
/// (<c>smtp_tls_loglevel = 1</c>) asks the real daemon, which follows its log. mitm-sts.test (MTA-STS enforce) and
/// mitm-dane.test (DANE) publish <c>_smtp._tls</c> with a <c>mailto:</c> rua (the lab MX of tlsrpt.test) and an
/// <c>https:</c> rua (<c>rampart serve</c>), in opposite orders. Postfix delivers to both through the MitM in pass mode,
/// then the MitM strips STARTTLS from mitm-sts.test and forges mitm-dane.test's certificate, and Postfix defers.
/// <c>rampart tlsrpt send</c> builds the day's reports and sends them: mitm-sts.test's by mail, submitted to that same
/// Postfix, which delivers it to the lab MX; mitm-dane.test's by HTTPS to serve. The receiving side's
/// <c>rampart tlsrpt import</c> (DKIM verified) and serve's store show what the log and the queue show. Then the report
/// about the day on which Postfix delivered our report (today) leaves that delivery out, while a message from another
/// sender to the same MX, delivered after it, is counted.
/// </summary>
[Trait("Category", "integration")]
[Collection(LabAttacks.Collection)] // the MitM mode files are lab-wide, and serve's address is TlsRptSendingLabTests' too
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed partial class TlsRptSeedRowLabTests(PostfixSubmissionLab postfix) : IClassFixture<PostfixSubmissionLab>, IAsyncDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(90);

    private readonly string _dir = Directory.CreateTempSubdirectory("rampart-lab-tlsrpt-seed-").FullName;
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

    private string PostfixLog => Path.Combine(postfix.Instance, "log", "postfix.log");

    private string[] LogLines() => File.Exists(PostfixLog) ? File.ReadAllLines(PostfixLog) : [];

    /// <summary>What the log itself shows, counted with plain text matching (independent of Rampart's reader).</summary>
    private (int StsSent, int Stripped, int DaneSent, int Forged) LogShows()
    {
        var log = LogLines();
        return (
            log.Count(l => Sent().Match(l) is { Success: true } m && m.Groups[1].Value == "mitm-sts"),
            log.Count(l => l.Contains("to=<user@mitm-sts.test>", StringComparison.Ordinal) && l.Contains("status=deferred (TLS is required, but was not offered", StringComparison.Ordinal)),
            log.Count(l => Sent().Match(l) is { Success: true } m && m.Groups[1].Value == "mitm-dane"),
            log.Count(l => l.Contains("certificate verification failed for mx.mitm-dane.test[127.0.2.50]:25: num=65:no matching DANE TLSA records", StringComparison.Ordinal)));
    }

    private static async Task WaitAsync(Func<Task<bool>> done, string what, Func<string> diagnostics)
    {
        var deadline = DateTime.UtcNow + Bound;
        while (!await done())
        {
            Assert.True(DateTime.UtcNow < deadline, $"{what} within {Bound.TotalSeconds} s\n{diagnostics()}");
            await Task.Delay(200, TestContext.Current.CancellationToken);
        }
    }

    /// <summary>The daemon's store: successful and failed sessions of <paramref name="domain"/> today.</summary>
    private static async Task<(long Ok, long Failed)> StoredAsync(string state, string domain)
    {
        await using var store = await SqliteTlsSessionStore.OpenAsync(SqliteTlsSessionStore.PathIn(state), TimeProvider.System, TestContext.Current.CancellationToken);
        var day = await store.ReadDayAsync(DateOnly.FromDateTime(DateTime.UtcNow), domain, TestContext.Current.CancellationToken);
        return (day.Sum(p => p.Successful), day.Sum(p => p.Failed));
    }

    [Fact]
    public async Task Postfix37_StrippedAndForged_ReportsMailedAndPosted_ReceiversSeeWhatTheLogShows_OwnReportNotCounted()
    {
        Lab.RequireLab();
        var ct = TestContext.Current.CancellationToken;
        _serve = await TlsRptLabReceivers.StartServeAsync(_dir, Path.Combine(_dir, "received"));
        var state = postfix.NewDaemonState();
        var config = Path.Combine(state, "rampart.yml");
        await File.WriteAllTextAsync(config, $"""
            state_dir: {state}
            resolver: 127.0.0.1:53
            ca_file: {TlsRptLabReceivers.CaBundle}
            tlsrpt_reporting:
              postfix_log: {PostfixLog}
              sender_address: {TlsRptLabReceivers.SenderAddress}
              organization_name: Rampart Lab Sender
              submit: 127.0.0.1:{postfix.SmtpdPort}
              dkim: {TlsRptLabReceivers.DkimSetting}
            """, ct);
        await postfix.StartDaemonAsync(state, "--config", config);

        // Delivered normally (the MitM relays), then stripped and forged: Postfix defers, and retries every few seconds.
        try
        {
            await LabAttacks.SetMitmAsync("127.0.1.50", "pass");
            await LabAttacks.SetMitmAsync("127.0.2.50", "pass");
            foreach (var rcpt in (string[])["user@mitm-sts.test", "user@mitm-dane.test", "user@mitm-sts.test", "user@mitm-dane.test"])
            {
                await postfix.RunAsync("send", rcpt, LabAttacks.Token());
            }
            await WaitAsync(() => Task.FromResult(LogShows() is { StsSent: 2, DaneSent: 2 }), "four delivered", postfix.Log);

            await LabAttacks.SetMitmAsync("127.0.1.50", "strip");
            await LabAttacks.SetMitmAsync("127.0.2.50", "forge");
            await postfix.RunAsync("send", "user@mitm-sts.test", LabAttacks.Token());
            await postfix.RunAsync("send", "user@mitm-dane.test", LabAttacks.Token());
            await WaitAsync(() => Task.FromResult(LogShows() is { Stripped: >= 2, Forged: >= 2 }), "two attempts of each deferred", postfix.Log);
            var queue = await postfix.QueueAsync();
            Assert.Contains("TLS is required, but was not offered", queue.GetValueOrDefault("user@mitm-sts.test", ""), StringComparison.Ordinal);
            Assert.Contains("Server certificate not verified", queue.GetValueOrDefault("user@mitm-dane.test", ""), StringComparison.Ordinal);
        }
        finally
        {
            await postfix.EmptyQueueAsync(); // before the MitM stands down: a retry after it would deliver
            await LabAttacks.SetMitmAsync("127.0.1.50", null);
            await LabAttacks.SetMitmAsync("127.0.2.50", null);
        }

        // An smtp process mid-attempt at the purge may still log its (failed) outcome: the store must catch up with
        // exactly what the log shows once both have settled.
        var shows = LogShows();
        await WaitAsync(async () =>
        {
            shows = LogShows();
            var (stsOk, stsFailed) = await StoredAsync(state, "mitm-sts.test");
            var (daneOk, daneFailed) = await StoredAsync(state, "mitm-dane.test");
            return (stsOk, stsFailed, daneOk, daneFailed) == (shows.StsSent, shows.Stripped, shows.DaneSent, shows.Forged);
        }, "the store counts what the log shows", () => $"log shows {shows}\n{postfix.DaemonOutput()}");

        var today = DateOnly.FromDateTime(DateTime.UtcNow).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var send = await CliRunner.RunAsync(["tlsrpt", "send", "--config", config, "--day", today, "--json"], null, TimeSpan.FromSeconds(120));

        Assert.True(send.ExitCode == 0, send.ToString());
        Assert.True(shows == LogShows(), $"the log changed while the reports were built: {shows} then {LogShows()}");
        using var sent = JsonDocument.Parse(send.Stdout);
        var reports = sent.RootElement.GetProperty("reports").EnumerateArray().ToDictionary(r => r.GetProperty("domain").GetString()!);
        Assert.Equal(["mitm-dane.test", "mitm-sts.test"], reports.Keys.Order());
        Assert.Equal(("sent", TlsRptLabReceivers.MailRua), (reports["mitm-sts.test"].GetProperty("state").GetString(), reports["mitm-sts.test"].GetProperty("sent_to").GetString()));
        Assert.Equal(("sent", TlsRptLabReceivers.HttpsRua), (reports["mitm-dane.test"].GetProperty("state").GetString(), reports["mitm-dane.test"].GetProperty("sent_to").GetString()));

        // mailto: Postfix delivered our report to the lab MX; the receiving side imports it, DKIM verified in DNS.
        var mailedId = reports["mitm-sts.test"].GetProperty("report_id").GetString()!;
        var email = await TlsRptLabReceivers.MailedReportAsync(mailedId, _started, Bound);
        Assert.True(email is not null, $"no email with {mailedId} at the lab MX of tlsrpt.test\n{postfix.Log()}");
        var mailed = await TlsRptLabReceivers.ImportAsync(email, Path.Combine(_dir, "mailed"));
        Assert.Equal(("pass", "tlsrpt-https.test"), (mailed.GetProperty("dkim").GetString(), mailed.GetProperty("dkim_domain").GetString()));
        Assert.Equal(mailedId, mailed.GetProperty("report_id").GetString());
        await TlsRptLabReceivers.AssertSummaryAsync(Path.Combine(_dir, "mailed"), "mitm-sts.test", shows.StsSent, shows.Stripped, TlsRptResultTypes.StartTlsNotSupported);

        // https: what serve's receiver stored.
        await TlsRptLabReceivers.AssertSummaryAsync(Path.Combine(_dir, "received"), "mitm-dane.test", shows.DaneSent, shows.Forged, TlsRptResultTypes.TlsaInvalid);

        // The loop: Postfix's delivery of our report to mx.tlsrpt.test is a TLS session to a domain that publishes
        // _smtp._tls, logged today. A message from another sender, delivered after it, is counted; the report is not.
        var ownQueueId = OwnReportQueued().Match(string.Join('\n', LogLines())).Groups[1].Value;
        Assert.True(ownQueueId.Length > 0, $"no qmgr line for our report's sender\n{postfix.Log()}");
        // (the MX stores the email before Postfix logs the delivery)
        await WaitAsync(() => Task.FromResult(LogLines().Any(l => l.Contains($"{ownQueueId}: to=<tlsrpt@tlsrpt.test>, relay=mx.tlsrpt.test[127.0.1.33]:25", StringComparison.Ordinal)
                                                               && l.Contains("status=sent", StringComparison.Ordinal))),
            "Postfix logs our report delivered", postfix.Log);
        await postfix.RunAsync("send", "user@tlsrpt.test", LabAttacks.Token());
        await WaitAsync(async () => await StoredAsync(state, "tlsrpt.test") != (0, 0), "the other sender's delivery to tlsrpt.test counted",
            () => $"{postfix.Log()}\n{postfix.DaemonOutput()}");
        Assert.Equal(2, LogLines().Count(l => l.Contains("TLS connection established to mx.tlsrpt.test[127.0.1.33]:25", StringComparison.Ordinal)));

        var report = await CliRunner.RunAsync(["tlsrpt", "report", "--config", config, "--day", today, "--json"], null, TimeSpan.FromSeconds(60));
        Assert.True(report.ExitCode == 0, report.ToString());
        using var next = JsonDocument.Parse(report.Stdout);
        var loop = Assert.Single(next.RootElement.GetProperty("reports").EnumerateArray(), r => r.GetProperty("domain").GetString() == "tlsrpt.test");
        var summary = Assert.Single(loop.GetProperty("report").GetProperty("policies").EnumerateArray()).GetProperty("summary");
        Assert.Equal((1, 0), (summary.GetProperty("total-successful-session-count").GetInt32(), summary.GetProperty("total-failure-session-count").GetInt32()));
    }

    [GeneratedRegex(@"postfix/smtp\[\d+\]: \w+: to=<user@(mitm-sts|mitm-dane)\.test>, relay=mx\.\1\.test\[[0-9.]+\]:25, .* status=sent ")]
    private static partial Regex Sent();

    [GeneratedRegex(@"postfix/qmgr\[\d+\]: (\w+): from=<tlsrpt@tlsrpt-https\.test>")]
    private static partial Regex OwnReportQueued();
}
