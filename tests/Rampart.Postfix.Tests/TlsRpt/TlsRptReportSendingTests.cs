using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Rampart.Core.Dns;
using Rampart.Core.Tls;
using Rampart.Core.TlsRpt;
using Rampart.Postfix.Config;
using Rampart.Postfix.TlsRpt;
using Rampart.Storage.TlsRpt;

namespace Rampart.Postfix.Tests.TlsRpt;

/// <summary>
/// The sender's pass as the daemon runs it every minute, over the real SQLite stores: the session counts older than
/// <c>keep_days</c> are purged on the first pass of each UTC day, not on every pass.
/// </summary>
public sealed class TlsRptReportSendingTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("rampart-tlsrpt-sending-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task RunOnce_PurgesOldSessionDays_OncePerUtcDay()
    {
        var ct = TestContext.Current.CancellationToken;
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 7, 6, 0, 0, TimeSpan.Zero));
        await using var sessions = await SqliteTlsSessionStore.OpenAsync(SqliteTlsSessionStore.PathIn(_dir), time, ct);
        Task AddDayAsync(DateOnly day) => sessions.AddAsync(TlsSessionSources.Datagram,
            [new TlsSessionEntry(new TlsSessionResult("a.example", null, TlsSessionPolicy.NoPolicyFound, true, [], new DateTimeOffset(day.ToDateTime(new TimeOnly(12, 0)), TimeSpan.Zero)))],
            null, ct);
        var config = new TlsRptReportingConfig { SenderAddress = "tlsrpt@sender.example", KeepDays = 2 };
        await using var sending = await TlsRptReportSending.OpenAsync(config, _dir, sessions, new NoRecordDns(), TrustAnchors.SystemOnly, time, ct);
        var metrics = new TlsRptSendMetrics();

        await AddDayAsync(new DateOnly(2026, 12, 1));
        await AddDayAsync(new DateOnly(2026, 12, 6));
        await sending.RunOnceAsync(null, metrics, NullLogger.Instance, ct);
        Assert.Equal([new DateOnly(2026, 12, 6)], await sessions.DaysAsync(ct)); // kept: 12-05 on (keep_days 2)

        await AddDayAsync(new DateOnly(2026, 12, 2)); // counted late (a replayed log)
        time.Advance(TimeSpan.FromHours(1));
        await sending.RunOnceAsync(null, metrics, NullLogger.Instance, ct);
        Assert.Equal([new DateOnly(2026, 12, 2), new DateOnly(2026, 12, 6)], await sessions.DaysAsync(ct)); // not again that day

        time.Advance(TimeSpan.FromDays(1));
        await sending.RunOnceAsync(null, metrics, NullLogger.Instance, ct);
        Assert.Equal([new DateOnly(2026, 12, 6)], await sessions.DaysAsync(ct)); // 12-08: 12-06 still kept
    }

    /// <summary>NXDOMAIN for every name: the queued reports find no TLSRPT record and are dropped, nothing is sent.</summary>
    private sealed class NoRecordDns : IDnsResolver
    {
        public Task<DnsResult<string>> QueryTxtAsync(string name, CancellationToken cancellationToken) => Answer<string>(name);

        public Task<DnsResult<MxRecord>> QueryMxAsync(string name, CancellationToken cancellationToken) => Answer<MxRecord>(name);

        public Task<DnsResult<IPAddress>> QueryAddressesAsync(string name, CancellationToken cancellationToken) => Answer<IPAddress>(name);

        public Task<DnsResult<TlsaRecordData>> QueryTlsaAsync(string name, CancellationToken cancellationToken) => Answer<TlsaRecordData>(name);

        private static Task<DnsResult<T>> Answer<T>(string name) => Task.FromResult(new DnsResult<T>(name, DnsOutcome.NxDomain, false, [], []));
    }
}
