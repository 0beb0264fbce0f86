using Rampart.Core.Dane;
using Rampart.Core.Dns;
using Rampart.Core.MtaSts;
using Rampart.Core.Policy;
using Rampart.Core.Tls;
using Rampart.Postfix.Config;

namespace Rampart.Postfix.Daemon;

/// <summary>
/// The deciding part of the daemon built from one configuration: the resolver, one MTA-STS provider per zone fetch
/// timeout, one decision cache per zone and the proactive refresher. A reload (SIGHUP) builds a new engine and swaps it
/// in; the persistent policy store, the counters and the listeners stay.
/// </summary>
internal sealed class DaemonEngine
{
    private readonly Dictionary<string, SenderPolicyCache> _zones;

    public DaemonEngine(DaemonSettings settings, IMtaStsPolicyStore store, DaemonMetrics metrics, SenderPolicyCacheCounters counters, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(settings);
        Settings = settings;
        var dns = new DnsClientResolver(settings.Dns);
        var validator = new WebPkiValidator(settings.Anchors, time);
        var providers = new Dictionary<MtaStsFetchSettings, MtaStsPolicyProvider>();
        MtaStsPolicyProvider ProviderFor(DaemonZone zone)
        {
            if (!providers.TryGetValue(zone.Fetch, out var provider))
            {
                var fetcher = new CountingPolicyFetcher(new MtaStsPolicyFetcher(dns, validator, zone.Fetch, time), metrics);
                providers[zone.Fetch] = provider = new MtaStsPolicyProvider(dns, fetcher, store, new MtaStsPolicySettings(), time);
            }
            return provider;
        }
        SenderPolicyCache CacheFor(DaemonZone zone) =>
            new(new SenderPolicyResolver(dns, new DaneHostLookup(dns), ProviderFor(zone), zone.Settings, settings.Pinned, time), settings.Cache, time, counters);

        Default = CacheFor(settings.DefaultZone);
        _zones = settings.Zones.ToDictionary(z => z.Key, z => CacheFor(z.Value), StringComparer.Ordinal);
        Refresher = settings.Refresh.Enabled ? new MtaStsPolicyRefresher(ProviderFor(settings.DefaultZone), settings.Refresh, time) : null;
    }

    public DaemonSettings Settings { get; }

    public SenderPolicyCache Default { get; }

    /// <summary>Null when proactive refresh is off.</summary>
    public MtaStsPolicyRefresher? Refresher { get; }

    /// <summary>The decision cache of the zone Postfix names; unknown names get the default zone.</summary>
    public SenderPolicyCache Zone(string name) => _zones.GetValueOrDefault(name, Default);
}
