using System.Text;
using Rampart.Core;

namespace Rampart.Fuzz;

/// <summary>
/// YAML config files (an operator's, or one migrated from postfix-mta-sts-resolver). Contract: the daemon's reader
/// never throws and reports every problem as lines naming the file; the publish reader throws only
/// <see cref="RampartException"/>, whose message names the file; both finish in bounded time and memory (aliases and
/// merge keys must not expand without bound: afl-fuzz's timeout catches that).
/// </summary>
internal static class ConfigTargets
{
    private const string Source = "fuzz.yml";

    public static void RunDaemon(byte[] input)
    {
        var (errors, warnings) = ConfigReaders.ReadDaemon(Encoding.UTF8.GetString(input), Source);
        foreach (var line in errors.Concat(warnings))
        {
            Contract.Holds(line.StartsWith(Source, StringComparison.Ordinal), $"a config message does not name the file: {line}");
            Contract.Bounded(line, input.Length, "a config message");
        }
    }

    public static void RunPublish(byte[] input)
    {
        try
        {
            var hosts = ConfigReaders.ReadPublish(Encoding.UTF8.GetString(input), Source);
            Contract.Holds(hosts.Count > 0 && hosts.Distinct(StringComparer.OrdinalIgnoreCase).Count() == hosts.Count,
                $"policy hosts {string.Join(", ", hosts)}: none, or one twice");
        }
        catch (RampartException ex)
        {
            Contract.Holds(ex.Message.Contains(Source, StringComparison.Ordinal), $"the config error does not name the file: {ex.Message}");
        }
    }
}
