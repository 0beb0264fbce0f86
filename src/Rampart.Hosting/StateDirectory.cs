namespace Rampart.Hosting;

/// <summary>
/// Where Rampart keeps its SQLite files (DESIGN.md): systemd's <c>$STATE_DIRECTORY</c> when set (the unit's
/// <c>StateDirectory=</c>), else /var/lib/rampart as root, else ~/.local/state/rampart.
/// </summary>
public static class StateDirectory
{
    public static string Default() => Default(Environment.GetEnvironmentVariable, Environment.IsPrivilegedProcess);

    public static string Default(Func<string, string?> environment, bool privileged)
    {
        if (environment("STATE_DIRECTORY") is { Length: > 0 } systemd)
        {
            return systemd.Split(':')[0]; // several StateDirectory= entries come colon-separated; the first is Rampart's
        }
        if (privileged)
        {
            return "/var/lib/rampart";
        }
        var stateHome = environment("XDG_STATE_HOME");
        return string.IsNullOrEmpty(stateHome)
            ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "state", "rampart")
            : Path.Combine(stateHome, "rampart");
    }
}
