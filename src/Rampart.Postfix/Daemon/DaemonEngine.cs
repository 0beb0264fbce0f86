using Rampart.Core.Dns;
using Rampart.Core.MtaSts;
using Rampart.Core.Policy;
using Rampart.Core.Tls;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Rampart.Postfix.Config;
using Rampart.Postfix.Socketmap;

namespace Rampart.Postfix.Daemon;

/// <summary>
/// The deciding part of the daemon built from one configuration: the resolver, one MTA-STS provider per zone fetch
/// timeout, one decision cache per zone and the proactive refresher. A reload (SIGHUP) builds a new engine and swaps it
/// in; the persistent policy store, the counters, the decision log and the listeners stay.
/// </summary>
internal sealed partial class DaemonEngine
{
    private readonly Dictionary<string, SenderPolicyCache> _zones;

    /// <param name="decisionLog">Where each decision is logged when it is made, with its zone; read on every decision, so
    /// it may be set after the engine is built (the daemon's logger exists only once its host does).</param>
    /// <param name="decided">Also told each decision (the TLS-RPT answer record); handed on by a reload.</param>
    public DaemonEngine(DaemonSettings settings, IMtaStsPolicyStore store, DaemonMetrics metrics, SenderPolicyCacheCounters counters, TimeProvider time,
        Func<ILogger>? decisionLog = null, Action<SenderPolicyDecided>? decided = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        Settings = settings;
        DecisionLog = decisionLog ?? (static () => NullLogger.Instance);
        Decided = decided;
        var dns = new DnsClientResolver(settings.Dns);
        var validator = new WebPkiValidator(settings.Anchors, time);
        var providers = new Dictionary<MtaStsFetchSettings, MtaStsPolicyProvider>();
        MtaStsPolicyProvider ProviderFor(DaemonZone zone)
        {
            if (!providers.TryGetValue(zone.Fetch, out var provider))
            {
                providers[zone.Fetch] = provider = SenderPolicyStack.MtaStsProvider(dns, validator, zone.Fetch, store, time,
                    fetcher => new CountingPolicyFetcher(fetcher, metrics));
            }
            return provider;
        }
        SenderPolicyCache CacheFor(string name, DaemonZone zone) =>
            new(SenderPolicyStack.Resolver(dns, ProviderFor(zone), zone.Settings, settings.Pinned, time), settings.Cache, time, counters,
                d =>
                {
                    Log(DecisionLog(), name, d);
                    Decided?.Invoke(d);
                });

        Default = CacheFor("default", settings.DefaultZone);
        _zones = settings.Zones.ToDictionary(z => z.Key, z => CacheFor(z.Key, z.Value), StringComparer.Ordinal);
        Refresher = settings.Refresh.Enabled ? new MtaStsPolicyRefresher(ProviderFor(settings.DefaultZone), settings.Refresh, time) : null;
    }

    public DaemonSettings Settings { get; }

    /// <summary>The decision log this engine writes to (a reload hands it on).</summary>
    public Func<ILogger> DecisionLog { get; }

    /// <summary>Who else is told each decision; null = nobody.</summary>
    public Action<SenderPolicyDecided>? Decided { get; }

    public SenderPolicyCache Default { get; }

    /// <summary>Null when proactive refresh is off.</summary>
    public MtaStsPolicyRefresher? Refresher { get; }

    /// <summary>The decision cache of the zone Postfix names; unknown names get the default zone.</summary>
    public SenderPolicyCache Zone(string name) => _zones.GetValueOrDefault(name, Default);

    private static void Log(ILogger log, string zone, SenderPolicyDecided decided)
    {
        var decision = decided.Decision;
        if (decided.KeptInstead is { } kept)
        {
            LogRefreshFailed(log, zone, decided.Domain, SenderPolicyDecided.Why(decision), SocketmapPolicyReply.For(kept).Text);
        }
        else if (decided.FromPolicyCache)
        {
            LogDecidedFromPolicyCache(log, zone, decided.Domain, SenderPolicyDecision.KindName(decision.Kind), SocketmapPolicyReply.For(decision).Text, SenderPolicyDecided.Why(decision));
        }
        else
        {
            LogDecided(log, zone, decided.Domain, SenderPolicyDecision.KindName(decision.Kind), SocketmapPolicyReply.For(decision).Text, SenderPolicyDecided.Why(decision));
        }
    }

    [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "{Zone} {Domain}: {Policy} -> \"{Reply}\" ({Why})")]
    private static partial void LogDecided(ILogger logger, string zone, string domain, string policy, string reply, string why);

    [LoggerMessage(EventId = 104, Level = LogLevel.Information,
        Message = "{Zone} {Domain}: {Policy} -> \"{Reply}\" from the policy cache, before the full lookup ({Why})")]
    private static partial void LogDecidedFromPolicyCache(ILogger logger, string zone, string domain, string policy, string reply, string why);

    [LoggerMessage(EventId = 102, Level = LogLevel.Warning, Message = "{Zone} {Domain}: refresh failed ({Why}); still answering \"{Reply}\"")]
    private static partial void LogRefreshFailed(ILogger logger, string zone, string domain, string why, string reply);
}
