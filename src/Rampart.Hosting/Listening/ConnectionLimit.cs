using System.Runtime.InteropServices;

namespace Rampart.Hosting.Listening;

/// <summary>
/// How many connections a host keeps open at once. Without <c>max_connections</c>: half of what the open-files limit
/// leaves once the host has started, after a reserve for the rest of its work; with it, never more than all of that:
/// <code>
/// room            = RLIMIT_NOFILE soft − descriptors open when the host starts − 64
/// default         = max(8, room / 2)
/// max_connections = min(the value set, max(8, room))
/// </code>
/// The descriptors open at start are the runtime's (under <c>dotnet</c> each loaded assembly holds two, about 190 to
/// 220 in all; far fewer in a native build), the policy cache's and the listeners. The reserve of 64 is for what the
/// runtime and the host open later: assemblies loaded on first use, the garbage collector's and new threads' files, the
/// SQLite journal. At the open-files limit it is the runtime that fails first (it aborts with "Out of memory." when it
/// cannot load an assembly or start a thread), so connections must never take the reserve. Half of the room by default,
/// because a connection whose lookup is not cached holds up to two more descriptors while it is answered (a DNS socket
/// and the HTTPS connection of an MTA-STS policy fetch). So a limit of 1024 gives about 380 connections, 16384 (the
/// systemd unit's LimitNOFILE) about 8,000.
/// </summary>
internal static partial class ConnectionLimit
{
    /// <summary>Descriptors kept for what the host opens after start, besides its connections.</summary>
    public const int Reserve = 64;

    /// <summary>The fewest connections a host takes, however low the open-files limit.</summary>
    public const int Floor = 8;

    /// <summary>The default cap for an open-files limit of <paramref name="openFilesLimit"/> with <paramref name="openNow"/> descriptors in use.</summary>
    public static int Default(long openFilesLimit, int openNow) => Clamp((openFilesLimit - openNow - Reserve) / 2);

    /// <summary>The most connections that fit: all the room, the reserve kept. A higher <c>max_connections</c> is lowered to it.</summary>
    public static int Ceiling(long openFilesLimit, int openNow) => Clamp(openFilesLimit - openNow - Reserve);

    private static int Clamp(long connections) => (int)Math.Clamp(connections, Floor, int.MaxValue);

    /// <summary>The most <c>max_connections</c> may be set to (Linux's default ceiling of open files, fs.nr_open).</summary>
    public const int Most = 1 << 20;

    /// <summary>What <c>max_connections</c> reads as in the docs and in errors.</summary>
    public const string DefaultDoc = "from the open-files limit";

    /// <summary>What an unreadable open-files limit is taken to be (the usual soft limit of a login shell).</summary>
    public const long AssumedOpenFilesLimit = 1024;

    /// <summary>The soft RLIMIT_NOFILE of this process (the .NET runtime raises it to the hard limit at start), or null where it cannot be read.</summary>
    public static long? OpenFilesLimit()
    {
        if (!OperatingSystem.IsLinux() || getrlimit(RlimitNofile, out var limit) != 0)
        {
            return null;
        }
        return limit.Current > long.MaxValue ? long.MaxValue : (long)limit.Current; // RLIM_INFINITY is all ones
    }

    /// <summary>The descriptors this process has open now (<c>/proc/self/fd</c>), or 0 where that cannot be read.</summary>
    public static int OpenDescriptors()
    {
        try
        {
            return Directory.EnumerateFileSystemEntries("/proc/self/fd").Count();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }

    private const int RlimitNofile = 7; // Linux, every architecture .NET runs on

    [StructLayout(LayoutKind.Sequential)]
    private struct RLimit
    {
        public ulong Current;
        public ulong Maximum;
    }

    [LibraryImport("libc", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static partial int getrlimit(int resource, out RLimit limit);
}
