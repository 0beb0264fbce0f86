using Microsoft.Extensions.Logging;
using Rampart.Core.Policy;
using Rampart.Postfix.Exim;
using Rampart.Postfix.Socketmap;

namespace Rampart.Postfix.Daemon;

/// <summary>
/// Answers Exim's line requests from the same decision cache as Postfix's socketmap lookups (the default zone: Exim
/// names none), so both MTAs get one decision per domain, decided, cached and logged once (<see cref="DaemonEngine"/>).
/// The key rule is the socketmap's (<see cref="SocketmapKey"/>): only a domain is looked up; a domain literal or any other
/// non-domain is answered <c>none</c> at once. The reply returned is the one counted and logged (<see cref="EximReply"/>);
/// each answer only at Debug, as the socketmap's.
/// </summary>
/// <param name="zone">The decision cache (the current engine's default zone: a reload swaps it).</param>
internal sealed partial class EximResponder(
    Func<SenderPolicyCache> zone,
    DaemonMetrics metrics,
    TimeProvider time,
    ILogger<EximResponder> log) : IEximResponder
{
    public async ValueTask<EximReply> RespondAsync(string key, CancellationToken cancellationToken)
    {
        var kind = SocketmapKey.Normalize(key, out var domain);
        if (kind != SocketmapKeyKind.Domain)
        {
            LogNotADomain(log, key, kind);
            return EximReply.None;
        }
        var started = time.GetTimestamp();
        var decision = await zone().GetAsync(domain, cancellationToken).ConfigureAwait(false);
        var reply = EximReply.For(decision);
        metrics.RecordLookup(decision.Kind, reply.Word, time.GetElapsedTime(started));
        if (log.IsEnabled(LogLevel.Debug))
        {
            LogAnswered(log, domain.Value, reply.Text);
        }
        return reply;
    }

    [LoggerMessage(EventId = 105, Level = LogLevel.Debug, Message = "exim {Domain}: answered \"{Reply}\"")]
    private static partial void LogAnswered(ILogger logger, string domain, string reply);

    [LoggerMessage(EventId = 106, Level = LogLevel.Debug, Message = "exim key '{Key}': {Kind}, none")]
    private static partial void LogNotADomain(ILogger logger, string key, SocketmapKeyKind kind);
}
