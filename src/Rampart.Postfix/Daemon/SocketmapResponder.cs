using Microsoft.Extensions.Logging;
using Rampart.Core.Policy;
using Rampart.Postfix.Socketmap;

namespace Rampart.Postfix.Daemon;

/// <summary>
/// Answers socketmap lookups from the zone's decision cache: normalises the key and answers Postfix's parent-domain
/// probes and non-domains with NOTFOUND at once. What was decided and why is logged where it is decided (once per
/// decision, <see cref="DaemonEngine"/>); each answer only at Debug, so a busy cache costs no log line per lookup.
/// </summary>
/// <param name="zones">The decision cache for a socketmap name (the current engine's: a reload swaps it).</param>
internal sealed partial class SocketmapResponder(
    Func<string, SenderPolicyCache> zones,
    DaemonMetrics metrics,
    TimeProvider time,
    ILogger<SocketmapResponder> log) : ISocketmapResponder
{
    public async ValueTask<PostfixTlsPolicy> RespondAsync(string mapName, string key, CancellationToken cancellationToken)
    {
        if (key.StartsWith('[') || key.Contains(':', StringComparison.Ordinal))
        {
            // An explicit next hop ([host]:port, a relayhost) is not a recipient domain: MTA-STS and DANE policies are
            // per recipient domain, and Postfix skips the MX lookup for it (postfix-mta-sts-resolver answers the same).
            LogNotADomain(log, mapName, key, SocketmapKeyKind.NotADomain);
            return PostfixTlsPolicy.NotFound;
        }
        var kind = SocketmapKey.Normalize(key, out var domain);
        if (kind != SocketmapKeyKind.Domain || domain is null)
        {
            LogNotADomain(log, mapName, key, kind);
            return PostfixTlsPolicy.NotFound;
        }
        var cache = zones(mapName);
        var started = time.GetTimestamp();
        var decision = await cache.GetAsync(domain, cancellationToken).ConfigureAwait(false);
        metrics.RecordLookup(decision, time.GetElapsedTime(started));
        if (log.IsEnabled(LogLevel.Debug))
        {
            LogAnswered(log, mapName, domain, decision.Postfix.Reply);
        }
        return decision.Postfix;
    }

    [LoggerMessage(EventId = 103, Level = LogLevel.Debug, Message = "{Zone} {Domain}: answered \"{Reply}\"")]
    private static partial void LogAnswered(ILogger logger, string zone, string domain, string reply);

    [LoggerMessage(EventId = 101, Level = LogLevel.Debug, Message = "{Zone} key '{Key}': {Kind}, NOTFOUND")]
    private static partial void LogNotADomain(ILogger logger, string zone, string key, SocketmapKeyKind kind);
}
