using System.Globalization;
using System.Net.Sockets;
using System.Text.Json;
using Rampart.Tests.Shared;

namespace Rampart.Lab.Tests;

/// <summary>
/// Issue 14 through the datagram path, end to end in the lab: Postfix 3.10's libtlsrpt datagrams (the test client sends
/// exactly what libtlsrpt sends) reach the real <c>rampart daemon</c>; <c>rampart tlsrpt send</c> builds the day's
/// reports and delivers them — tlsrpt.test's to its <c>mailto:</c> rua (submitted to the lab MX receiver, a real SMTP
/// server, DKIM-signed with the key published at tlsrpt._domainkey.tlsrpt-https.test), tlsrpt-https.test's to its
/// <c>https:</c> rua served by <c>rampart serve</c>. On the receiving side, <c>rampart tlsrpt import</c> of the stored
/// email and serve's own store show the same successful and failed counts and result types as the datagrams, and the
/// DKIM signature verifies through the lab's DNSSEC-validating resolver.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
[Collection(LabAttacks.Collection)] // serve's address is shared with TlsRptSeedRowLabTests (TlsRptLabReceivers)
public sealed class TlsRptSendingLabTests : IAsyncDisposable
{
    private const string MailRecord = "v=TLSRPTv1; rua=mailto:tlsrpt@tlsrpt.test,https://tlsrpt.tlsrpt.test/report";
    private const string HttpsRecord = "v=TLSRPTv1; rua=https://mta-sts.tlsrpt-https.test/tlsrpt";

    private readonly string _dir = Directory.CreateTempSubdirectory("rampart-lab-tlsrpt-send-").FullName;
    private RampartProcess? _serve;
    private RampartProcess? _daemon;
    private readonly DateTime _started = DateTime.UtcNow.AddSeconds(-1);

    public async ValueTask DisposeAsync()
    {
        foreach (var process in new[] { _daemon, _serve })
        {
            if (process is not null)
            {
                await process.DisposeAsync();
            }
        }
        Directory.Delete(_dir, recursive: true);
    }

    private async Task StartServeAsync() => _serve = await TlsRptLabReceivers.StartServeAsync(_dir, Path.Combine(_dir, "received"));

    private string Socket => Path.Combine(_dir, "spool", "tlsrpt.sock");

    private string SenderConfig(string extra = "")
    {
        var path = Path.Combine(_dir, "rampart.yml");
        File.WriteAllText(path, $"""
            listen: 127.0.0.1:{LoopbackPort.Free()}
            state_dir: {Path.Combine(_dir, "state")}
            resolver: 127.0.0.1:53
            ca_file: {TlsRptLabReceivers.CaBundle}
            tlsrpt_reporting:
              datagram_socket: {Socket}
              sender_address: {TlsRptLabReceivers.SenderAddress}
              organization_name: Rampart Lab Sender
              submit: 127.0.1.33:25
              dkim: {TlsRptLabReceivers.DkimSetting}
            {extra}
            """);
        return path;
    }

    /// <summary>What libtlsrpt sends for one domain: <paramref name="ok"/> successes and <paramref name="failed"/> failures of <paramref name="code"/>.</summary>
    private static IEnumerable<byte[]> Sessions(string domain, string record, int ok, int failed, int code, string mx)
    {
        LibTlsRptDatagramBuilder Policy() => new LibTlsRptDatagramBuilder(domain, record)
            .Policy(2, domain).PolicyString("version: STSv1").PolicyString("mode: enforce").PolicyString("mx: " + mx)
            .PolicyString("max_age: 86400").MxHost(mx);
        for (var i = 0; i < ok; i++)
        {
            yield return Policy().Finish(0).Build();
        }
        for (var i = 0; i < failed; i++)
        {
            yield return Policy().Failure(code, "127.0.0.1", mx, mx, "127.0.3.1", reason: code == 203 ? "self-signed_certificate" : null).Finish(1).Build();
        }
    }

