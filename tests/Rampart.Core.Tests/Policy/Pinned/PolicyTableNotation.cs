using Rampart.Core.Policy;

namespace Rampart.Core.Tests.Policy.Pinned;

/// <summary>
/// A requirement written back as an overrides line's policy part (<c>secure match=a:b servername=hostname</c>), so the
/// pinned golden files can be read as written. The socketmap reply is built by Rampart.Postfix, not by this.
/// </summary>
internal static class PolicyTableNotation
{
    public static string Of(TlsRequirement requirement)
    {
        var parts = new List<string> { TlsRequirement.LevelName(requirement.Level) };
        if (requirement.MatchNames.Count > 0)
        {
            parts.Add("match=" + string.Join(':', requirement.MatchNames));
        }
        if (requirement.ServerName is { } serverName)
        {
            parts.Add("servername=" + serverName);
        }
        return string.Join(' ', parts);
    }
}
