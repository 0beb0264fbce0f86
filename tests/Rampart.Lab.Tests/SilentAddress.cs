using System.ComponentModel;
using System.Globalization;
using System.Net;

namespace Rampart.Lab.Tests;

/// <summary>
/// An unreachable host as the internet shows it: packets to <see cref="Address"/> vanish before any connection (no RST,
/// no ICMP), so a TCP connect hangs until the client gives up. Inside the lab's netns: a veth pair
/// (<c>rp-drop0</c>/<c>rp-drop1</c>, both up), <c>10.77.0.1/24</c> on <c>rp-drop0</c>, and a permanent neighbour entry
/// for <c>10.77.0.9</c> with a MAC nobody has, so the SYN is sent into a link where no one answers it. Dispose deletes
/// the pair (and with it the address and the neighbour entry). A leftover pair from a killed run is removed first.
/// </summary>
internal sealed class SilentAddress : IAsyncDisposable
{
    private const string Link = "rp-drop0";
    private const string Peer = "rp-drop1";

    /// <summary>The address nothing answers for.</summary>
    public static readonly IPAddress Address = IPAddress.Parse("10.77.0.9");

    private SilentAddress()
    {
    }

    /// <summary>Creates the link and the neighbour entry; fails the test (never a skip) when <c>ip</c> is missing or refuses.</summary>
    public static async Task<SilentAddress> CreateAsync()
    {
        Lab.RequireLab();
        await IpAsync(mustSucceed: false, "link", "del", Link);
        var silent = new SilentAddress();
        try
        {
            await IpAsync(mustSucceed: true, "link", "add", Link, "type", "veth", "peer", "name", Peer);
            await IpAsync(mustSucceed: true, "link", "set", Link, "up");
            await IpAsync(mustSucceed: true, "link", "set", Peer, "up");
            await IpAsync(mustSucceed: true, "addr", "add", "10.77.0.1/24", "dev", Link);
            await IpAsync(mustSucceed: true, "neigh", "add", Address.ToString(), "lladdr", "02:00:00:00:00:09", "dev", Link, "nud", "permanent");
            return silent;
        }
        catch
        {
            await silent.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync() => await IpAsync(mustSucceed: false, "link", "del", Link);

    private static async Task IpAsync(bool mustSucceed, params string[] args)
    {
        (int ExitCode, string Output) result;
        try
        {
            result = await Lab.RunAsync("ip", args, TimeSpan.FromSeconds(10));
        }
        catch (Win32Exception e)
        {
            Assert.Fail($"ip not found ({e.Message}): apt-get install iproute2");
            return;
        }
        if (mustSucceed)
        {
            Assert.True(result.ExitCode == 0,
                string.Create(CultureInfo.InvariantCulture, $"ip {string.Join(' ', args)}: exit {result.ExitCode}: {result.Output}"));
        }
    }
}
