namespace Rampart.Postfix.Daemon;

/// <summary>Where Rampart keeps its SQLite files (DESIGN.md): /var/lib/rampart as root, else ~/.local/state/rampart.</summary>
internal static class StateDirectory
{
    public static string Default()
    {
        if (Environment.IsPrivilegedProcess)
        {
            return "/var/lib/rampart";
        }
        var stateHome = Environment.GetEnvironmentVariable("XDG_STATE_HOME");
        return string.IsNullOrEmpty(stateHome)
            ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "state", "rampart")
            : Path.Combine(stateHome, "rampart");
    }
}
