using Microsoft.Extensions.Logging;
using Rampart.Core.Policy;
using Rampart.Postfix.Socketmap;

namespace Rampart.Postfix.Daemon;

/// <summary>
/// Answers socketmap lookups from the zone's decision cache: the key is looked up only when it is a domain
/// (<see cref="SocketmapKey"/>, the one rule); next hops, parent-domain probes and non-domains get NOTFOUND at once.
/// The reply returned is the one counted and logged (<see cref="SocketmapPolicyReply"/>). What was decided and why is
/// logged where it is decided (once per decision, <see cref="DaemonEngine"/>); each answer only at Debug, so a busy
/// cache costs no log line per lookup.
/// </summary>
/// <param name="zones">The decision cache for a socketmap name (the current engine's: a reload swaps it).</param>
internal sealed partial class SocketmapResponder(
    Func<string, SenderPolicyCache> zones,
    DaemonMetrics metrics,
    TimeProvider time,
    ILogger<SocketmapResponder> log) : ISocketmapResponder
{
    public async ValueTask<SocketmapReply> RespondAsync(string mapName, string key, CancellationToken cancellationToken)
    {
        var kind = SocketmapKey.Normalize(key, out var domain);
        if (kind != SocketmapKeyKind.Domain)
        {
            LogNotADomain(log, mapName, key, kind);
            return SocketmapReply.NotFound;
        }
        var cache = zones(mapName);
        var started = time.GetTimestamp();
        var decision = await cache.GetAsync(domain, cancellationToken).ConfigureAwait(false);
        var reply = SocketmapPolicyReply.For(decision);
        metrics.RecordLookup(decision.Kind, reply, time.GetElapsedTime(started));
        if (log.IsEnabled(LogLevel.Debug))
        {
            LogAnswered(log, mapName, domain.Value, reply.Text);
        }
        return reply;
    }

    [LoggerMessage(EventId = 103, Level = LogLevel.Debug, Message = "{Zone} {Domain}: answered \"{Reply}\"")]
    private static partial void LogAnswered(ILogger logger, string zone, string domain, string reply);

    [LoggerMessage(EventId = 101, Level = LogLevel.Debug, Message = "{Zone} key '{Key}': {Kind}, NOTFOUND")]
    private static partial void LogNotADomain(ILogger logger, string zone, string key, SocketmapKeyKind kind);
}
