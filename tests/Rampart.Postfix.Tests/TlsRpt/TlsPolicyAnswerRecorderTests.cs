using Microsoft.Extensions.Logging.Abstractions;
using Rampart.Core.Policy;
using Rampart.Core.TlsRpt;
using Rampart.Postfix.TlsRpt;
using Rampart.Storage.TlsRpt;

namespace Rampart.Postfix.Tests.TlsRpt;

/// <summary>The daemon's answer record: each decision that changes a domain's answer is written (to the real SQLite file), repeats and kept-instead refreshes are not.</summary>
public sealed class TlsPolicyAnswerRecorderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("rampart-answers-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static SenderPolicyDecision NoPolicy(string domain) => new(domain, SenderPolicyKind.None, TlsRequirement.NoPolicy, [], []);

    [Fact]
    public async Task Decided_ChangesRecordedRepeatsNot()
    {
        var ct = TestContext.Current.CancellationToken;
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2026, 12, 7, 10, 0, 0, TimeSpan.Zero));
        await using var store = await SqliteTlsPolicyAnswerStore.OpenAsync(Path.Combine(_dir, SqliteTlsPolicyAnswerStore.FileName), ct);
        var recorder = new TlsPolicyAnswerRecorder(store, time, () => NullLogger.Instance);
        using var stop = new CancellationTokenSource();
        var running = recorder.RunAsync(stop.Token);

        recorder.Decided(new SenderPolicyDecided("a.test", NoPolicy("a.test"), null));
        time.Advance(TimeSpan.FromMinutes(1));
        recorder.Decided(new SenderPolicyDecided("a.test", NoPolicy("a.test"), null)); // the same answer: not written again
        var fetchFailed = NoPolicy("a.test") with { MtaStsFailure = TlsRptResultTypes.StsPolicyFetchError };
        time.Advance(TimeSpan.FromMinutes(1));
        recorder.Decided(new SenderPolicyDecided("a.test", fetchFailed, null));
        time.Advance(TimeSpan.FromMinutes(1));
        recorder.Decided(new SenderPolicyDecided("a.test", NoPolicy("a.test"), KeptInstead: fetchFailed)); // a failed refresh: Postfix still gets the old answer
        await stop.CancelAsync();
        await running;

        var t0 = new DateTimeOffset(2026, 12, 7, 10, 0, 0, TimeSpan.Zero);
        Assert.Equal(t0, (await store.FindAsync("a.test", t0.AddSeconds(90), ct))!.At);   // the 10:01 repeat was not written
        var latest = (await store.FindAsync("a.test", t0.AddHours(1), ct))!;
        Assert.Equal((t0.AddMinutes(2), TlsRptResultTypes.StsPolicyFetchError), (latest.At, latest.PolicyFailure));
        Assert.Equal(0, recorder.Dropped);
    }
}
