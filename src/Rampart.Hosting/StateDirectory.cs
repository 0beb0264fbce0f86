using System.Runtime.InteropServices;

namespace Rampart.Hosting;

/// <summary>
/// Where Rampart keeps its SQLite files (DESIGN.md): systemd's <c>$STATE_DIRECTORY</c> when set (the unit's
/// <c>StateDirectory=</c>), else /var/lib/rampart as root, else <c>$XDG_STATE_HOME/rampart</c>, else
/// <c>~/.local/state/rampart</c> with ~ from <c>$HOME</c> or, when HOME is unset, the account's home directory.
/// The state directory is never relative: relative values of those variables are ignored (as the XDG specification
/// says), and when no home can be named there is no default at all. Rampart then refuses to start with one line that
/// says how to choose one (<c>--state-dir</c>) rather than writing into whatever the working directory happens to be,
/// or into a shared fallback such as /tmp where another user could read or plant the cache.
/// </summary>
public static partial class StateDirectory
{
    /// <summary>The default for this process, or null when none can be named (see <see cref="Choose"/>).</summary>
    public static string? Default() =>
        Default(Environment.GetEnvironmentVariable, Environment.IsPrivilegedProcess, OperatingSystem.IsWindows() ? null : UnixAccount.CurrentHome);

    /// <param name="accountHome">The home directory of the account (passwd), used when HOME is unset.</param>
    public static string? Default(Func<string, string?> environment, bool privileged, string? accountHome = null)
    {
        ArgumentNullException.ThrowIfNull(environment);
        if (Absolute(environment("STATE_DIRECTORY")?.Split(':')[0]) is { } systemd)
        {
            return systemd; // several StateDirectory= entries come colon-separated; the first is Rampart's
        }
        if (privileged)
        {
            return "/var/lib/rampart";
        }
        if (Absolute(environment("XDG_STATE_HOME")) is { } stateHome)
        {
            return Path.Combine(stateHome, "rampart");
        }
        var home = environment("HOME") is { Length: > 0 } set ? Absolute(set) : Absolute(accountHome);
        return home is null ? null : Path.Combine(home, ".local", "state", "rampart");
    }

    /// <summary>For help texts: the default directory, or why there is none.</summary>
    public static string DescribeDefault() => Default() ?? "none here (HOME is not set): give one";

    /// <summary>
    /// The state directory to use: <paramref name="given"/> (made absolute against the working directory, where the
    /// operator asked for it) or the default; with neither, a <see cref="StartupException"/> saying how to choose one.
    /// </summary>
    public static string Choose(string? given)
    {
        if (!string.IsNullOrWhiteSpace(given))
        {
            return Path.GetFullPath(given);
        }
        return Default() ?? throw new StartupException(
            "no state directory: not running as root, and neither $STATE_DIRECTORY, $XDG_STATE_HOME nor $HOME names an absolute directory; " +
            "choose one with --state-dir DIR (e.g. /var/lib/rampart, owned by the user Rampart runs as)");
    }

    /// <summary>
    /// The state directory of a service (the daemon): <paramref name="given"/> (<c>--state-dir</c>), else systemd's
    /// <c>$STATE_DIRECTORY</c>, else <paramref name="configured"/> (what its configuration file says), else the default.
    /// Under a unit <c>$STATE_DIRECTORY</c> is the one directory the service may write (<c>ProtectSystem=strict</c>) and
    /// owns, so it wins over a file migrated from elsewhere (postfix-mta-sts-resolver's
    /// <c>cache.options.filename: /var/lib/mta-sts/cache.db</c>); <paramref name="note"/> then says so, for the start log.
    /// </summary>
    /// <param name="configuredBy">The file's key that named <paramref name="configured"/>, for the note.</param>
    public static string Choose(string? given, string? configured, string configuredBy, Func<string, string?> environment, out string? note)
    {
        ArgumentNullException.ThrowIfNull(environment);
        note = null;
        if (string.IsNullOrWhiteSpace(given) && Absolute(environment("STATE_DIRECTORY")?.Split(':')[0]) is { } systemd)
        {
            if (!string.IsNullOrWhiteSpace(configured) && Path.GetFullPath(configured).TrimEnd('/') != systemd.TrimEnd('/'))
            {
                note = $"state directory {systemd} ($STATE_DIRECTORY, the unit's StateDirectory=), not {configured} from the configuration's {configuredBy}";
            }
            return systemd;
        }
        return Choose(string.IsNullOrWhiteSpace(given) ? configured : given);
    }

    /// <summary>
    /// Checks that this process can create files in <paramref name="directory"/>, or can create it: else a
    /// <see cref="StartupException"/> naming the directory, the cause and the fix. Run before opening a store, so the
    /// operator reads about the directory and not about a SQLite file in it.
    /// </summary>
    public static void RequireWritable(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (OperatingSystem.IsWindows())
        {
            return;
        }
        var full = Path.GetFullPath(directory);
        var user = UnixAccount.Current;
        if (Directory.Exists(full))
        {
            if (access(full, WriteOk | ExecuteOk) != 0)
            {
                throw new StartupException(
                    $"state directory {full} is not writable by user {user}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError()).ToLowerInvariant()}; " +
                    $"give it to that user (chown {UnixAccount.EffectiveUid} {full}; mode 0700) or choose another with --state-dir DIR");
            }
            return;
        }
        if (File.Exists(full))
        {
            throw new StartupException($"state directory {full} is a file, not a directory; move it aside or choose another with --state-dir DIR");
        }
        var parent = Path.GetDirectoryName(full);
        while (parent is not null && !Directory.Exists(parent))
        {
            parent = Path.GetDirectoryName(parent);
        }
        if (parent is not null && access(parent, WriteOk | ExecuteOk) != 0)
        {
            throw new StartupException(
                $"state directory {full} does not exist and user {user} cannot create it ({parent} is not writable); " +
                "create it for that user (mode 0700) or choose another with --state-dir DIR");
        }
    }

    private static string? Absolute(string? path) => !string.IsNullOrEmpty(path) && Path.IsPathRooted(path) ? path : null;

    private const int WriteOk = 2;
    private const int ExecuteOk = 1;

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int access(string path, int mode);
}
