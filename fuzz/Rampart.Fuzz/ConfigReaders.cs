using Rampart.Core;
using Rampart.Postfix.Config;
using Rampart.Web;

namespace Rampart.Fuzz;

/// <summary>
/// The one place the fuzz targets reach the YAML config readers: repoint these two methods when the readers move
/// (a shared reader in Rampart.Hosting is on its way), and the targets and corpus stay as they are.
/// </summary>
internal static class ConfigReaders
{
    /// <summary>The daemon's reader: every problem comes back as an error or warning line; it never throws.</summary>
    public static (IReadOnlyList<string> Errors, IReadOnlyList<string> Warnings) ReadDaemon(string yaml, string source)
    {
        var result = DaemonConfiguration.Parse(yaml, source);
        return (result.Errors, result.Warnings);
    }

    /// <summary>The publish/serve reader: the hosted policy host names, or <see cref="RampartException"/> naming every problem.</summary>
    public static IReadOnlyList<string> ReadPublish(string yaml, string source) =>
        PublishConfigFile.Parse(yaml, source).Domains.Select(d => d.PolicyHostName).ToList();

    /// <summary>The publish config <c>serve</c> answers for (see <see cref="ServeTarget"/>).</summary>
    public static PublishConfig Publish(string yaml, string source) => PublishConfigFile.Parse(yaml, source);
}
