using Rampart.Postfix.Socketmap;

namespace Rampart.Postfix;

/// <summary>
/// Answers one socketmap lookup (socketmap_table(5)): <paramref name="mapName"/> is the name Postfix puts before the
/// key (it selects a zone), <paramref name="key"/> the destination as Postfix sent it (maybe <c>[host]:port</c>, a
/// trailing dot, any case, an IP, or <c>.parent.domain</c>). Never throws for lookup outcomes: faults become TEMP.
/// </summary>
internal interface ISocketmapResponder
{
    ValueTask<SocketmapReply> RespondAsync(string mapName, string key, CancellationToken cancellationToken);
}
