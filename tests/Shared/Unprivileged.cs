using System.Diagnostics;

namespace Rampart.Tests.Shared;

/// <summary>
/// Runs rampart as an unprivileged user (nobody, or a uid without a passwd entry) from a root test process: setpriv
/// switches user and group and clears the supplementary groups, and rampart runs from a copy of the build output that
/// every user can read (a fresh clone may live in a 0700 directory).
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
internal static class Unprivileged
{
    public const int Nobody = 65534;

    private static readonly Lazy<string> s_readableDll = new(() =>
    {
        var bin = Directory.CreateTempSubdirectory("rampart-bin-").FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Directory.Delete(bin, recursive: true);
        foreach (var file in Directory.EnumerateFiles(AppContext.BaseDirectory, "*", SearchOption.AllDirectories)
                     .Where(f => f.EndsWith(".dll", StringComparison.Ordinal) || f.EndsWith(".so", StringComparison.Ordinal) || f.EndsWith(".json", StringComparison.Ordinal)))
        {
            var copy = Path.Combine(bin, Path.GetRelativePath(AppContext.BaseDirectory, file));
            Directory.CreateDirectory(Path.GetDirectoryName(copy)!);
            File.Copy(file, copy);
        }
        using var chmod = Process.Start("chmod", ["-R", "a+rX", bin])!;
        chmod.WaitForExit();
        return Path.Combine(bin, "rampart.dll");
    });

    /// <summary>rampart.dll in a copy of the build output that every user can read.</summary>
    public static string ReadableRampartDll => s_readableDll.Value;

    /// <summary>True when the tests can switch users (they run as root, as test.sh runs them).</summary>
    public static bool CanSwitchUser => OperatingSystem.IsLinux() && Environment.IsPrivilegedProcess;

    /// <summary>The command line that starts rampart as <paramref name="uid"/>, with HOME (and the state variables) unset when <paramref name="home"/> is null.</summary>
    public static string[] Launcher(int uid, string? home) =>
    [
        "setpriv", $"--reuid={uid}", $"--regid={uid}", "--clear-groups",
        "env", "-u", "STATE_DIRECTORY", "-u", "XDG_STATE_HOME", .. home is null ? (string[])["-u", "HOME"] : [$"HOME={home}"],
        "dotnet", ReadableRampartDll,
    ];

    /// <summary>A new empty directory every user may write to (for a state directory of an unprivileged run).</summary>
    public static string SharedDirectory()
    {
        var directory = Directory.CreateTempSubdirectory("rampart-shared-").FullName;
        File.SetUnixFileMode(directory, (UnixFileMode)0b111_111_111);
        return directory;
    }
}
