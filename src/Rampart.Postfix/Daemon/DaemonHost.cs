using System.Runtime.InteropServices;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Rampart.Core.Dns;
using Rampart.Core.MtaSts;
using Rampart.Core.Policy;
using Rampart.Core.TlsRpt;
using Rampart.Hosting;
using Rampart.Hosting.Listening;
using Rampart.Hosting.Logging;
using Rampart.Postfix.Exim;
using Rampart.Postfix.Socketmap;
using Rampart.Postfix.TlsRpt;
using Rampart.Storage;
using Rampart.Storage.TlsRpt;

namespace Rampart.Postfix.Daemon;

/// <summary>A configuration read again on SIGHUP: settings when it is usable, and every message.</summary>
internal sealed record DaemonReload(DaemonSettings? Settings, IReadOnlyList<string> Warnings, IReadOnlyList<string> Errors);

/// <summary>
/// The Postfix policy daemon: Kestrel serving the socketmap protocol, answering from the current
/// <see cref="DaemonEngine"/> over the SQLite policy cache in the state directory. Runs as <see cref="DaemonSettings.RunAs"/>
/// once the sockets are bound, refreshes cached policies proactively, reloads its configuration on SIGHUP and stops
/// gracefully on SIGTERM/SIGINT.
/// </summary>
internal static partial class DaemonHost
{
    private static readonly TimeSpan s_purgeInterval = TimeSpan.FromHours(1);
    private static readonly TimeSpan s_firstSweepDelay = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan s_countInterval = TimeSpan.FromSeconds(30);

