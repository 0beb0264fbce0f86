using Rampart.Core.Policy;

namespace Rampart.Postfix.Daemon;

/// <summary>
/// Settings selected by the socketmap name Postfix sends before the key (postfix-mta-sts-resolver's zones):
/// <c>socketmap:inet:127.0.0.1:8461:strict</c> asks the zone named "strict". Unknown names use the default zone.
/// </summary>
internal sealed record SocketmapZone(string Name, SenderPolicySettings Settings)
{
    public const string DefaultName = "postfix";
}
