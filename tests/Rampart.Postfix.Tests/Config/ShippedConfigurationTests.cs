using System.Text.RegularExpressions;
using Rampart.Postfix.Config;

namespace Rampart.Postfix.Tests.Config;

/// <summary>
/// packaging/deb/rampart.yml, the Debian package's /etc/rampart/rampart.yml: the daemon accepts it as it is, every key
/// the daemon reads is there (commented out at its default), and uncommenting the settings still gives a valid file.
/// </summary>
public sealed class ShippedConfigurationTests
{
    private static readonly Lazy<string> s_text = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Rampart.slnx")))
            {
                return File.ReadAllText(Path.Combine(dir.FullName, "packaging", "deb", "rampart.yml"));
            }
        }
        throw new InvalidOperationException("repository root (the folder of Rampart.slnx) not found above " + AppContext.BaseDirectory);
    });

    /// <summary>A commented-out setting: '#' then the key at its indentation (prose comments have '# ').</summary>
    private static readonly Regex s_setting = new(@"^#( *)([a-z_]+):", RegexOptions.Multiline);

    private static readonly string[] s_listenAlternatives = ["host", "port", "path", "mode"];

    [Fact]
    public void AsShipped_AcceptedWithNoErrorAndNoWarning()
    {
        var result = DaemonConfiguration.Parse(s_text.Value, "/etc/rampart/rampart.yml");

        Assert.Empty(result.Errors);
        Assert.Empty(result.Warnings);
        Assert.True(result.Succeeded);
    }

    [Fact]
    public void EverySettingUncommented_StillValid()
    {
        // host/port/path/mode are postfix-mta-sts-resolver's alternative to listen: the file says not to combine them
        var uncommented = string.Join('\n', s_text.Value.Split('\n')
            .Where(line => !s_listenAlternatives.Any(key => line.StartsWith($"#{key}:", StringComparison.Ordinal)))
            .Select(line => s_setting.Replace(line, "$1$2:")));

        var result = DaemonConfiguration.Parse(uncommented, "/etc/rampart/rampart.yml");

        Assert.Empty(result.Errors);
        Assert.Empty(result.Warnings);
        Assert.Equal("127.0.0.1:8461", Assert.Single(result.Configuration.Listen).ToString());
        Assert.Equal("/var/lib/rampart", result.Configuration.StateDirectory);
        Assert.True(result.Configuration.Zones.ContainsKey("strict"));
    }

    [Fact]
    public void EveryKeyTheDaemonReads_IsInTheFile()
    {
        var settings = s_setting.Matches(s_text.Value).Select(m => (Indent: m.Groups[1].Length, Key: m.Groups[2].Value)).ToList();
        var expected = DaemonConfigReader.Root.Keys.Select(k => k.Name)
            .Concat(DaemonConfigReader.Zone.Keys.Select(k => "default_zone." + k.Name))
            .Concat(DaemonConfigReader.Proactive.Keys.Select(k => "proactive_policy_fetching." + k.Name))
            .Concat(DaemonConfigReader.TlsRptReporting.Keys.Select(k => "tlsrpt_reporting." + k.Name));

        var missing = expected.Where(path => !settings.Contains((path.Contains('.', StringComparison.Ordinal) ? 2 : 0, path.Split('.')[^1]))).ToList();

        Assert.True(missing.Count == 0, "keys the daemon reads but packaging/deb/rampart.yml does not show: " + string.Join(", ", missing));
    }
}