    /// <param name="reload">Reads the configuration again (SIGHUP); null = reloading is not possible.</param>
    public static async Task RunAsync(DaemonSettings settings, Func<DaemonReload>? reload, CancellationToken cancellationToken)
    {
        var time = TimeProvider.System;
        if (settings.Redis is null)
        {
            StateDirectory.RequireWritable(settings.StateDirectory);
        }
        ILogger? storeLog = null;
        // A store fault (Redis down, a full disk) never changes an answer: what could not be kept there is kept in memory.
        var store = new FallbackMtaStsPolicyStore(
            settings.Redis is { } redis
                ? await RedisMtaStsPolicyStore.OpenAsync(redis, time, cancellationToken).ConfigureAwait(false)
                : await SqliteMtaStsPolicyStore.OpenAsync(
                    SqlitePolicyStoreOptions.PathIn(settings.StateDirectory), new SqlitePolicyStoreOptions(), time, cancellationToken).ConfigureAwait(false),
            new InMemoryMtaStsPolicyStore(settings.Cache.MaxEntries),
            fault => { if (storeLog is { } l) { LogStoreFault(l, fault ?? "the policy cache works again"); } },
            mirrorReads: settings.Redis is not null,
            time);
        await using var storeScope = store.ConfigureAwait(false);
        if (settings.RunAs is { } owner && UnixAccount.IsRoot && settings.Redis is null)
        {
            owner.OwnDirectoryAndFiles(settings.StateDirectory, SqlitePolicyStoreOptions.FileName); // after opening: the database and its journal files exist now
        }
        // TLS-RPT for the mail we send: libtlsrpt's datagrams counted in the state directory (or a fleet's PostgreSQL).
        // Postfix 3.7: its log, joined with the daemon's record of what it answered per domain (tlsrpt-answers.sqlite).
        ITlsSessionStore? sessions = null;
        SqliteTlsPolicyAnswerStore? answers = null;
        if (settings.TlsRptLog is { IsJournal: true })
        {
            JournalSource.System.Require(); // one line, before anything is opened, when journalctl is not there
        }
        if (settings.TlsRpt is not null || settings.TlsRptLog is not null)
        {
            StateDirectory.RequireWritable(settings.StateDirectory);
            sessions = await TlsRptStores.OpenSessionsAsync(settings.TlsRptStore, settings.StateDirectory, time, cancellationToken).ConfigureAwait(false);
            if (settings.TlsRptLog is not null)
            {
                answers = await SqliteTlsPolicyAnswerStore.OpenAsync(SqliteTlsPolicyAnswerStore.PathIn(settings.StateDirectory), cancellationToken).ConfigureAwait(false);
            }
            if (settings.RunAs is { } sessionsOwner && UnixAccount.IsRoot)
            {
                if (settings.TlsRptStore is null)
                {
                    sessionsOwner.OwnDirectoryAndFiles(settings.StateDirectory, SqliteTlsSessionStore.FileName);
                }
                if (answers is not null)
                {
                    sessionsOwner.OwnDirectoryAndFiles(settings.StateDirectory, SqliteTlsPolicyAnswerStore.FileName);
                }
            }
        }
        await using var sessionsScope = ((IAsyncDisposable?)sessions ?? NothingToDispose.Instance).ConfigureAwait(false);
        await using var answersScope = ((IAsyncDisposable?)answers ?? NothingToDispose.Instance).ConfigureAwait(false);
        ILogger tlsRptLog = Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        var recorder = answers is null ? null : new TlsPolicyAnswerRecorder(answers, time, () => tlsRptLog);
        // Our own TLS-RPT reports, built from those counts and sent on schedule (tlsrpt_reporting.sender_address).
        var sending = settings.TlsRptSending is { } sendingConfig
            ? await TlsRptReportSending.OpenAsync(sendingConfig, settings.StateDirectory, sessions, new DnsClientResolver(settings.Dns), settings.Anchors, time, cancellationToken).ConfigureAwait(false)
            : null;
        await using var sendingScope = ((IAsyncDisposable?)sending ?? NothingToDispose.Instance).ConfigureAwait(false);
        if (sending is not null && settings.TlsRptStore is null && settings.RunAs is { } outboxOwner && UnixAccount.IsRoot)
        {
            outboxOwner.OwnDirectoryAndFiles(settings.StateDirectory, SqliteTlsRptOutbox.FileName);
            outboxOwner.OwnDirectoryAndFiles(settings.StateDirectory, SqliteTlsSessionStore.FileName);
        }
        var metrics = new DaemonMetrics();
        var counters = new SenderPolicyCacheCounters();
        ILogger decisionLog = Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        var engine = new DaemonEngine(settings, store, metrics, counters, time, () => decisionLog, recorder is null ? null : recorder.Decided);

        var builder = RampartWebApplication.CreateSlimBuilder();
        builder.Logging.AddHostConsole(settings.LogLevel);
        builder.Services.AddSingleton(time);
        builder.Services.AddSocketmap();
        builder.Services.AddSingleton<ISocketmapResponder>(sp =>
            new SocketmapResponder(name => Volatile.Read(ref engine).Zone(name), metrics, time, sp.GetRequiredService<ILogger<SocketmapResponder>>()));
        if (settings.EximListen.Count > 0)
        {
            builder.Services.AddEximLine();
            builder.Services.AddSingleton<IEximResponder>(sp =>
                new EximResponder(() => Volatile.Read(ref engine).Default, metrics, time, sp.GetRequiredService<ILogger<EximResponder>>()));
        }
        builder.WebHost.UseSocketmapTransport();
        AdmittingListenerFactory.Install(builder.Services, settings.MaxConnections);
        // Sockets passed by systemd (rampart-daemon.socket) replace the configured addresses.
        var activated = SystemdActivation.TakeFromEnvironment();
        var listening = (activated.Count > 0
            ? string.Join(", ", activated.Select(fd => $"systemd socket (fd {fd})")) + $" instead of {string.Join(", ", settings.Listen)}"
            : string.Join(", ", settings.Listen)) + (settings.Metrics is { } served ? $"; metrics http://{served}/metrics" : "")
            + (settings.EximListen.Count > 0 ? $"; Exim line {string.Join(", ", settings.EximListen)}" : "")
            + (settings.TlsRpt is { } intake ? $"; TLS-RPT datagrams unix:{intake.DatagramSocket}" : "")
            + (settings.TlsRptLog is { } logSource ? $"; TLS-RPT Postfix log {logSource.Source}" : "")
            + (settings.TlsRptSending is { } reporting ? "; " + reporting.DescribeSending() : "");
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            if (activated.Count > 0)
            {
                foreach (var descriptor in activated)
                {
                    kestrel.ListenSocketmapDescriptor(descriptor);
                }
            }
            else
            {
                foreach (var endpoint in settings.Listen)
                {
                    kestrel.ListenSocketmap(endpoint);
                }
            }
            foreach (var endpoint in settings.EximListen)
            {
                kestrel.ListenExim(endpoint);
            }
            if (settings.Metrics is { } metricsEndpoint)
            {
                kestrel.Listen(metricsEndpoint);
            }
        });
        var app = builder.Build();
        await using var appScope = app.ConfigureAwait(false);
        var admission = app.Services.GetRequiredService<ConnectionAdmission>();
        if (settings.Metrics is not null)
        {
            // Counting the store is a full scan (SQLite COUNT, Redis SCAN): at most once per interval, not per scrape.
            var cachedPolicies = (Count: 0, At: long.MinValue);
            app.MapGet("/metrics", async () =>
            {
                var (count, at) = cachedPolicies;
                if (at == long.MinValue || time.GetElapsedTime(at) >= s_countInterval)
                {
                    cachedPolicies = (count = await store.CountAsync(CancellationToken.None).ConfigureAwait(false), time.GetTimestamp());
                }
                return Results.Text(metrics.Render(counters, count, store.Faults) + admission.RenderMetrics(), PrometheusText.ContentType);
            });
        }
        var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(LogComponents.Daemon);
        // Bound before privileges are dropped (the socket may live in Postfix's queue directory).
        using var collector = settings.TlsRpt is { } intakeSettings
            ? TlsRptDatagramCollector.Bind(intakeSettings, sessions!, metrics.TlsRpt, time,
                app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(LogComponents.TlsRptCollector))
            : null;
        decisionLog = app.Services.GetRequiredService<ILogger<SocketmapResponder>>();
        storeLog = log;
        tlsRptLog = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(LogComponents.TlsRptCollector);
        Func<CancellationToken, Task>? follower = settings.TlsRptLog switch
        {
            { IsJournal: true } journalSettings => new PostfixJournalFollower(journalSettings, JournalSource.System, sessions!, answers, metrics.TlsRpt, time, tlsRptLog).RunAsync,
            { } logSettings => new PostfixLogFollower(logSettings, sessions!, answers, metrics.TlsRpt, time, tlsRptLog).RunAsync,
            null => null,
        };

        // SIGTERM/SIGINT stop the host and the process exits 0 after the last log line is flushed. Registered before the
        // listeners open: a signal left to the runtime's default re-raises SIGTERM after shutdown (exit 143) and loses
        // the console logger's queue. SIGHUP asks for a reload, handled on its own loop.
        var lifetime = app.Services.GetRequiredService<IHostApplicationLifetime>();
        // Type=notify (rampart-daemon.service): READY once listening, RELOADING around a SIGHUP, STOPPING at shutdown.
        using var systemd = SystemdNotify.FromEnvironment();
        using var stoppingNotice = lifetime.ApplicationStopping.Register(systemd.Stopping);
        var reloads = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
        void Stop(PosixSignalContext context)
        {
            context.Cancel = true;
            lifetime.StopApplication();
        }
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        using var sighup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
        {
            context.Cancel = true;
            reloads.Writer.TryWrite(true);
        });
        int cached;
        try
        {
            await ListenerStartup.StartAsync(app, endpoint => Equals(endpoint, settings.Metrics)
                ? new ListenerRole("--metrics", "another exporter, or a second rampart daemon?", HasUserOption: true)
                : settings.EximListen.Any(e => e.Serves(endpoint))
                    ? new ListenerRole("--exim-listen", "another rampart daemon?", HasUserOption: true)
                    : new ListenerRole("--listen", "another rampart daemon or postfix-mta-sts-resolver?", HasUserOption: true), cancellationToken).ConfigureAwait(false);
            cached = await store.CountAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested || lifetime.ApplicationStopping.IsCancellationRequested)
        {
            LogStopped(log, 0); // SIGTERM while starting: a clean stop, not a failure
            return;
        }
        // The first line says every address served, /metrics included.
        LogStarted(log, listening, store.Location, cached, settings.Dns.Endpoint.ToString(),
            settings.Dns.TrustAd ? "trusted" : "NOT trusted", admission.Limit);
        if (settings.RunAs is { } user)
        {
            if (user.DropIfRoot())
            {
                LogDropped(log, user.ToString());
            }
            else
            {
                LogNotRoot(log, user.ToString());
            }
        }
        if (settings.Dns.Warning is { } warning)
        {
            LogWarning(log, warning);
        }
        foreach (var note in settings.StartNotes)
        {
            LogNote(log, note);
        }
        systemd.Ready($"listening on {listening}; {cached} cached policies");

        var stopping = lifetime.ApplicationStopping;
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stopping, cancellationToken);
        var background = Task.WhenAll(
            PurgePeriodicallyAsync(store, time, log, linked.Token),
            SweepPeriodicallyAsync(() => Volatile.Read(ref engine), store, metrics, time, log, linked.Token),
            ReloadOnSignalAsync(reloads.Reader, linked.Token),
            systemd.PingWatchdogAsync(time, linked.Token),
            collector?.RunAsync(linked.Token) ?? Task.CompletedTask,
            recorder?.RunAsync(linked.Token) ?? Task.CompletedTask,
            follower?.Invoke(linked.Token) ?? Task.CompletedTask,

            sending?.RunPeriodicallyAsync(metrics.TlsRptSend, app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(LogComponents.TlsRptSender), time, linked.Token) ?? Task.CompletedTask);
        await app.WaitForShutdownAsync(cancellationToken).ConfigureAwait(false);
        await linked.CancelAsync().ConfigureAwait(false);
        await background.ConfigureAwait(false);
        LogStopped(log, counters.Hits + counters.Stale + counters.FromPolicyCache + counters.Misses);

        async Task ReloadOnSignalAsync(ChannelReader<bool> requests, CancellationToken stop)
        {
            try
            {
                while (await requests.WaitToReadAsync(stop).ConfigureAwait(false))
                {
                    requests.TryRead(out _);
                    systemd.Reloading();
                    Volatile.Write(ref engine, Reload(Volatile.Read(ref engine), reload, store, metrics, counters, time, log));
                    systemd.Ready($"listening on {listening}; configuration reloaded");
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
            }
        }
    }

    /// <summary>Builds the engine a SIGHUP asks for; on any error the running engine stays and the errors are logged.</summary>
    private static DaemonEngine Reload(DaemonEngine current, Func<DaemonReload>? reload, IMtaStsPolicyStore store,
        DaemonMetrics metrics, SenderPolicyCacheCounters counters, TimeProvider time, ILogger log)
    {
        if (reload is null)
        {
            LogReloadFailed(log, "nothing to reload: the daemon was started without a configuration that can be read again");
            metrics.RecordReload(false);
            return current;
        }
        DaemonReload next;
        try
        {
            next = reload();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or Core.RampartException or FormatException)
        {
            next = new DaemonReload(null, [], [ex.Message]);
        }
        foreach (var warning in next.Warnings)
        {
            LogWarning(log, warning);
        }
        if (next.Settings is not { } settings || next.Errors.Count > 0)
        {
            foreach (var error in next.Errors)
            {
                LogReloadFailed(log, error);
            }
            metrics.RecordReload(false);
            return current;
        }
        foreach (var setting in current.Settings.RestartOnlyChanges(settings))
        {
            LogRestartNeeded(log, setting);
        }
        // What needs a restart keeps its running value.
        var applied = settings with
        {
            Listen = current.Settings.Listen,
            EximListen = current.Settings.EximListen,
            StateDirectory = current.Settings.StateDirectory,
            Metrics = current.Settings.Metrics,
            MaxConnections = current.Settings.MaxConnections,
            RunAs = current.Settings.RunAs,
            TlsRpt = current.Settings.TlsRpt,
            TlsRptLog = current.Settings.TlsRptLog,
            TlsRptStore = current.Settings.TlsRptStore,
            TlsRptSending = current.Settings.TlsRptSending,
        };
        metrics.RecordReload(true);
        LogReloaded(log, applied.Zones.Count, applied.Pinned?.Count ?? 0, applied.Dns.Endpoint.ToString(),
            applied.Refresh.Enabled ? $"every {applied.Refresh.SweepPeriod.TotalHours:0.##} h" : "off");
        return new DaemonEngine(applied, store, metrics, counters, time, current.DecisionLog, current.Decided);
    }

    /// <summary>Deletes expired cached policies every hour; a store fault is logged and the purge tried again next hour.</summary>
    private static async Task PurgePeriodicallyAsync(IPersistentMtaStsPolicyStore store, TimeProvider time, ILogger log, CancellationToken stop)
    {
        using var timer = new PeriodicTimer(s_purgeInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stop).ConfigureAwait(false))
            {
                try
                {
                    LogPurged(log, await store.PurgeExpiredAsync(stop).ConfigureAwait(false));
                }
                catch (Core.RampartException ex)
                {
                    // A store fault (disk full, Redis away) is logged and the purge tried again next hour, as a failed
                    // sweep is: it must not end the loop silently.
                    LogWarning(log, "purging expired cached policies: " + ex.Message);
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// Proactive refresh: the first sweep a minute after start (or one sweep period, if shorter), then one every sweep
    /// period of the current engine. A failed sweep is logged and retried next period; it never stops the daemon.
    /// </summary>
    private static async Task SweepPeriodicallyAsync(Func<DaemonEngine> engine, IPersistentMtaStsPolicyStore store,
        DaemonMetrics metrics, TimeProvider time, ILogger log, CancellationToken stop)
    {
        try
        {
            var delay = engine().Refresher?.Settings.SweepPeriod is { } first && first < s_firstSweepDelay ? first : s_firstSweepDelay;
            while (true)
            {
                await Task.Delay(delay, time, stop).ConfigureAwait(false);
                if (engine().Refresher is not { } refresher)
                {
                    delay = s_firstSweepDelay; // off: look again later (a reload may turn it on)
                    continue;
                }
                delay = refresher.Settings.SweepPeriod;
                try
                {
                    var summary = await refresher.SweepAsync(store.EnumerateValidAsync(stop), stop).ConfigureAwait(false);
                    metrics.RecordSweep(summary);
                    LogSwept(log, summary.Cached, summary.Due, summary.Refetched, summary.Failed);
                    ReturnSweepMemory();
                }
                catch (Core.RampartException ex)
                {
                    LogWarning(log, "proactive refresh: " + ex.Message);
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// A sweep reads the store a page at a time, but over 100,000 policies the checks it runs (and a burst of lookups
    /// before it) grow the heap, and left to the GC the heap keeps that size (docs/benchmarks.md section 19: 135 → 188
    /// MiB RSS after the first sweep when it still read every policy at once). One blocking, compacting collection that
    /// hands the free memory back to the system costs a pause of some milliseconds per sweep period (12 h by default).
    /// </summary>
    private static void ReturnSweepMemory() =>
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);

    /// <summary>The scope of a store that was not opened.</summary>
    private sealed class NothingToDispose : IAsyncDisposable
    {
        public static readonly NothingToDispose Instance = new();

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information,
        Message = "rampart daemon listening on {Listen}; policy cache {Path} ({Cached} entries); resolver {Resolver} (DNSSEC {Trust}); at most {Connections} connections at once")]
    private static partial void LogStarted(ILogger logger, string listen, string path, int cached, string resolver, string trust, int connections);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "{Warning}")]
    private static partial void LogWarning(ILogger logger, string warning);

    [LoggerMessage(EventId = 3, Level = LogLevel.Information, Message = "purged {Count} expired cached policies")]
    private static partial void LogPurged(ILogger logger, int count);

    [LoggerMessage(EventId = 4, Level = LogLevel.Information, Message = "rampart daemon stopped after {Lookups} lookups")]
    private static partial void LogStopped(ILogger logger, long lookups);

    [LoggerMessage(EventId = 5, Level = LogLevel.Information, Message = "running as {User}")]
    private static partial void LogDropped(ILogger logger, string user);

    [LoggerMessage(EventId = 6, Level = LogLevel.Warning, Message = "not started as root: cannot switch to {User}; running as the starting user")]
    private static partial void LogNotRoot(ILogger logger, string user);

    [LoggerMessage(EventId = 7, Level = LogLevel.Information,
        Message = "configuration reloaded: {Zones} named zones, {Pinned} pinned policies, resolver {Resolver}, proactive refresh {Refresh}")]
    private static partial void LogReloaded(ILogger logger, int zones, int pinned, string resolver, string refresh);

    [LoggerMessage(EventId = 8, Level = LogLevel.Error, Message = "reload failed, the running configuration stays: {Error}")]
    private static partial void LogReloadFailed(ILogger logger, string error);

    [LoggerMessage(EventId = 9, Level = LogLevel.Warning, Message = "reload: a changed {Setting} takes effect only after a restart")]
    private static partial void LogRestartNeeded(ILogger logger, string setting);

    [LoggerMessage(EventId = 12, Level = LogLevel.Information, Message = "{Note}")]
    private static partial void LogNote(ILogger logger, string note);

    [LoggerMessage(EventId = 11, Level = LogLevel.Warning, Message = "policy cache: {Message}")]
    private static partial void LogStoreFault(ILogger logger, string message);

    [LoggerMessage(EventId = 10, Level = LogLevel.Information,
        Message = "proactive refresh: {Cached} cached policies, {Due} checked, {Refetched} refetched, {Failed} failed (cached policies kept)")]
    private static partial void LogSwept(ILogger logger, int cached, int due, int refetched, int failed);
}
