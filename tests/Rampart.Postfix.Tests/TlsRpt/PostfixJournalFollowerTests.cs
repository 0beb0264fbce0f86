using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Rampart.Core.TlsRpt;
using Rampart.Hosting;
using Rampart.Postfix.Tests.Servers;
using Rampart.Postfix.TlsRpt;
using Rampart.Storage.TlsRpt;

namespace Rampart.Postfix.Tests.TlsRpt;

/// <summary>
/// <c>postfix_log: journal</c> against a real systemd-journald (run by hand in a mount namespace: no systemd PID 1
/// here) and the real journalctl reading its files: Postfix's lines sent to journald as syslog(3) would (mail facility)
/// are counted; a stop and a restart go on from the stored cursor, losing no session and counting none twice, including
/// one whose TLS line came before the stop and its delivery line after; other facilities are not read.
/// </summary>
[Trait("Category", "integration")]
public sealed class PostfixJournalFollowerTests : IAsyncLifetime
{
    private static readonly TimeSpan s_within = TimeSpan.FromSeconds(60);
    private readonly string _dir = Directory.CreateTempSubdirectory("rampart-journal-follower-").FullName;
    private readonly CancellationToken _ct = TestContext.Current.CancellationToken;
    private JournaldServer? _journald;
    private SqliteTlsSessionStore? _store;

    private JournaldServer Journald => _journald!;

    private SqliteTlsSessionStore Store => _store!;

    public async ValueTask InitializeAsync()
    {
        _journald = await JournaldServer.StartAsync();
        _store = await SqliteTlsSessionStore.OpenAsync(SqliteTlsSessionStore.PathIn(_dir), TimeProvider.System, _ct);
    }

    public async ValueTask DisposeAsync()
    {
        if (_store is not null)
        {
            await _store.DisposeAsync();
        }
        if (_journald is not null)
        {
            await _journald.DisposeAsync();
        }
        Directory.Delete(_dir, recursive: true);
    }

    private (PostfixJournalFollower Follower, CancellationTokenSource Stop, Task Run) Start()
    {
        var follower = new PostfixJournalFollower(new TlsRptLogSettings(TlsRptLogSettings.Journal, "tlsrpt-noreply@sender.lab"),
            new JournalSource("journalctl", ["--directory=" + Journald.JournalDirectory]), Store, null, new TlsRptIntakeMetrics(), TimeProvider.System,
            NullLogger.Instance);
        var stop = CancellationTokenSource.CreateLinkedTokenSource(_ct);
        return (follower, stop, Task.Run(() => follower.RunAsync(stop.Token), _ct));
    }

    private static async Task StopAsync((PostfixJournalFollower Follower, CancellationTokenSource Stop, Task Run) run)
    {
        await run.Stop.CancelAsync();
        await run.Run.WaitAsync(s_within);
        run.Stop.Dispose();
    }

    /// <summary>A session to <paramref name="domain"/> by smtp[<paramref name="pid"/>]: its TLS line and its delivery line.</summary>
    private void Tls(int pid, string domain) =>
        Journald.Send("postfix/smtp", pid, $"Verified TLS connection established to mx.{domain}[192.0.2.{pid % 200}]:25: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)");

    private void Delivered(int pid, string domain, string queueId) =>
        Journald.Send("postfix/smtp", pid, $"{queueId}: to=<user@{domain}>, relay=mx.{domain}[192.0.2.{pid % 200}]:25, delay=0.2, delays=0/0/0.1/0.1, dsn=2.0.0, status=sent (250 2.0.0 Ok)");

    private void Stripped(int pid, string domain, string queueId) =>
        Journald.Send("postfix/smtp", pid, $"{queueId}: to=<user@{domain}>, relay=mx.{domain}[192.0.2.{pid % 200}]:25, delay=1.1, delays=0/0/1/0, dsn=4.7.5, status=deferred (TLS is required, but was not offered by host mx.{domain}[192.0.2.{pid % 200}])");

