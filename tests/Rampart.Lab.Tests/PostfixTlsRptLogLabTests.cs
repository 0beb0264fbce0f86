using System.Text.RegularExpressions;
using Rampart.Core.TlsRpt;
using Rampart.Storage.TlsRpt;

namespace Rampart.Lab.Tests;

/// <summary>
/// TLS-RPT for Postfix 3.7, proven with the lab's real Postfix (3.7 on Debian 12, <c>smtp_tls_loglevel = 1</c>): the
/// daemon answers its policy lookups and follows its log (<c>tlsrpt_reporting.postfix_log</c>). Postfix delivers to
/// sts-enforce.test and dane.test, then the MitM strips STARTTLS from mitm-sts.test and forges the certificate of
/// mitm-dane.test; the daemon is killed with SIGKILL while Postfix retries, and restarted. The session store then holds
/// exactly what the log shows: each delivery a success, each stripped attempt a starttls-not-supported, each forged one a
/// tlsa-invalid, under the policy the daemon answered, none counted twice or lost.
/// </summary>
[Trait("Category", "integration")]
[Collection(LabAttacks.Collection)] // the MitM mode files are lab-wide: never beside the attack tests
public sealed partial class PostfixTlsRptLogLabTests(PostfixLab postfix) : IClassFixture<PostfixLab>
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    private string PostfixLog => Path.Combine(postfix.Instance, "log", "postfix.log");

    private static async Task WaitAsync(Func<Task<bool>> done, string what, Func<string> diagnostics)
    {
        var deadline = DateTime.UtcNow + Bound;
        while (!await done())
        {
            Assert.True(DateTime.UtcNow < deadline, $"{what} within {Bound.TotalSeconds} s\n{diagnostics()}");
            await Task.Delay(200, TestContext.Current.CancellationToken);
        }
    }

    private async Task<List<TlsSessionDayPolicy>> StoredAsync(string state)
    {
        await using var store = await SqliteTlsSessionStore.OpenAsync(SqliteTlsSessionStore.PathIn(state), TimeProvider.System, TestContext.Current.CancellationToken);
        var policies = new List<TlsSessionDayPolicy>();
        foreach (var day in await store.DaysAsync(TestContext.Current.CancellationToken))
        {
            policies.AddRange(await store.ReadDayAsync(day, null, TestContext.Current.CancellationToken));
        }
        return policies;
    }

    /// <summary>What the log itself shows, counted with plain text matching (independent of the reader).</summary>
    private (int Delivered, int Stripped, int Forged) LogShows()
    {
        var log = File.Exists(PostfixLog) ? File.ReadAllLines(PostfixLog) : [];
        return (
            log.Count(l => SentOverTls().IsMatch(l)),
            log.Count(l => l.Contains("to=<user@mitm-sts.test>", StringComparison.Ordinal) && l.Contains("status=deferred (TLS is required, but was not offered", StringComparison.Ordinal)),
            log.Count(l => l.Contains("certificate verification failed for mx.mitm-dane.test[127.0.2.50]:25: num=65:no matching DANE TLSA records", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Postfix37Log_DeliveriesStripAndForgeThroughSigkill_StoreCountsWhatTheLogShows()
    {
        Lab.RequireLab();
        var state = postfix.NewDaemonState();
        var config = Path.Combine(state, "rampart.yml");
        await File.WriteAllTextAsync(config, $"""
            tlsrpt_reporting:
              postfix_log: {PostfixLog}
              sender_address: tlsrpt-noreply@sender.lab
            """, TestContext.Current.CancellationToken);
        await postfix.StartDaemonAsync(state, "--config", config);
        try
        {
            await postfix.RunAsync("send", "user@sts-enforce.test", "tlsrpt-log-1");
            await postfix.RunAsync("send", "user@dane.test", "tlsrpt-log-2");
            await WaitAsync(() => Task.FromResult(LogShows().Delivered == 2), "both delivered", postfix.Log);

            await LabAttacks.SetMitmAsync("127.0.1.50", "strip");
            await LabAttacks.SetMitmAsync("127.0.2.50", "forge");
            await postfix.RunAsync("send", "user@mitm-sts.test", "tlsrpt-log-3");
            await postfix.RunAsync("send", "user@mitm-dane.test", "tlsrpt-log-4");
            await WaitAsync(() => Task.FromResult(LogShows() is { Stripped: >= 2, Forged: >= 2 }), "two attempts of each deferred", postfix.Log);

            // SIGKILL while Postfix goes on retrying (it logs policy lookup errors while the daemon is away), then restart.
            await postfix.KillDaemonAsync();
            await Task.Delay(TimeSpan.FromSeconds(3), TestContext.Current.CancellationToken);
            await postfix.StartDaemonAsync(state, "--config", config);
            await WaitAsync(() => Task.FromResult(LogShows() is { Stripped: >= 4, Forged: >= 4 }), "more attempts after the restart", postfix.Log);
        }
        finally
        {
            // emptied before the MitM stands down: a retry after it would be delivered, a success the log count leaves out
            await postfix.EmptyQueueAsync();
            await LabAttacks.SetMitmAsync("127.0.1.50", null);
            await LabAttacks.SetMitmAsync("127.0.2.50", null);
        }

        // The queue is purged, but an smtp process that was mid-attempt may still log its outcome: the log is read
        // again each time, and the store must catch up to exactly what it shows once both have settled.
        await Task.Delay(TimeSpan.FromSeconds(1), TestContext.Current.CancellationToken);
        var shows = LogShows();
        List<TlsSessionDayPolicy> stored = [];
        await WaitAsync(async () =>
        {
            shows = LogShows();
            stored = await StoredAsync(state);
            return stored.Sum(p => p.Successful) >= shows.Delivered && stored.Sum(p => p.Failed) >= shows.Stripped + shows.Forged;
        }, "the store catches up with the log", () => $"log shows {shows}; stored {string.Join("; ", stored.Select(p => $"{p.ReportDomain} {p.Policy.PolicyType} ok={p.Successful} failed={p.Failed}"))}\n{postfix.DaemonOutput()}");
        await Task.Delay(TimeSpan.FromSeconds(2), TestContext.Current.CancellationToken);
        shows = LogShows();
        stored = await StoredAsync(state);

        var counted = $"log shows {shows}; stored {string.Join("; ", stored.Select(p => $"{p.ReportDomain} {p.Policy.PolicyType} ok={p.Successful} failed={p.Failed} [{string.Join(", ", p.Failures.Select(f => $"{f.Failure.ResultType} {f.Failure.ReceivingMxHostname} x{f.Sessions}"))}]"))}";
        Assert.True(shows.Delivered == stored.Sum(p => p.Successful), counted);
        Assert.True(shows.Stripped + shows.Forged == stored.Sum(p => p.Failed), counted + "\n" + postfix.Log());
        var sts = Assert.Single(stored, p => p.ReportDomain == "mitm-sts.test");
        Assert.Equal((TlsRptPolicyTypes.Sts, "mitm-sts.test"), (sts.Policy.PolicyType, sts.Policy.PolicyDomain));
        Assert.Contains("mode: enforce", sts.Policy.PolicyStrings);
        Assert.Equal(["mx.mitm-sts.test"], sts.Policy.MxHostPatterns);
        var stripped = Assert.Single(sts.Failures);
        Assert.Equal((TlsRptResultTypes.StartTlsNotSupported, "mx.mitm-sts.test", "127.0.1.50", (long)shows.Stripped),
            (stripped.Failure.ResultType, stripped.Failure.ReceivingMxHostname, stripped.Failure.ReceivingIp, stripped.Sessions));
        var dane = Assert.Single(stored, p => p.ReportDomain == "mitm-dane.test");
        Assert.Equal(TlsRptPolicyTypes.Tlsa, dane.Policy.PolicyType);
        Assert.NotEmpty(dane.Policy.PolicyStrings);
        var forged = Assert.Single(dane.Failures);
        Assert.Equal((TlsRptResultTypes.TlsaInvalid, (long)shows.Forged), (forged.Failure.ResultType, forged.Sessions));
        Assert.Equal(TlsRptPolicyTypes.Sts, Assert.Single(stored, p => p.ReportDomain == "sts-enforce.test").Policy.PolicyType);
        Assert.Equal(TlsRptPolicyTypes.Tlsa, Assert.Single(stored, p => p.ReportDomain == "dane.test").Policy.PolicyType);
    }

    [GeneratedRegex(@"postfix/smtp\[\d+\]: \w+: to=<user@(sts-enforce|dane)\.test>, relay=mx\.\1\.test\[[0-9.]+\]:25, .* status=sent ")]
    private static partial Regex SentOverTls();
}
