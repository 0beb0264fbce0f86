using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Runtime.InteropServices;

namespace Rampart.Hosting;

/// <summary>
/// A Unix user (and group) a host (the daemon, serve) hands its files to and runs as after binding its sockets: <c>--user</c> /
/// <c>--group</c> (postfix-mta-sts-resolver 1.5's options), and a Unix socket's <c>owner</c>. Names are looked up with
/// libc's getpwnam/getgrnam (so NSS sources count); numeric ids are taken as they are.
/// Linux (and Unix) only, as the hosts are.
/// </summary>
internal sealed partial record UnixAccount(string Name, uint Uid, uint Gid, bool HasUserName)
{
    /// <summary>Parses <c>USER</c>, <c>USER:GROUP</c>, <c>:GROUP</c>-less numeric forms such as <c>1000:1000</c>; the group defaults to the user's.</summary>
    public static bool TryResolve(string user, string? group, [NotNullWhen(true)] out UnixAccount? account, [NotNullWhen(false)] out string? error)
    {
        account = null;
        if (string.IsNullOrWhiteSpace(user))
        {
            error = "empty user name";
            return false;
        }
        if (group is null && user.Split(':', 2) is [var u, var g])
        {
            (user, group) = (u, g);
        }
        uint uid, gid;
        var named = false;
        if (uint.TryParse(user, NumberStyles.None, CultureInfo.InvariantCulture, out uid))
        {
            gid = uid;
        }
        else
        {
            var passwd = getpwnam(user);
            if (passwd == IntPtr.Zero)
            {
                error = $"no such user '{user}'";
                return false;
            }
            uid = (uint)Marshal.ReadInt32(passwd, 16);
            gid = (uint)Marshal.ReadInt32(passwd, 20);
            named = true;
        }
        if (!string.IsNullOrEmpty(group))
        {
            if (uint.TryParse(group, NumberStyles.None, CultureInfo.InvariantCulture, out var numeric))
            {
                gid = numeric;
            }
            else
            {
                var entry = getgrnam(group);
                if (entry == IntPtr.Zero)
                {
                    error = $"no such group '{group}'";
                    return false;
                }
                gid = (uint)Marshal.ReadInt32(entry, 16);
            }
        }
        account = new UnixAccount(user, uid, gid, named);
        error = null;
        return true;
    }

    /// <summary>True when this process may change owners and drop to another user (effective uid 0).</summary>
    public static bool IsRoot => geteuid() == 0;

    /// <summary>The effective user id of this process.</summary>
    public static uint EffectiveUid => geteuid();

    /// <summary>This process's user for messages: "nobody (uid 65534)", or "uid 12345" when the uid has no passwd entry.</summary>
    public static string Current => PasswdString(geteuid(), 0) is { Length: > 0 } name ? $"{name} (uid {geteuid()})" : $"uid {geteuid()}";

    /// <summary>The home directory of this process's user in the passwd database (NSS), or null when it has no entry.</summary>
    public static string? CurrentHome => PasswdString(geteuid(), 3 * IntPtr.Size + 8); // struct passwd: name, passwd, uid, gid, gecos, dir

    private static string? PasswdString(uint uid, int offset)
    {
        var passwd = getpwuid(uid);
        return passwd == IntPtr.Zero ? null : Marshal.PtrToStringUTF8(Marshal.ReadIntPtr(passwd, offset));
    }

    /// <summary>Gives <paramref name="path"/> to this account; throws <see cref="IOException"/> naming the path.</summary>
    public void Own(string path)
    {
        if (chown(path, Uid, Gid) != 0)
        {
            throw new IOException($"cannot give {path} to {this}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        }
    }

    /// <summary>
    /// Switches the whole process (every thread: glibc applies set*id to all of them) to this account for good:
    /// supplementary groups, then the group, then the user. Verifies that root cannot be regained.
    /// </summary>
    public void DropTo()
    {
        var groups = HasUserName ? initgroups(Name, Gid) : setgroups(0, IntPtr.Zero);
        if (groups != 0 || setgid(Gid) != 0 || setuid(Uid) != 0)
        {
            throw new InvalidOperationException($"cannot switch to user {this}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        }
        if (Uid != 0 && (setuid(0) == 0 || geteuid() != Uid || getuid() != Uid || getegid() != Gid))
        {
            throw new InvalidOperationException($"switching to user {this} did not drop root");
        }
    }

    /// <summary>Started as root: switches to this account for good (<see cref="DropTo"/>) and answers true; otherwise changes nothing and answers false.</summary>
    public bool DropIfRoot()
    {
        if (!IsRoot)
        {
            return false;
        }
        DropTo();
        return true;
    }

    /// <summary>
    /// Gives <paramref name="directory"/> and its files whose names start with <paramref name="filePrefix"/> (a SQLite
    /// database and its -wal/-shm files) to this account: a host opens its stores as root, then runs as this account.
    /// </summary>
    public void OwnDirectoryAndFiles(string directory, string filePrefix)
    {
        Own(directory);
        foreach (var file in Directory.EnumerateFiles(directory, filePrefix + "*"))
        {
            Own(file);
        }
    }

    public override string ToString() => $"{Name} (uid {Uid}, gid {Gid})";

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial IntPtr getpwnam(string name);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial IntPtr getgrnam(string name);

    [LibraryImport("libc", SetLastError = true)]
    private static partial IntPtr getpwuid(uint uid);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int chown(string path, uint owner, uint group);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int initgroups(string user, uint group);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setgroups(nuint size, IntPtr list);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setgid(uint gid);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setuid(uint uid);

    [LibraryImport("libc")]
    private static partial uint getuid();

    [LibraryImport("libc")]
    private static partial uint geteuid();

    [LibraryImport("libc")]
    private static partial uint getegid();
}

