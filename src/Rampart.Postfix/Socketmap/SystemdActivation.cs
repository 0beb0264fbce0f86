using System.Globalization;

namespace Rampart.Postfix.Socketmap;

/// <summary>
/// Listening sockets handed over by systemd socket activation (sd_listen_fds(3)): a <c>rampart-daemon.socket</c> unit
/// binds the address, and the daemon starts with the bound sockets as file descriptors 3, 4, … when
/// <c>LISTEN_PID</c> is its own process id and <c>LISTEN_FDS</c> says how many. Such sockets replace the configured
/// <c>listen</c> addresses; the variables are then cleared, as sd_listen_fds(1) does, so nothing started later
/// mistakes them for its own.
/// </summary>
internal static class SystemdActivation
{
    /// <summary>The first passed descriptor (SD_LISTEN_FDS_START).</summary>
    public const int FirstDescriptor = 3;

    /// <summary>
    /// The passed descriptors, or none when this process was not socket-activated (no or another <c>LISTEN_PID</c>, no
    /// or a malformed <c>LISTEN_FDS</c>: the configured addresses are used then).
    /// </summary>
    public static IReadOnlyList<int> Descriptors(Func<string, string?> environment, int processId)
    {
        ArgumentNullException.ThrowIfNull(environment);
        if (!int.TryParse(environment("LISTEN_PID"), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) || pid != processId
            || !int.TryParse(environment("LISTEN_FDS"), NumberStyles.None, CultureInfo.InvariantCulture, out var count) || count is < 1 or > 64)
        {
            return [];
        }
        return Enumerable.Range(FirstDescriptor, count).ToArray();
    }

    /// <summary>Reads this process's descriptors, then clears the variables.</summary>
    public static IReadOnlyList<int> TakeFromEnvironment()
    {
        var descriptors = Descriptors(Environment.GetEnvironmentVariable, Environment.ProcessId);
        foreach (var name in new[] { "LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES" })
        {
            Environment.SetEnvironmentVariable(name, null);
        }
        return descriptors;
    }
}
