using System.Runtime.InteropServices;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Rampart.Core.Dane;
using Rampart.Core.Dns;
using Rampart.Core.MtaSts;
using Rampart.Core.Policy;
using Rampart.Core.Policy.Pinned;
using Rampart.Core.Tls;
using Rampart.Postfix.Socketmap;
using Rampart.Storage;

namespace Rampart.Postfix.Daemon;

/// <summary>Everything <c>rampart daemon</c> runs with, already validated.</summary>
internal sealed record DaemonSettings(
    IReadOnlyList<SocketmapEndpoint> Listen,
    string StateDirectory,
    DnsResolverSettings Dns,
    TrustAnchors Anchors,
    SenderPolicySettings DefaultZone,
    MtaStsFetchSettings Fetch)
{
    /// <summary>Where to serve Prometheus <c>/metrics</c> over HTTP; null = not served.</summary>
    public System.Net.IPEndPoint? Metrics { get; init; }

    /// <summary>Local overrides and the STARTTLS Policy List (step 4 of the decision); null = none.</summary>
    public PinnedPolicySet? Pinned { get; init; }

    /// <summary>Named zones (the socketmap name Postfix sends); unknown names use <see cref="DefaultZone"/>.</summary>
    public IReadOnlyDictionary<string, SenderPolicySettings> Zones { get; init; } = new Dictionary<string, SenderPolicySettings>();

    public SenderPolicyCacheSettings Cache { get; init; } = new();
}

/// <summary>
/// The Postfix policy daemon: Kestrel serving the socketmap protocol, answering from <see cref="SenderPolicyCache"/>
/// over the SQLite policy cache in the state directory. Stops gracefully on SIGTERM/SIGINT.
/// </summary>
internal static partial class DaemonHost
{
    private static readonly TimeSpan s_purgeInterval = TimeSpan.FromHours(1);

    public static async Task RunAsync(DaemonSettings settings, CancellationToken cancellationToken)
    {
        var time = TimeProvider.System;
        var store = await SqliteMtaStsPolicyStore.OpenAsync(
            SqlitePolicyStoreOptions.PathIn(settings.StateDirectory), new SqlitePolicyStoreOptions(), time, cancellationToken).ConfigureAwait(false);
        await using var storeScope = store.ConfigureAwait(false);
        var dns = new DnsClientResolver(settings.Dns);
        var metrics = new DaemonMetrics();
        var fetcher = new CountingPolicyFetcher(new MtaStsPolicyFetcher(dns, new WebPkiValidator(settings.Anchors, time), settings.Fetch, time), metrics);
        var provider = new MtaStsPolicyProvider(dns, fetcher, store, new MtaStsPolicySettings(), time);
        SenderPolicyCache CacheFor(SenderPolicySettings zone) =>
            new(new SenderPolicyResolver(dns, new DaneHostLookup(dns), provider, zone, settings.Pinned, time), settings.Cache, time);
        var cache = CacheFor(settings.DefaultZone);
        var zones = settings.Zones.ToDictionary(z => z.Key, z => CacheFor(z.Value), StringComparer.Ordinal);

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ssZ ";
            o.UseUtcTimestamp = true;
        });
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        builder.Services.AddSingleton(time);
        builder.Services.AddSocketmap();
        builder.Services.AddSingleton<ISocketmapResponder>(sp =>
            new SocketmapResponder(zones, cache, metrics, time, sp.GetRequiredService<ILogger<SocketmapResponder>>()));
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            foreach (var endpoint in settings.Listen)
            {
                kestrel.ListenSocketmap(endpoint);
            }
            if (settings.Metrics is { } metricsEndpoint)
            {
                kestrel.Listen(metricsEndpoint);
            }
        });
        var app = builder.Build();
        await using var appScope = app.ConfigureAwait(false);
        if (settings.Metrics is not null)
        {
            app.MapGet("/metrics", async () => Results.Text(
                metrics.Render(cache.Counters, await store.CountAsync(CancellationToken.None).ConfigureAwait(false)),
                "text/plain; version=0.0.4; charset=utf-8"));
        }
        var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Rampart.Daemon");

        // SIGTERM/SIGINT stop the host and the process exits 0 after the last log line is flushed. Registered before the
        // listeners open: a signal left to the runtime's default re-raises SIGTERM after shutdown (exit 143) and loses
        // the console logger's queue.
        var lifetime = app.Services.GetRequiredService<IHostApplicationLifetime>();
        void Stop(PosixSignalContext context)
        {
            context.Cancel = true;
            lifetime.StopApplication();
        }
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var cached = await store.CountAsync(cancellationToken).ConfigureAwait(false);
        LogStarted(log, string.Join(", ", settings.Listen), store.Path, cached, settings.Dns.Endpoint.ToString(),
            settings.Dns.TrustAd ? "trusted" : "NOT trusted");
        if (settings.Dns.Warning is { } warning)
        {
            LogResolverWarning(log, warning);
        }

        var stopping = lifetime.ApplicationStopping;
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stopping, cancellationToken);
        var purge = PurgePeriodicallyAsync(store, time, log, linked.Token);
        await app.WaitForShutdownAsync(cancellationToken).ConfigureAwait(false);
        await linked.CancelAsync().ConfigureAwait(false);
        await purge.ConfigureAwait(false);
        var counters = cache.Counters;
        LogStopped(log, counters.Hits + counters.Stale + counters.FromPolicyCache + counters.Misses);
    }

    private static async Task PurgePeriodicallyAsync(SqliteMtaStsPolicyStore store, TimeProvider time, ILogger log, CancellationToken stop)
    {
        using var timer = new PeriodicTimer(s_purgeInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stop).ConfigureAwait(false))
            {
                var purged = await store.PurgeExpiredAsync(stop).ConfigureAwait(false);
                LogPurged(log, purged);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information,
        Message = "rampart daemon listening on {Listen}; policy cache {Path} ({Cached} entries); resolver {Resolver} (DNSSEC {Trust})")]
    private static partial void LogStarted(ILogger logger, string listen, string path, int cached, string resolver, string trust);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "{Warning}")]
    private static partial void LogResolverWarning(ILogger logger, string warning);

    [LoggerMessage(EventId = 3, Level = LogLevel.Information, Message = "purged {Count} expired cached policies")]
    private static partial void LogPurged(ILogger logger, int count);

    [LoggerMessage(EventId = 4, Level = LogLevel.Information, Message = "rampart daemon stopped after {Lookups} lookups")]
    private static partial void LogStopped(ILogger logger, long lookups);
}
