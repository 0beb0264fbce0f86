using System.ComponentModel;
using System.Globalization;

namespace Rampart.Lab.Tests;

/// <summary>
/// The attacker's DNS forgery: records injected into the lab's Unbound with <c>unbound-control local_data</c>, so
/// every client of the lab resolver (Postfix and <c>rampart daemon</c> alike) gets them, removed again on dispose.
/// Unbound answers such local data without validation (no AD), as an on-path forger of unsigned DNS would; it also
/// creates a transparent local zone at each owner name (other names still resolve normally), which dispose removes too.
/// Per LAB.md, an existing record at the name is removed before the forged one is added (local_data adds beside it).
/// </summary>
internal sealed class ForgedDns : IAsyncDisposable
{
    private readonly List<string> _owners = [];

    private static string Config => Path.Combine(PostfixLab.State, "unbound", "unbound.conf");

    /// <summary>Forges RECORD ("owner. TTL IN TYPE data"), replacing every local record at its owner.</summary>
    public async Task AddAsync(string record)
    {
        var owner = record.Split(' ', 2)[0];
        if (!_owners.Contains(owner, StringComparer.OrdinalIgnoreCase))
        {
            _owners.Add(owner);
            await ControlAsync("local_data_remove", owner);
        }

        await ControlAsync("local_data", record);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var owner in _owners)
        {
            await ControlAsync("local_data_remove", owner);
            await ControlAsync("local_zone_remove", owner);
        }
    }

    private static async Task ControlAsync(string command, string argument)
    {
        (int ExitCode, string Output) result;
        try
        {
            result = await Lab.RunAsync("unbound-control", ["-c", Config, command, argument], TimeSpan.FromSeconds(10));
        }
        catch (Win32Exception e)
        {
            Assert.Fail($"unbound-control not found ({e.Message}): apt-get install unbound");
            return;
        }

        Assert.True(result.ExitCode == 0 && result.Output.Trim() == "ok",
            string.Create(CultureInfo.InvariantCulture, $"unbound-control {command} {argument}: exit {result.ExitCode}: {result.Output}"));
    }
}
