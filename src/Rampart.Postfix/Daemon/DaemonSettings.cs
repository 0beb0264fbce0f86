using System.Net;
using Rampart.Core.Dns;
using Rampart.Core.MtaSts;
using Rampart.Core.Policy;
using Rampart.Core.Policy.Pinned;
using Rampart.Core.Tls;
using Rampart.Hosting;
using Rampart.Postfix.Config;
using Rampart.Postfix.Socketmap;

namespace Rampart.Postfix.Daemon;

/// <summary>Everything <c>rampart daemon</c> runs with, already validated.</summary>
internal sealed record DaemonSettings(
    IReadOnlyList<SocketmapEndpoint> Listen,
    string StateDirectory,
    DnsResolverSettings Dns,
    TrustAnchors Anchors,
    DaemonZone DefaultZone)
{
    /// <summary>Where the Exim line listener answers (<c>exim_listen</c>, <c>--exim-listen</c>); empty = not served.</summary>
    public IReadOnlyList<SocketmapEndpoint> EximListen { get; init; } = [];

    /// <summary>Where to serve Prometheus <c>/metrics</c> over HTTP; null = not served.</summary>
    public IPEndPoint? Metrics { get; init; }

    /// <summary>Connections open at once (<c>max_connections</c>); null = the default from the open-files limit.</summary>
    public int? MaxConnections { get; init; }

    /// <summary>Local overrides and the STARTTLS Policy List (step 4 of the decision); null = none.</summary>
    public PinnedPolicySet? Pinned { get; init; }

    /// <summary>Named zones (the socketmap name Postfix sends); unknown names use <see cref="DefaultZone"/>.</summary>
    public IReadOnlyDictionary<string, DaemonZone> Zones { get; init; } = new Dictionary<string, DaemonZone>(StringComparer.Ordinal);

    public SenderPolicyCacheSettings Cache { get; init; } = new();

    /// <summary>Proactive refresh of cached MTA-STS policies.</summary>
    public MtaStsRefreshSettings Refresh { get; init; } = new();

    /// <summary>The shared Redis policy cache (<c>cache: {type: redis}</c>); null = SQLite in the state directory.</summary>
    public Rampart.Storage.RedisPolicyStoreOptions? Redis { get; init; }

    /// <summary>The TLS-RPT intake (<c>tlsrpt_reporting.datagram_socket</c>); null = not collected.</summary>
    public Rampart.Postfix.TlsRpt.TlsRptIntakeSettings? TlsRpt { get; init; }

    /// <summary>The Postfix log source (<c>tlsrpt_reporting.postfix_log</c>, Postfix before 3.10); null = not followed.</summary>
    public Rampart.Postfix.TlsRpt.TlsRptLogSettings? TlsRptLog { get; init; }

    /// <summary>The fleet's shared TLS-RPT session store and outbox (<c>tlsrpt_reporting.store</c>); null = SQLite in the state directory.</summary>
    public Rampart.Postfix.TlsRpt.TlsRptSharedStore? TlsRptStore { get; init; }

    /// <summary>Sending our TLS-RPT reports (<c>tlsrpt_reporting</c> with <c>sender_address</c>); null = not sent by the daemon.</summary>
    public TlsRptReportingConfig? TlsRptSending { get; init; }

    /// <summary>The user to run as once the sockets are bound (<c>--user</c>/<c>--group</c>); null = stay as started.</summary>
    public UnixAccount? RunAs { get; init; }

    /// <summary>
    /// The least severe log level written (<c>--log-level</c>). Hook for the configuration file: a <c>log_level</c> key,
    /// when the daemon's config reader gets one, sets this too (the command line wins); a reload keeps the running value.
    /// </summary>
    public Microsoft.Extensions.Logging.LogLevel LogLevel { get; init; } = Microsoft.Extensions.Logging.LogLevel.Information;

    /// <summary>
    /// Lines for the start log about where the settings came from: which configuration file was read (or that none was),
    /// and a state directory that differs from the file's (<see cref="StateDirectory"/>).
    /// </summary>
    public IReadOnlyList<string> StartNotes { get; init; } = [];

    /// <summary>Settings a reload cannot apply (the sockets are bound, the cache is open, privileges are dropped).</summary>
    public IEnumerable<string> RestartOnlyChanges(DaemonSettings next)
    {
        ArgumentNullException.ThrowIfNull(next);
        static bool Same(IReadOnlyList<SocketmapEndpoint> a, IReadOnlyList<SocketmapEndpoint> b) =>
            a.Select(l => (l.ToString(), l.UnixSocketMode, l.UnixSocketOwner)).SequenceEqual(b.Select(l => (l.ToString(), l.UnixSocketMode, l.UnixSocketOwner)));
        if (!Same(Listen, next.Listen))
        {
            yield return "listen";
        }
        if (!Same(EximListen, next.EximListen))
        {
            yield return "exim_listen";
        }
        if (StateDirectory != next.StateDirectory)
        {
            yield return "state directory";
        }
        if (Redis?.Url != next.Redis?.Url || Redis?.KeyPrefix != next.Redis?.KeyPrefix)
        {
            yield return "cache";
        }
        if (!Equals(Metrics, next.Metrics))
        {
            yield return "metrics";
        }
        if (MaxConnections != next.MaxConnections)
        {
            yield return "max_connections";
        }
        if (TlsRpt != next.TlsRpt || TlsRptLog != next.TlsRptLog || TlsRptSending != next.TlsRptSending || TlsRptStore != next.TlsRptStore)
        {
            yield return "tlsrpt_reporting";
        }
        if (RunAs != next.RunAs)
        {
            yield return "user";
        }
        if (LogLevel != next.LogLevel)
        {
            yield return "log level";
        }
    }
}
