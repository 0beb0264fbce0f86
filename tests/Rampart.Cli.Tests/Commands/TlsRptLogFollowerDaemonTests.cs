using System.Globalization;
using Rampart.Core.TlsRpt;
using Rampart.Storage.TlsRpt;
using Rampart.Tests.Shared;

namespace Rampart.Cli.Tests.Commands;

/// <summary>
/// The real <c>rampart daemon</c> with <c>tlsrpt_reporting.postfix_log</c>: it follows a Postfix 3.7 log as it grows,
/// through a SIGKILL in the middle of a connection's lines and a restart, a rotation by rename and a copytruncate, and
/// counts every session exactly once (and our own report's delivery never).
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class TlsRptLogFollowerDaemonTests : IDisposable
{
    private const string Ours = "tlsrpt-noreply@sender.lab";
    private readonly string _dir = Directory.CreateTempSubdirectory("rampart-tlsrpt-log-").FullName;
    private int _serial;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string State => Path.Combine(_dir, "state");

    private string Log => Path.Combine(_dir, "mail.log");

    private string Config()
    {
        var path = Path.Combine(_dir, "rampart.yml");
        File.WriteAllText(path, $"""
            listen: 127.0.0.1:{LoopbackPort.Free()}
            state_dir: {State}
            tlsrpt_reporting:
              postfix_log: {Log}
              sender_address: {Ours.ToUpperInvariant()}
            """);
        return path;
    }

    private static async Task<RampartProcess> StartAsync(string config)
    {
        var daemon = RampartProcess.Start(["daemon", "--config", config, "--resolver", "127.0.0.1:9"]);
        await daemon.WaitForLineAsync(l => l.Contains("rampart daemon listening on", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
        return daemon;
    }

    private static string Stamp() => DateTimeOffset.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffffzzz", CultureInfo.InvariantCulture);

    private string Qid() => "A" + (++_serial).ToString("X9", CultureInfo.InvariantCulture);

    private static string Line(int pid, string message) => $"{Stamp()} sender postfix/smtp[{pid}]: {message}\n";

    private string Success(int pid, string domain, string? qid = null) =>
        Line(pid, $"Verified TLS connection established to mx.{domain}[127.0.1.1]:25: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)") +
        Line(pid, $"{qid ?? Qid()}: to=<user@{domain}>, relay=mx.{domain}[127.0.1.1]:25, delay=0.2, delays=0/0/0.1/0.1, dsn=2.0.0, status=sent (250 2.0.0 Ok)");

    private string Stripped(int pid, string domain) =>
        Line(pid, $"{Qid()}: to=<user@{domain}>, relay=mx.{domain}[127.0.1.50]:25, delay=1, delays=0/0/1/0, dsn=4.7.5, status=deferred (TLS is required, but was not offered by host mx.{domain}[127.0.1.50])");

    private string Forged(int pid, string domain) =>
        Line(pid, $"certificate verification failed for mx.{domain}[127.0.1.50]:25: self-signed certificate") +
        Line(pid, $"Untrusted TLS connection established to mx.{domain}[127.0.1.50]:25: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)") +
        Line(pid, $"{Qid()}: to=<user@{domain}>, relay=mx.{domain}[127.0.1.50]:25, delay=1, delays=0/0/1/0, dsn=4.7.5, status=deferred (Server certificate not verified)");

    private string OwnReport(int pid)
    {
        var qid = Qid();
        return $"{Stamp()} sender postfix/qmgr[77]: {qid}: from=<{Ours}>, size=2410, nrcpt=1 (queue active)\n" + Success(pid, "sts-enforce.test", qid);
    }

    private Task<(long Successful, long Failed, Dictionary<string, long> ByType)> StoredAsync() => Support.SessionStoreTotals.ReadAsync(State);

    /// <summary>Waits until the store holds exactly these counts, then a second more (four polls) to see nothing is counted twice.</summary>
    private async Task ExpectAsync(long successful, long stripped, long forged)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        (long, long, Dictionary<string, long>) stored;
        while (true)
        {
            stored = await StoredAsync();
            if (stored.Item1 >= successful && stored.Item2 >= stripped + forged)
            {
                break;
            }
            Assert.True(DateTime.UtcNow < deadline, $"stored {stored.Item1} successful, {stored.Item2} failed; want {successful}, {stripped + forged}");
            await Task.Delay(100, TestContext.Current.CancellationToken);
        }
        await Task.Delay(1000, TestContext.Current.CancellationToken);
        var (ok, failed, byType) = await StoredAsync();
        Assert.Equal((successful, stripped + forged), (ok, failed));
        Assert.Equal(stripped, byType.GetValueOrDefault(TlsRptResultTypes.StartTlsNotSupported));
        Assert.Equal(forged, byType.GetValueOrDefault(TlsRptResultTypes.CertificateNotTrusted));
    }

    [Fact]
    public async Task Daemon_FollowsTheLog_ThroughSigkillRotationAndCopytruncate_CountsExactlyOnce()
    {
        var config = Config();
        var part1 = Success(101, "sts-enforce.test") + Success(102, "dane.test") + Stripped(103, "mitm-sts.test") + OwnReport(104)
                    + Forged(105, "mitm-dane.test");
        // A connection whose TLS line is written before the kill and its delivery line after it.
        var straddling = Line(106, "Verified TLS connection established to mx.dane.test[127.0.2.1]:25: TLSv1.3 with cipher X (256/256 bits)");
        await File.WriteAllTextAsync(Log, part1 + straddling, TestContext.Current.CancellationToken);

        var daemon = await StartAsync(config);
        try
        {
            Assert.Contains(daemon.Lines, l => l.Contains($"TLS-RPT Postfix log {Log}", StringComparison.Ordinal));
            await ExpectAsync(successful: 2, stripped: 1, forged: 1);
        }
        finally
        {
            await daemon.DisposeAsync(); // SIGKILL
        }

        await File.AppendAllTextAsync(Log,
            Line(106, $"{Qid()}: to=<user@dane.test>, relay=mx.dane.test[127.0.2.1]:25, delay=0.2, delays=0/0/0.1/0.1, dsn=2.0.0, status=sent (250 ok)")
            + Stripped(107, "mitm-sts.test"), TestContext.Current.CancellationToken);
        await using var restarted = await StartAsync(config);
        await ExpectAsync(successful: 3, stripped: 2, forged: 1);

        // logrotate's default: rename, a new file; the old one gets a last line before Postfix reopens.
        File.Move(Log, Log + ".1");
        await File.AppendAllTextAsync(Log + ".1", Success(108, "sts-enforce.test"), TestContext.Current.CancellationToken);
        await File.WriteAllTextAsync(Log, Forged(109, "mitm-dane.test") + OwnReport(110), TestContext.Current.CancellationToken);
        await ExpectAsync(successful: 4, stripped: 2, forged: 2);

        // copytruncate: the same file emptied, then written again from its start.
        File.Copy(Log, Log + ".2");
        await using (var truncate = new FileStream(Log, FileMode.Open, FileAccess.Write, FileShare.ReadWrite))
        {
            truncate.SetLength(0);
        }
        await File.AppendAllTextAsync(Log, Stripped(111, "mitm-sts.test"), TestContext.Current.CancellationToken);
        await ExpectAsync(successful: 4, stripped: 3, forged: 2);

        Assert.Equal(0, await restarted.StopAsync());
    }
}
