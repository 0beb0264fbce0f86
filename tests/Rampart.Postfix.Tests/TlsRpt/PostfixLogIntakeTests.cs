using System.IO.Compression;
using System.Text;
using Rampart.Core.TlsRpt;
using Rampart.Postfix.TlsRpt;
using Rampart.Storage.TlsRpt;

namespace Rampart.Postfix.Tests.TlsRpt;

/// <summary>
/// The log source around the reader: bounded line splitting, the join of a session with the daemon's answer, and a
/// replay into the real SQLite session store (idempotent; our own reports never counted; gzip rotations).
/// </summary>
public sealed class PostfixLogIntakeTests : IDisposable
{
    private static readonly DateTimeOffset s_reference = new(2026, 12, 7, 23, 0, 0, TimeSpan.Zero);
    private static readonly TlsSessionPolicy s_sts = new(TlsRptPolicyTypes.Sts, "sts-enforce.test",
        ["version: STSv1", "mode: enforce", "mx: mx.sts-enforce.test", "max_age: 86400"], ["mx.sts-enforce.test"]);
    private readonly string _dir = Directory.CreateTempSubdirectory("rampart-log-intake-").FullName;
    private readonly CancellationToken _ct = TestContext.Current.CancellationToken;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private const string Log = """
        Dec  7 18:12:37 mail postfix/qmgr[300]: DDDDD44444: from=<TLSRPT-NoReply@sender.lab>, size=2410, nrcpt=1 (queue active)
        Dec  7 18:12:38 mail postfix/smtp[4711]: Verified TLS connection established to mx.sts-enforce.test[127.0.1.1]:25: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)
        Dec  7 18:12:38 mail postfix/smtp[4711]: 4F2A31C0B7: to=<user@sts-enforce.test>, relay=mx.sts-enforce.test[127.0.1.1]:25, delay=0.2, delays=0/0/0.1/0.1, dsn=2.0.0, status=sent (250 2.0.0 Ok)
        Dec  7 18:12:39 mail postfix/smtp[4712]: 5F2A31C0B7: to=<user@sts-enforce.test>, relay=mx.sts-enforce.test[127.0.1.1]:25, delay=1.1, delays=0/0/1/0, dsn=4.7.5, status=deferred (TLS is required, but was not offered by host mx.sts-enforce.test[127.0.1.1])
        Dec  7 18:12:40 mail postfix/smtp[4711]: Verified TLS connection established to mx.a.test[192.0.2.1]:25: TLSv1.3 with cipher X (256/256 bits)
        Dec  7 18:12:40 mail postfix/smtp[4711]: DDDDD44444: to=<tlsrpt@a.test>, relay=mx.a.test[192.0.2.1]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 ok)

        """;

    [Fact]
    public void Splitter_LinesAcrossChunks_PositionsAndCrLf()
    {
        var bytes = Encoding.UTF8.GetBytes("one\r\ntwo\nthree-without-end");
        var splitter = new LogLineSplitter(100);
        var lines = new List<LogLine>();
        foreach (var chunk in bytes.Chunk(3))
        {
            splitter.Add(chunk, lines);
        }

        Assert.Equal([new LogLine("one", 100, 105), new LogLine("two", 105, 109)], lines);
        Assert.Equal(109, splitter.Position); // the unfinished last line is not read yet
    }

    [Fact]
    public void Splitter_OverlongLine_SkippedWholeMemoryBounded()
    {
        var splitter = new LogLineSplitter(0);
        var lines = new List<LogLine>();
        var huge = new byte[LogLineSplitter.MaxLineBytes];
        Array.Fill(huge, (byte)'x');
        for (var i = 0; i < 10; i++)
        {
            splitter.Add(huge, lines); // 160 KiB without a line end
        }
        splitter.Add("\nnext\n"u8, lines);

        Assert.Equal(1, splitter.Oversized);
        var next = Assert.Single(lines);
        Assert.Equal("next", next.Text);
        Assert.Equal(10L * LogLineSplitter.MaxLineBytes + 1, next.Start);
    }

