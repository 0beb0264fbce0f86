using Microsoft.Extensions.Logging;
using Rampart.Core;
using Rampart.Core.TlsRpt;
using Rampart.Hosting;
using Rampart.Postfix.Tests.Socketmap;
using Rampart.Postfix.Tests.Fakes;
using Rampart.Postfix.Tests.Support;
using Rampart.Postfix.TlsRpt;
using Rampart.Tests.Shared;

namespace Rampart.Postfix.Tests.TlsRpt;

/// <summary>
/// The collector in process, on a real Unix datagram socket, over a store that fails when told to: what is counted
/// when, what is logged once, and what a stop does with what is queued.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class TlsRptDatagramCollectorTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("rampart-collector-").FullName;
    private readonly ListLoggerProvider _logs = new();
    private readonly TlsRptIntakeMetrics _metrics = new();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Socket => Path.Combine(_dir, "sub", "tlsrpt.sock");

    /// <summary>On the fake clock batches commit at once (a lingering batch would wait for the test to advance the clock).</summary>
    private TlsRptDatagramCollector Bind(ITlsSessionStore store, TimeProvider time) =>
        TlsRptDatagramCollector.Bind(new TlsRptIntakeSettings(Socket), store, _metrics, time, _logs.CreateLogger("test"),
            time == TimeProvider.System ? null : TimeSpan.Zero);

    private static byte[] Success(string domain = "example.net") =>
        new LibTlsRptDatagramBuilder(domain, "v=TLSRPTv1; rua=mailto:r@" + domain).Policy(2, domain).PolicyString("version: STSv1").Finish(0).Build();

    private void Send(params byte[][] datagrams)
    {
        using var sender = new LibTlsRptSender(Socket, blocking: true);
        foreach (var datagram in datagrams)
        {
            Assert.True(sender.TrySend(datagram));
        }
    }

    [Fact]
    public async Task Run_Datagrams_StoredThenCounted()
    {
        var store = new ScriptedStore();
        using var collector = Bind(store, TimeProvider.System);
        using var stop = new CancellationTokenSource();
        var run = collector.RunAsync(stop.Token);

        Send(Success(), Success("other.example"), "nonsense"u8.ToArray());
        await store.WaitForResultsAsync(2);
        await stop.CancelAsync();
        await run;

        Assert.Equal(["example.net", "other.example"], store.Results.Select(r => r.ReportDomain));
        Assert.All(store.Results, r => Assert.Equal(TlsSessionSources.Datagram, r.Source));
        Assert.Equal(2, _metrics.Sessions(TlsSessionSources.Datagram));
        Assert.Equal((2, 1, 0), (_metrics.Datagrams("accepted"), _metrics.Datagrams("rejected"), _metrics.Datagrams("dropped")));
        Assert.Equal((UnixFileMode)0b110_110_110, File.GetUnixFileMode(Socket));
    }

    [Fact]
    public async Task Run_SameProblemManyTimes_LoggedOnceCountedEachTime()
    {
        var store = new ScriptedStore();
        using var collector = Bind(store, TimeProvider.System);
        using var stop = new CancellationTokenSource();
        var run = collector.RunAsync(stop.Token);

        Send("x"u8.ToArray(), "y"u8.ToArray(), "{\"d\": \"a.example\"}"u8.ToArray(), "z"u8.ToArray(), Success());
        await store.WaitForResultsAsync(1);
        await stop.CancelAsync();
        await run;

        Assert.Equal(3, _metrics.Problems(LibTlsRptDatagram.InvalidJson));
        Assert.Equal(1, _metrics.Problems(LibTlsRptDatagram.NoPolicies));
        var warnings = _logs.Entries.Where(e => e.EventId.Id == 360).Select(e => e.Message).ToList();
        Assert.Equal(2, warnings.Count);
        Assert.Single(warnings, w => w.StartsWith("TLS-RPT datagram invalid-json: not JSON at byte 0", StringComparison.Ordinal));
        Assert.Single(warnings, w => w.StartsWith("TLS-RPT datagram no-policies: no policies for a.example", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Run_StoreFaultThenRecovery_BatchKeptAndCountedOnceStored()
    {
        var time = new TimerWatchingTimeProvider();
        var store = new ScriptedStore { FailuresLeft = 1 };
        using var collector = Bind(store, time);
        using var stop = new CancellationTokenSource();
        var run = collector.RunAsync(stop.Token);

        Send(Success());
        await time.CreatedAsync(TimeSpan.FromSeconds(1)); // the fault happened; the retry waits a second
        Assert.Equal(0, _metrics.Sessions(TlsSessionSources.Datagram));
        Assert.Equal(0, _metrics.Datagrams("accepted"));
        time.Advance(TimeSpan.FromSeconds(1));
        await store.WaitForResultsAsync(1);
        await stop.CancelAsync();
        await run;

        Assert.Single(store.Results);
        Assert.Equal(1, _metrics.Sessions(TlsSessionSources.Datagram));
        Assert.Equal(1, _metrics.Datagrams("accepted"));
        Assert.Equal([LogLevel.Error, LogLevel.Information],
            _logs.Entries.Where(e => e.EventId.Id is 361 or 362).Select(e => e.Level));
        Assert.Contains("disk full", _logs.Entries.Single(e => e.EventId.Id == 361).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_StopWhileTheStoreFails_LostCountedAsDroppedAndLogged()
    {
        var time = new TimerWatchingTimeProvider();
        var store = new ScriptedStore { FailuresLeft = int.MaxValue };
        using var collector = Bind(store, time);
        using var stop = new CancellationTokenSource();
        var run = collector.RunAsync(stop.Token);

        Send(Success());
        await time.CreatedAsync(TimeSpan.FromSeconds(1));
        await stop.CancelAsync();
        await run;

        Assert.Empty(store.Results);
        Assert.Equal((0, 1), (_metrics.Datagrams("accepted"), _metrics.Datagrams("dropped")));
        Assert.Contains(_logs.Entries, e => e.EventId.Id == 363 && e.Message.StartsWith("stopping: 1 TLS-RPT session results could not be stored", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Run_StopWithDatagramsQueued_AllStoredBeforeItReturns()
    {
        var store = new ScriptedStore();
        using var collector = Bind(store, TimeProvider.System);
        using var stop = new CancellationTokenSource();
        var run = collector.RunAsync(stop.Token);
        var datagrams = Enumerable.Range(0, 200).Select(i => Success($"d{i}.example")).ToArray();

        Send(datagrams);
        await store.WaitForResultsAsync(1); // receiving; most are still queued or in the socket
        await stop.CancelAsync();
        await run;

        // Every datagram the receive thread took from the socket is stored; the stop only ends receiving.
        Assert.Equal(_metrics.Datagrams("accepted"), (long)store.Results.Count);
        Assert.Equal((long)store.Results.Count, _metrics.Sessions(TlsSessionSources.Datagram));
        Assert.Equal(0, _metrics.Datagrams("dropped"));
    }

    [Fact]
    public void Dispose_SocketFileRemoved()
    {
        var collector = Bind(new ScriptedStore(), TimeProvider.System);
        Assert.True(File.Exists(Socket));

        collector.Dispose();

        Assert.False(File.Exists(Socket));
    }

    [Fact]
    public void Bind_StaleSocketFile_Replaced()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Socket)!);
        using (var dead = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Unspecified))
        {
            dead.Bind(new System.Net.Sockets.UnixDomainSocketEndPoint(Socket)); // closed without unlinking: a killed collector's file
        }

        using var collector = Bind(new ScriptedStore(), TimeProvider.System);

        Assert.True(File.Exists(Socket));
    }

    [Fact]
    public void Bind_RegularFileInTheWay_OneLineRefusal()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Socket)!);
        File.WriteAllText(Socket, "mine");

        var ex = Assert.Throws<StartupException>(() => Bind(new ScriptedStore(), TimeProvider.System));

        Assert.Equal($"tlsrpt_reporting.datagram_socket '{Socket}' is a file, not a socket; move it aside or name another path", ex.Message);
        Assert.Equal("mine", File.ReadAllText(Socket));
    }

    /// <summary>A store that keeps what it is given, failing first as often as told, and tells when results arrive.</summary>
    private sealed class ScriptedStore : ITlsSessionStore
    {
        private readonly List<(TlsSessionResult Result, string Source)> _results = [];
        private readonly SemaphoreSlim _added = new(0);

        public int FailuresLeft { get; set; }

        public string Location => "scripted";

        public IReadOnlyList<(string ReportDomain, string Source)> Results
        {
            get
            {
                lock (_results)
                {
                    return _results.Select(r => (r.Result.ReportDomain, r.Source)).ToList();
                }
            }
        }

        public async Task WaitForResultsAsync(int count)
        {
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            while (Results.Count < count)
            {
                await _added.WaitAsync(deadline.Token);
            }
        }

        public Task<int> AddAsync(string source, IReadOnlyList<TlsSessionEntry> entries, string? cursor, CancellationToken cancellationToken)
        {
            if (FailuresLeft > 0)
            {
                FailuresLeft--;
                throw new RampartException("TLS-RPT session store 'scripted': disk full");
            }
            lock (_results)
            {
                _results.AddRange(entries.Select(e => (e.Result, source)));
            }
            _added.Release();
            return Task.FromResult(entries.Count);
        }

        public Task<string?> ReadCursorAsync(string source, CancellationToken cancellationToken) => Task.FromResult<string?>(null);

        public Task<IReadOnlyList<DateOnly>> DaysAsync(CancellationToken cancellationToken) => Task.FromResult<IReadOnlyList<DateOnly>>([]);

        public Task<IReadOnlyList<TlsSessionDayPolicy>> ReadDayAsync(DateOnly day, string? reportDomain, CancellationToken cancellationToken) =>
            Task.FromResult<IReadOnlyList<TlsSessionDayPolicy>>([]);

        public Task<int> PurgeBeforeAsync(DateOnly day, CancellationToken cancellationToken) => Task.FromResult(0);

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
