using Microsoft.Extensions.Logging;

namespace Rampart.Postfix.Socketmap;

/// <summary>Socketmap server log messages. EventIds 200–219 are stable: alerting may key on them.</summary>
internal static partial class SocketmapLog
{
    [LoggerMessage(EventId = 200, Level = LogLevel.Debug, Message = "Socketmap connection {ConnectionId} from {RemoteEndPoint} opened")]
    public static partial void ConnectionOpened(ILogger logger, string connectionId, System.Net.EndPoint? remoteEndPoint);

    [LoggerMessage(EventId = 201, Level = LogLevel.Debug, Message = "Socketmap connection {ConnectionId} closed after {Requests} requests ({Reason})")]
    public static partial void ConnectionClosed(ILogger logger, string connectionId, long requests, string reason);

    [LoggerMessage(EventId = 202, Level = LogLevel.Warning, Message = "Socketmap connection {ConnectionId}: bad framing, closing the connection: {Reason}")]
    public static partial void BadFrame(ILogger logger, string connectionId, string reason);

    [LoggerMessage(EventId = 203, Level = LogLevel.Warning, Message = "Socketmap connection {ConnectionId}: malformed request, replying PERM: {Reason}")]
    public static partial void MalformedRequest(ILogger logger, string connectionId, string reason);

    [LoggerMessage(EventId = 204, Level = LogLevel.Warning, Message = "Socketmap connection {ConnectionId}: lookup {MapName} '{Key}' took longer than {Timeout}, replying TEMP")]
    public static partial void RequestTimedOut(ILogger logger, string connectionId, string mapName, string key, TimeSpan timeout);

    [LoggerMessage(EventId = 205, Level = LogLevel.Error, Message = "Socketmap connection {ConnectionId}: lookup {MapName} '{Key}' failed, replying TEMP")]
    public static partial void ResponderFailed(ILogger logger, string connectionId, string mapName, string key, Exception exception);

    [LoggerMessage(EventId = 206, Level = LogLevel.Error, Message = "Socketmap connection {ConnectionId}: reply to {MapName} '{Key}' is {Bytes} bytes, over Postfix's limit of {Max}; replying TEMP")]
    public static partial void ReplyTooLong(ILogger logger, string connectionId, string mapName, string key, int bytes, int max);

    [LoggerMessage(EventId = 207, Level = LogLevel.Debug, Message = "Socketmap connection {ConnectionId}: no progress for {IdleTimeout}, closing")]
    public static partial void IdleTimeout(ILogger logger, string connectionId, TimeSpan idleTimeout);

    [LoggerMessage(EventId = 208, Level = LogLevel.Debug, Message = "Socketmap connection {ConnectionId}: peer closed with {Bytes} bytes of an incomplete frame")]
    public static partial void IncompleteFrameAtClose(ILogger logger, string connectionId, long bytes);

    [LoggerMessage(EventId = 209, Level = LogLevel.Warning, Message = "Socketmap connection {ConnectionId}: transport error")]
    public static partial void TransportError(ILogger logger, string connectionId, Exception exception);

    [LoggerMessage(EventId = 210, Level = LogLevel.Information, Message = "Removed stale socket file {Path}")]
    public static partial void StaleSocketRemoved(ILogger logger, string path);

    [LoggerMessage(EventId = 211, Level = LogLevel.Debug, Message = "Set socketmap socket {Path} to mode {Mode}")]
    public static partial void SocketModeSet(ILogger logger, string path, UnixFileMode mode);

    [LoggerMessage(EventId = 213, Level = LogLevel.Debug, Message = "Socketmap connection {ConnectionId}: malformed request again, replying PERM: {Reason}")]
    public static partial void MalformedRequestAgain(ILogger logger, string connectionId, string reason);

    [LoggerMessage(EventId = 214, Level = LogLevel.Warning, Message = "Socketmap connection {ConnectionId} sent {Count} malformed requests, each answered PERM; only the first was logged")]
    public static partial void MalformedRequests(ILogger logger, string connectionId, long count);

    [LoggerMessage(EventId = 212, Level = LogLevel.Trace, Message = "Socketmap connection {ConnectionId}: {MapName} '{Key}' -> \"{Reply}\"")]
    public static partial void Answered(ILogger logger, string connectionId, string mapName, string key, string reply);
}
