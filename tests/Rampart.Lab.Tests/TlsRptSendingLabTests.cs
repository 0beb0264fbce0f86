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
public sealed class TlsRptSendingLabTests : IAsyncDisposable
{
    private const string MailRecord = "v=TLSRPTv1; rua=mailto:tlsrpt@tlsrpt.test,https://tlsrpt.tlsrpt.test/report";
    private const string HttpsRecord = "v=TLSRPTv1; rua=https://mta-sts.tlsrpt-https.test/tlsrpt";
    private const string ServeAddress = "127.0.1.62";

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

    /// <summary>
    /// The emails the lab MX stored since <paramref name="since"/>: a report-id is the same each time a day is built, so
    /// earlier runs of these tests left emails with the same id in the lab's mail folder.
    /// </summary>
    private static IEnumerable<string> EmailsSince(string dir, DateTime since) =>
        Directory.GetFiles(dir, "*.eml").Where(f => File.GetLastWriteTimeUtc(f) >= since);

    private static string CaBundle => Path.Combine(LabLeafCertificate.State, "pki", "ca-bundle.pem");

    private static string RepoFile(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, relative);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        throw new FileNotFoundException($"{relative} not found above {AppContext.BaseDirectory}");
    }

    private async Task StartServeAsync()
    {
        var live = LabLeafCertificate.IssueInto(Path.Combine(_dir, "live"), "mta-sts.tlsrpt-https.test");
        var config = Path.Combine(_dir, "serve.yml");
        await File.WriteAllTextAsync(config, $"""
            domain: tlsrpt-https.test
            mx: mx.tlsrpt-https.test
            mode: testing
            max_age: 86400
            serve:
              listen: ["{ServeAddress}:443"]
              certificates: {live}
            """, TestContext.Current.CancellationToken);
        _serve = RampartProcess.Start(["serve", "--config", config, "--state-dir", Path.Combine(_dir, "received")]);
        await _serve.WaitForLineAsync(l => l.Contains("rampart serve listening on", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
    }

    private string Socket => Path.Combine(_dir, "spool", "tlsrpt.sock");

    private string SenderConfig(string extra = "")
    {
        var path = Path.Combine(_dir, "rampart.yml");
        var dkim = "{domain: tlsrpt-https.test, selector: tlsrpt, key_file: " + RepoFile("lab/scenarios/tlsrpt-https.test/dkim-lab-only.pem") + "}";
        File.WriteAllText(path, $"""
            listen: 127.0.0.1:{LoopbackPort.Free()}
            state_dir: {Path.Combine(_dir, "state")}
            resolver: 127.0.0.1:53
            ca_file: {CaBundle}
            tlsrpt_reporting:
              datagram_socket: {Socket}
              sender_address: tlsrpt@tlsrpt-https.test
              organization_name: Rampart Lab Sender
              submit: 127.0.1.33:25
              dkim: {dkim}
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
        var mailDir = Path.Combine(LabLeafCertificate.State, "mail", "mx.tlsrpt.test");
        var email = Assert.Single(EmailsSince(mailDir, _started), f => File.ReadAllText(f).Contains(mailedId, StringComparison.Ordinal));
        var import = await CliRunner.RunAsync(["tlsrpt", "import", email, "--state-dir", Path.Combine(_dir, "mailed"), "--resolver", "127.0.0.1:53", "--json"],
            null, TimeSpan.FromSeconds(60));
        Assert.True(import.ExitCode == 0, import.ToString());
        using var imported = JsonDocument.Parse(import.Stdout);
        var mailed = Assert.Single(imported.RootElement.GetProperty("reports").EnumerateArray());
        Assert.Equal(("pass", "tlsrpt-https.test"), (mailed.GetProperty("dkim").GetString(), mailed.GetProperty("dkim_domain").GetString()));
        Assert.Equal((7, 3), (mailed.GetProperty("successful").GetInt32(), mailed.GetProperty("failed").GetInt32()));
        Assert.Equal(mailedId, mailed.GetProperty("report_id").GetString());
        await AssertSummaryAsync(Path.Combine(_dir, "mailed"), "tlsrpt.test", 7, 3, "starttls-not-supported");

        // The https: side: what rampart serve's receiver stored.
        await AssertSummaryAsync(Path.Combine(_dir, "received"), "tlsrpt-https.test", 5, 2, "certificate-not-trusted");

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
        var mailDir = Path.Combine(LabLeafCertificate.State, "mail", "mx.tlsrpt.test");
        Assert.Single(EmailsSince(mailDir, _started), f => File.ReadAllText(f).Contains(reportId, StringComparison.Ordinal));
    }

    private static async Task AssertSummaryAsync(string stateDir, string domain, int ok, int failed, string type)
    {
        var summary = await CliRunner.RunAsync(["tlsrpt", "summary", "--state-dir", stateDir, "--json"], null, TimeSpan.FromSeconds(60));
        Assert.True(summary.ExitCode == 0, summary.ToString());
        using var json = JsonDocument.Parse(summary.Stdout);
        var row = Assert.Single(json.RootElement.GetProperty("domains").EnumerateArray());
        Assert.Equal(domain, row.GetProperty("policy_domain").GetString());
        Assert.Equal((ok, failed), (row.GetProperty("successful").GetInt32(), row.GetProperty("failed").GetInt32()));
        var types = row.GetProperty("failure_types").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32());
        Assert.Equal(new Dictionary<string, int> { [type] = failed }, types);
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
