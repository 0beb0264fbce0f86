using Microsoft.Extensions.Logging;

namespace Rampart.Postfix.Exim;

/// <summary>Exim line listener log messages. EventIds 480–499 are stable: alerting may key on them.</summary>
internal static partial class EximLog
{
    [LoggerMessage(EventId = 480, Level = LogLevel.Warning,
        Message = "Exim connection {ConnectionId}: {Problem}, replying \"{Reply}\" ({Count} bad requests since the last such line)")]
    public static partial void BadRequest(ILogger logger, string connectionId, string problem, string reply, long count);

    [LoggerMessage(EventId = 481, Level = LogLevel.Debug, Message = "Exim connection {ConnectionId}: no request line within {Timeout}, closing")]
    public static partial void ReadTimedOut(ILogger logger, string connectionId, TimeSpan timeout);

    [LoggerMessage(EventId = 482, Level = LogLevel.Warning, Message = "Exim connection {ConnectionId}: lookup '{Key}' took longer than {Timeout}, replying tempfail")]
    public static partial void RequestTimedOut(ILogger logger, string connectionId, string key, TimeSpan timeout);

    [LoggerMessage(EventId = 483, Level = LogLevel.Error, Message = "Exim connection {ConnectionId}: lookup '{Key}' failed, replying tempfail")]
    public static partial void ResponderFailed(ILogger logger, string connectionId, string key, Exception exception);

    [LoggerMessage(EventId = 484, Level = LogLevel.Debug, Message = "Exim connection {ConnectionId}: the client did not take the reply within {Timeout}, closing")]
    public static partial void WriteTimedOut(ILogger logger, string connectionId, TimeSpan timeout);

    [LoggerMessage(EventId = 485, Level = LogLevel.Warning, Message = "Exim connection {ConnectionId}: transport error")]
    public static partial void TransportError(ILogger logger, string connectionId, Exception exception);

    [LoggerMessage(EventId = 486, Level = LogLevel.Trace, Message = "Exim connection {ConnectionId}: '{Key}' -> \"{Reply}\"")]
    public static partial void Answered(ILogger logger, string connectionId, string key, string reply);
}