    [Fact]
    public async Task DatagramsToReports_MailedAndPosted_ReceiversSeeTheSameCounts_DkimVerified()
    {
        Lab.RequireLab();
        await StartServeAsync();
        var config = SenderConfig();
        // The daemon collects; the reports are sent by 'rampart tlsrpt send' (the daemon's own schedule sends only finished days).
        _daemon = RampartProcess.Start(["daemon", "--config", config]);
        await _daemon.WaitForLineAsync(l => l.Contains("rampart daemon listening on", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
        var datagrams = Sessions("tlsrpt.test", MailRecord, ok: 7, failed: 3, code: 201, "mx.tlsrpt.test")       // STARTTLS stripped
            .Concat(Sessions("tlsrpt-https.test", HttpsRecord, ok: 5, failed: 2, code: 203, "mx.tlsrpt-https.test")) // forged certificate
            .ToList();
        // Blocking sends (libtlsrpt's tlsrpt_set_blocking): the lab's socket queue holds 10 datagrams, and this test is about the reports.
        using (var client = new LibTlsRptSender(Socket, blocking: true))
        {
            foreach (var datagram in datagrams)
            {
                Assert.True(client.TrySend(datagram));
            }
        }
        var today = DateOnly.FromDateTime(DateTime.UtcNow).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        await WaitForCountedAsync(config, today, datagrams.Count);

        var send = await CliRunner.RunAsync(["tlsrpt", "send", "--config", config, "--day", today, "--json"], null, TimeSpan.FromSeconds(120));

        Assert.True(send.ExitCode == 0, send.ToString());
        using var sent = JsonDocument.Parse(send.Stdout);
        var reports = sent.RootElement.GetProperty("reports").EnumerateArray().ToDictionary(r => r.GetProperty("domain").GetString()!);
        Assert.Equal("sent", reports["tlsrpt.test"].GetProperty("state").GetString());
        Assert.Equal("mailto:tlsrpt@tlsrpt.test", reports["tlsrpt.test"].GetProperty("sent_to").GetString());
        Assert.Equal("https://mta-sts.tlsrpt-https.test/tlsrpt", reports["tlsrpt-https.test"].GetProperty("sent_to").GetString());
        var mailedId = reports["tlsrpt.test"].GetProperty("report_id").GetString()!;

        // The mailto: side: the email the lab MX stored, imported by the receiving side's own reader, DKIM checked in DNS.
        var email = await TlsRptLabReceivers.MailedReportAsync(mailedId, _started, TimeSpan.FromSeconds(30));
        Assert.NotNull(email);
        var mailed = await TlsRptLabReceivers.ImportAsync(email, Path.Combine(_dir, "mailed"));
        Assert.Equal(("pass", "tlsrpt-https.test"), (mailed.GetProperty("dkim").GetString(), mailed.GetProperty("dkim_domain").GetString()));
        Assert.Equal((7, 3), (mailed.GetProperty("successful").GetInt32(), mailed.GetProperty("failed").GetInt32()));
        Assert.Equal(mailedId, mailed.GetProperty("report_id").GetString());
        await TlsRptLabReceivers.AssertSummaryAsync(Path.Combine(_dir, "mailed"), "tlsrpt.test", 7, 3, "starttls-not-supported");

        // The https: side: what rampart serve's receiver stored.
        await TlsRptLabReceivers.AssertSummaryAsync(Path.Combine(_dir, "received"), "tlsrpt-https.test", 5, 2, "certificate-not-trusted");

        // Sending again sends nothing: both are recorded as sent.
        var again = await CliRunner.RunAsync(["tlsrpt", "send", "--config", config, "--day", today, "--json"], null, TimeSpan.FromSeconds(60));
        Assert.True(again.ExitCode == 0, again.ToString());
        using var nothing = JsonDocument.Parse(again.Stdout);
        Assert.Equal(0, nothing.RootElement.GetProperty("reports").GetArrayLength());
    }

    /// <summary>
    /// The daemon's own schedule: yesterday's counts (written to its store as the collector writes them) are built into
    /// reports and sent by the running daemon, with no command, once its pass sees the finished day (spread 0: at once);
    /// its log and /metrics say so, and the lab MX holds the DKIM-signed report.
    /// </summary>
    [Fact]
    public async Task Daemon_SendsAFinishedDayOnSchedule()
    {
        Lab.RequireLab();
        var yesterday = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-1);
        var at = new DateTimeOffset(yesterday.ToDateTime(new TimeOnly(23, 30)), TimeSpan.Zero);
        var policy = new Rampart.Core.TlsRpt.TlsSessionPolicy(Rampart.Core.TlsRpt.TlsRptPolicyTypes.NoPolicyFound, null, [], []);
        await using (var store = await Rampart.Storage.TlsRpt.SqliteTlsSessionStore.OpenAsync(
            Rampart.Storage.TlsRpt.SqliteTlsSessionStore.PathIn(Path.Combine(_dir, "state")), TimeProvider.System, TestContext.Current.CancellationToken))
        {
            await store.AddAsync(Rampart.Core.TlsRpt.TlsSessionSources.Datagram,
                [.. Enumerable.Range(0, 4).Select(_ => new Rampart.Core.TlsRpt.TlsSessionEntry(new("tlsrpt.test", MailRecord, policy, true, [], at)))],
                null, TestContext.Current.CancellationToken);
        }
        var metricsPort = LoopbackPort.Free();
        var config = SenderConfig($"  spread: 0\nmetrics: 127.0.0.1:{metricsPort}");

        _daemon = RampartProcess.Start(["daemon", "--config", config]);

        var started = await _daemon.WaitForLineAsync(l => l.Contains("rampart daemon listening on", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
        Assert.Contains("TLS-RPT reports from tlsrpt@tlsrpt-https.test via 127.0.1.33:25, DKIM d=tlsrpt-https.test s=tlsrpt", started, StringComparison.Ordinal);
        var sent = await _daemon.WaitForLineAsync(l => l.Contains("sent to mailto:tlsrpt@tlsrpt.test", StringComparison.Ordinal), TimeSpan.FromSeconds(90));
        var reportId = System.Text.RegularExpressions.Regex.Match(sent, @"report (\S+) for tlsrpt\.test").Groups[1].Value;
        Assert.StartsWith(yesterday.ToString("yyyyMMdd", CultureInfo.InvariantCulture) + ".", reportId, StringComparison.Ordinal);
        using var http = new HttpClient();
        var metrics = await http.GetStringAsync(new Uri($"http://127.0.0.1:{metricsPort}/metrics"), TestContext.Current.CancellationToken);
        Assert.Contains("rampart_tlsrpt_reports_built_total 1", metrics, StringComparison.Ordinal);
        Assert.Contains("rampart_tlsrpt_report_deliveries_total{scheme=\"mailto\",result=\"sent\"} 1", metrics, StringComparison.Ordinal);
        Assert.NotNull(await TlsRptLabReceivers.MailedReportAsync(reportId, _started, TimeSpan.FromSeconds(30)));
    }

    /// <summary>
    /// kill -9 of <c>rampart tlsrpt send</c> in the middle of a day's reports, and a restart: each report reaches serve's
    /// receiver once and none is lost. 400 reports (tlsrpt-https.test under 400 distinct TLSRPT records, as a domain that
    /// changed its record all day would have), each posted to the https: rua. The report being tried at the kill stays
    /// claimed for <see cref="Rampart.Core.TlsRpt.TlsRptSender.ClaimLease"/>: the restart sends every other one, then that
    /// lease is ended through the outbox (the test cannot wait 10 minutes) and a third pass sends it. Only that report may
    /// have been posted twice (accepted before the kill, not yet recorded), and serve keeps it once (same report-id).
    /// </summary>
    [Fact]
    public async Task SenderKilledMidSend_Restarted_EachReportReceivedOnce_NoneLost()
    {
        Lab.RequireLab();
        var ct = TestContext.Current.CancellationToken;
        await StartServeAsync();
        const int Reports = 400;
        var yesterday = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-1);
        var at = new DateTimeOffset(yesterday.ToDateTime(new TimeOnly(12, 0)), TimeSpan.Zero);
        var policy = new Rampart.Core.TlsRpt.TlsSessionPolicy(Rampart.Core.TlsRpt.TlsRptPolicyTypes.NoPolicyFound, null, [], []);
        var state = Path.Combine(_dir, "state");
        await using (var store = await Rampart.Storage.TlsRpt.SqliteTlsSessionStore.OpenAsync(
            Rampart.Storage.TlsRpt.SqliteTlsSessionStore.PathIn(state), TimeProvider.System, ct))
        {
            await store.AddAsync(Rampart.Core.TlsRpt.TlsSessionSources.Datagram,
                [.. Enumerable.Range(0, Reports).Select(i => new Rampart.Core.TlsRpt.TlsSessionEntry(new("tlsrpt-https.test", $"{HttpsRecord}; lab={i}", policy, true, [], at)))],
                null, ct);
        }
        var config = SenderConfig();
        var day = yesterday.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        int Posted() => _serve!.Lines.Count(l => l.Contains("TLS-RPT POST from", StringComparison.Ordinal));
        int New() => _serve!.Lines.Count(l => l.Contains("TLS-RPT POST from", StringComparison.Ordinal) && l.Contains(": 1 report(s), 1 new", StringComparison.Ordinal));

        await using (var sender = RampartProcess.Start(["tlsrpt", "send", "--config", config, "--day", day]))
        {
            var deadline = DateTime.UtcNow.AddSeconds(120);
            while (Posted() < 20)
            {
                Assert.True(DateTime.UtcNow < deadline, $"serve received {Posted()} of {Reports} reports within 120 s\n{string.Join('\n', sender.Lines)}");
                await Task.Delay(50, ct);
            }
            await sender.KillAsync();
        }
        var atKill = Posted();
        Assert.True(atKill < Reports, $"the sender had sent all {Reports} reports before the kill");

        var restart = await CliRunner.RunAsync(["tlsrpt", "send", "--config", config, "--json"], null, TimeSpan.FromSeconds(300));
        Assert.True(restart.ExitCode == 0, restart.ToString());
        await using (var outbox = await Rampart.Storage.TlsRpt.SqliteTlsRptOutbox.OpenAsync(Rampart.Storage.TlsRpt.SqliteTlsRptOutbox.PathIn(state), ct))
        {
            var entries = await outbox.ListAsync(yesterday, ct);
            Assert.Equal(Reports, entries.Count);
            var claimed = entries.Where(e => e.State != Rampart.Core.TlsRpt.TlsRptOutboxState.Sent).ToList();
            // The kill may fall between two reports (nothing claimed) or during one (that one held by its lease).
            Assert.True(claimed.Count <= 1, string.Join("; ", claimed.Select(e => $"{e.Report.Report.ReportId} {e.State} {e.Detail}")));
            TestContext.Current.TestOutputHelper?.WriteLine($"killed after {atKill} posts; {claimed.Count} report held by its lease; {Posted()} posts after the restart");
            foreach (var held in claimed)
            {
                Assert.Equal(Rampart.Core.TlsRpt.TlsRptOutboxState.Pending, held.State);
                Assert.True(held.NextTry > DateTimeOffset.UtcNow, $"{held.Report.Report.ReportId}: next try {held.NextTry:O} is not its lease");
                await outbox.UpdateAsync(held.Id, held.State, DateTimeOffset.UtcNow, held.Attempts, held.Detail, null, ct); // the lease ends
            }
        }
        var third = await CliRunner.RunAsync(["tlsrpt", "send", "--config", config, "--json"], null, TimeSpan.FromSeconds(120));
        Assert.True(third.ExitCode == 0, third.ToString());

        await using (var outbox = await Rampart.Storage.TlsRpt.SqliteTlsRptOutbox.OpenAsync(Rampart.Storage.TlsRpt.SqliteTlsRptOutbox.PathIn(state), ct))
        {
            Assert.All(await outbox.ListAsync(yesterday, ct), e => Assert.Equal(Rampart.Core.TlsRpt.TlsRptOutboxState.Sent, e.State));
        }
        await _serve!.WaitForLineAsync(_ => New() == Reports, TimeSpan.FromSeconds(30));
        Assert.True(Posted() - New() <= 1, $"{Posted()} posts for {Reports} reports (killed at {atKill})");
    }

    /// <summary>Waits until the day's report shows every datagram counted (the collector commits in batches).</summary>
    private static async Task WaitForCountedAsync(string config, string day, int sessions)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var report = await CliRunner.RunAsync(["tlsrpt", "report", "--config", config, "--day", day, "--json"], null, TimeSpan.FromSeconds(60));
            Assert.True(report.ExitCode == 0, report.ToString());
            using var json = JsonDocument.Parse(report.Stdout);
            var counted = json.RootElement.GetProperty("reports").EnumerateArray()
                .SelectMany(r => r.GetProperty("report").GetProperty("policies").EnumerateArray())
                .Sum(p => p.GetProperty("summary").GetProperty("total-successful-session-count").GetInt32() + p.GetProperty("summary").GetProperty("total-failure-session-count").GetInt32());
            if (counted >= sessions)
            {
                Assert.Equal(sessions, counted);
                return;
            }
            Assert.True(DateTime.UtcNow < deadline, $"only {counted} of {sessions} sessions counted");
            await Task.Delay(200, TestContext.Current.CancellationToken);
        }
    }
}