    /// <summary>The day's successes and failures, once they reach <paramref name="expected"/> (or what they are at the deadline).</summary>
    private async Task<(long Successful, long Failed)> CountsAsync((long, long) expected)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var day = await Store.ReadDayAsync(DateOnly.FromDateTime(DateTime.UtcNow), null, _ct);
            var counts = (day.Sum(p => p.Successful), day.Sum(p => p.Failed));
            if (counts == expected || deadline.Elapsed > s_within)
            {
                return counts;
            }
            await Task.Delay(100, _ct);
        }
    }

    [Fact]
    public async Task Follow_StopAndRestart_NothingLostNothingTwice()
    {
        var first = Start();
        Tls(101, "a.test");
        Delivered(101, "a.test", "AAAA1");
        Stripped(102, "b.test", "BBBB1");
        Journald.Send("CRON", 7, "(root) CMD (not mail)", facility: 3); // another facility: not read
        Assert.Equal((1L, 1L), await CountsAsync((1, 1)));
        // A connection whose TLS line comes before the stop and its delivery line after it.
        Tls(103, "c.test");
        await Task.Delay(500, _ct); // let the follower read the TLS line (the outcome below holds either way)
        await StopAsync(first);
        Delivered(103, "c.test", "CCCC1");
        Tls(104, "a.test");
        Delivered(104, "a.test", "AAAA2");

        var second = Start();
        try
        {
            Assert.Equal((3L, 1L), await CountsAsync((3, 1)));
            // Nothing more comes in: the restart read nothing twice (the counts stay).
            Tls(105, "d.test");
            Delivered(105, "d.test", "DDDD1");
            Assert.Equal((4L, 1L), await CountsAsync((4, 1)));
        }
        finally
        {
            await StopAsync(second);
        }
        var day = await Store.ReadDayAsync(DateOnly.FromDateTime(DateTime.UtcNow), null, _ct);
        Assert.Equal(["a.test", "b.test", "c.test", "d.test"], day.Select(p => p.ReportDomain).Distinct().Order(StringComparer.Ordinal));
        Assert.Equal(2, day.Where(p => p.ReportDomain == "a.test").Sum(p => p.Successful));
        Assert.Equal(TlsRptResultTypes.StartTlsNotSupported, day.Single(p => p.ReportDomain == "b.test").Failures.Single().Failure.ResultType);
    }

    [Fact]
    public void ReadEntry_JournalJson_TheLineJournalctlShortIsoPrecisePrints()
    {
        var entry = PostfixJournalFollower.ReadEntry("""
            {"__CURSOR":"s=1;i=9","__REALTIME_TIMESTAMP":"1796689394123449","_HOSTNAME":"mx1","SYSLOG_IDENTIFIER":"postfix/smtp","SYSLOG_PID":"4711","_PID":"99","MESSAGE":"3F1A: to=<a@b.test>, status=sent"}
            """);
        var bytes = PostfixJournalFollower.ReadEntry("""
            {"__CURSOR":"c","__REALTIME_TIMESTAMP":"0","SYSLOG_IDENTIFIER":"postfix/qmgr","_PID":"7","MESSAGE":[104,105,255,10,33]}
            """);

        Assert.Equal(("2026-12-08T00:23:14.123449+00:00 mx1 postfix/smtp[4711]: 3F1A: to=<a@b.test>, status=sent", "s=1;i=9"), entry);
        Assert.Equal("1970-01-01T00:00:00.000000+00:00 localhost postfix/qmgr[7]: hi\uFFFD !", bytes?.Line); // bytes, not UTF-8; a line end inside
        Assert.Null(PostfixJournalFollower.ReadEntry("""{"__CURSOR":"c","__REALTIME_TIMESTAMP":"1","MESSAGE":"kernel line, no identifier"}"""));
        Assert.Null(PostfixJournalFollower.ReadEntry("not json"));
    }

    [Fact]
    public void JournalctlMissing_OneLineNamingIt()
    {
        var ex = Assert.Throws<StartupException>(() => new JournalSource("/nonexistent/journalctl", []).Require());

        Assert.Equal("tlsrpt_reporting.postfix_log: journal: /nonexistent/journalctl is not found; install systemd's journalctl, or name the mail log file rsyslog writes (/var/log/mail.log)", ex.Message);
    }
}