    [Fact]
    public void Combine_AnswerGivesThePolicy_FetchFailureWins_LookupErrorUnexplainedDropped()
    {
        var success = new PostfixTlsSession("sts-enforce.test", "Q1", "mx.sts-enforce.test", "127.0.1.1", "Verified", null, false, s_reference, "k1");
        var lookupError = success with { TlsLevel = null, MxIp = null, PolicyLookupError = true };

        Assert.Equal(TlsSessionPolicy.NoPolicyFound, PostfixLogSessions.Combine(success, null)!.Policy);
        Assert.Same(s_sts, PostfixLogSessions.Combine(success, new TlsPolicyAnswer("sts-enforce.test", s_reference, s_sts, null))!.Policy);
        Assert.Null(PostfixLogSessions.Combine(lookupError, null));
        Assert.Null(PostfixLogSessions.Combine(lookupError, new TlsPolicyAnswer("sts-enforce.test", s_reference, s_sts, null)));

        var failedFetch = new TlsPolicyAnswer("sts-enforce.test", s_reference, s_sts with { PolicyStrings = [], MxHostPatterns = [] }, TlsRptResultTypes.StsPolicyFetchError);
        foreach (var session in new[] { success, lookupError })
        {
            var result = PostfixLogSessions.Combine(session, failedFetch)!;
            Assert.False(result.Succeeded);
            Assert.Equal(TlsRptResultTypes.StsPolicyFetchError, Assert.Single(result.Failures).ResultType);
            Assert.Equal(TlsRptPolicyTypes.Sts, result.Policy.PolicyType);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Replay_IntoTheStore_CountsOnce_PolicyFromAnswers_OwnReportsLeftOut(bool gzip)
    {
        var path = Path.Combine(_dir, gzip ? "mail.log.1.gz" : "mail.log");
        await WriteAsync(path, Log, gzip);
        await using var answers = await SqliteTlsPolicyAnswerStore.OpenAsync(Path.Combine(_dir, SqliteTlsPolicyAnswerStore.FileName), _ct);
        await answers.RecordAsync([new TlsPolicyAnswer("sts-enforce.test", s_reference.AddHours(-6), s_sts, null)], _ct);
        await using var store = await SqliteTlsSessionStore.OpenAsync(Path.Combine(_dir, SqliteTlsSessionStore.FileName), TimeProvider.System, _ct);

        var first = await ReplayAsync(path, answers, store);
        var again = await ReplayAsync(path, answers, store);

        Assert.Equal((2L, 0L, 1L), (first.Counted, first.AlreadyCounted, first.OwnReports));
        Assert.Equal((0L, 2L), (again.Counted, again.AlreadyCounted));
        var day = Assert.Single(await store.ReadDayAsync(new DateOnly(2026, 12, 7), null, _ct));
        Assert.Equal(("sts-enforce.test", 1L, 1L), (day.ReportDomain, day.Successful, day.Failed));
        Assert.Equal(s_sts.PolicyStrings, day.Policy.PolicyStrings);
        Assert.Equal(TlsRptResultTypes.StartTlsNotSupported, Assert.Single(day.Failures).Failure.ResultType);
        Assert.Equal(new Dictionary<string, long> { ["starttls-not-supported"] = 1, ["success"] = 1 }, first.ByResult);
    }

    [Fact]
    public async Task Replay_DryRun_ResultsOnlyNothingStored()
    {
        var path = Path.Combine(_dir, "mail.log");
        await WriteAsync(path, Log, gzip: false);

        var outcome = await ReplayAsync(path, answers: null, store: null);

        Assert.Equal(2, outcome.Results.Count);
        Assert.All(outcome.Results, r => Assert.Equal(TlsSessionPolicy.NoPolicyFound, r.Policy));
        Assert.Equal(0, outcome.Counted);
        Assert.Equal(6, outcome.Lines);
    }

    private static async Task<PostfixLogReplayOutcome> ReplayAsync(string path, ITlsPolicyAnswerStore? answers, ITlsSessionStore? store)
    {
        var outcome = new PostfixLogReplayOutcome();
        await using var stream = File.OpenRead(path);
        await PostfixLogReplay.ReadAsync(stream, s_reference, new PostfixTlsLogReader("tlsrpt-noreply@sender.lab", TimeZoneInfo.Utc), answers, store, outcome,
            TestContext.Current.CancellationToken);
        return outcome;
    }

    private static async Task WriteAsync(string path, string text, bool gzip)
    {
        await using var file = File.Create(path);
        if (gzip)
        {
            await using var compressed = new GZipStream(file, CompressionLevel.Fastest);
            await compressed.WriteAsync(Encoding.UTF8.GetBytes(text));
        }
        else
        {
            await file.WriteAsync(Encoding.UTF8.GetBytes(text));
        }
    }
}
