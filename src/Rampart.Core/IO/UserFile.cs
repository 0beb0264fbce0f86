using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace Rampart.Core.IO;

/// <summary>
/// The one way Rampart reads a file a person named (a certificate chain, a CA bundle, overrides, a policy list, a
/// configuration file, a policy to parse): regular files only, up to a size bound per kind, so a device
/// (<c>/dev/zero</c>), a FIFO (which would block the open until a writer comes), a directory or an oversized file is a
/// one-line <see cref="UserFileException"/> naming the file and the rule, never an unbounded read or a hang. Where a
/// command documents <c>-</c>, standard input is read with the same bound and can be cancelled.
/// </summary>
public static class UserFile
{
    /// <summary>Size bounds by kind of file: generous for what a person writes, far below what would hurt.</summary>
    public static class Limits
    {
        /// <summary>Configuration files (daemon, publish, serve YAML).</summary>
        public const long Config = 1 << 20;

        /// <summary>PEM certificates, chains and keys; CA bundles (Debian's whole bundle is about 220 KiB).</summary>
        public const long Pem = 4 << 20;

        /// <summary>An MTA-STS policy to parse: far above the 64 KiB a sender fetches, so an oversized one is still diagnosed.</summary>
        public const long Policy = 1 << 20;

        /// <summary>Pinned policies: local overrides and the STARTTLS Policy List (the published list was ~60 KiB).</summary>
        public const long PinnedPolicies = 16 << 20;

        /// <summary>A list of domains (check --watch).</summary>
        public const long DomainList = 16 << 20;
    }

    /// <summary>The path that means standard input where a command documents it.</summary>
    public const string StandardInput = "-";

    /// <summary>Reads a regular file of at most <paramref name="maxBytes"/> bytes.</summary>
    /// <param name="label">How the message names the file (a setting or option, e.g. "CA file" or "--chain").</param>
    /// <exception cref="UserFileException">Missing, not a regular file, too large, or unreadable.</exception>
    public static byte[] ReadAllBytes(string path, string label, long maxBytes)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(label);
        CheckIsRegularFile(path, label, maxBytes);
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.SequentialScan);
            return ReadBounded(stream, path, label, maxBytes);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException && ex is not UserFileException)
        {
            throw Unreadable(path, label, ex);
        }
    }

    /// <summary><see cref="ReadAllBytes"/> as UTF-8 text (a byte order mark is dropped).</summary>
    public static string ReadAllText(string path, string label, long maxBytes) => Decode(ReadAllBytes(path, label, maxBytes));

    /// <summary>
    /// Reads <paramref name="path"/>, or standard input when it is <see cref="StandardInput"/>, with the same bound;
    /// reading standard input stops when <paramref name="cancellationToken"/> is cancelled (SIGTERM, Ctrl+C).
    /// </summary>
    public static async Task<byte[]> ReadAllBytesOrStdinAsync(string path, string label, long maxBytes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (path != StandardInput)
        {
            return ReadAllBytes(path, label, maxBytes);
        }
        var stdin = Console.OpenStandardInput(); // the process's own: not disposed here
        // A terminal or pipe read does not observe a token: wait for it alongside, and leave the read behind.
        return await Task.Run(() => ReadBounded(stdin, "standard input", label, maxBytes), CancellationToken.None)
            .WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary><see cref="ReadAllBytesOrStdinAsync"/> as UTF-8 text.</summary>
    public static async Task<string> ReadAllTextOrStdinAsync(string path, string label, long maxBytes, CancellationToken cancellationToken) =>
        Decode(await ReadAllBytesOrStdinAsync(path, label, maxBytes, cancellationToken).ConfigureAwait(false));

    /// <summary>
    /// Refuses, with the reason, anything but an existing regular file within the bound, before it is opened (opening a
    /// FIFO would block). Symbolic links are followed: a link to a regular file is fine.
    /// </summary>
    /// <exception cref="UserFileException">"LABEL PATH: why", in one line.</exception>
    public static void CheckIsRegularFile(string path, string label, long maxBytes)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (path.Length == 0)
        {
            throw new UserFileException($"{label}: no file named (an empty path)");
        }
        if (WhyNotReadable(path, maxBytes) is { } why)
        {
            throw new UserFileException($"{label} {path}: {why}");
        }
    }

    /// <summary>Null when <paramref name="path"/> is an existing regular file of at most <paramref name="maxBytes"/>; else why not ("is a FIFO (named pipe); give a regular file").</summary>
    public static string? WhyNotReadable(string path, long maxBytes)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!TryStat(path, out var type, out long size, out int errno))
        {
            return errno switch
            {
                2 => "no such file",
                13 => "permission denied",
                20 => "a part of the path is not a directory",
                _ => $"cannot be read ({Marshal.GetPInvokeErrorMessage(errno)})",
            };
        }
        string? notRegular = type switch
        {
            FileType.Regular => null,
            FileType.Directory => "is a directory",
            FileType.Fifo => "is a FIFO (named pipe)",
            FileType.CharacterDevice => "is a character device",
            FileType.BlockDevice => "is a block device",
            FileType.Socket => "is a socket",
            _ => "is not a regular file",
        };
        return notRegular is not null ? $"{notRegular}; give a regular file"
            : size > maxBytes ? LargerThan(maxBytes)
            : null;
    }

    private static byte[] ReadBounded(Stream stream, string path, string label, long maxBytes)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = stream.Read(chunk, 0, chunk.Length)) > 0)
        {
            if (buffer.Length + read > maxBytes)
            {
                throw TooLarge(path, label, maxBytes); // the file grew past the bound while it was read, or a pipe is endless
            }
            buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();
    }

    private static string Decode(byte[] bytes) =>
        new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false).GetString(
            bytes.AsSpan().StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]) ? bytes.AsSpan(3) : bytes);

    private static UserFileException TooLarge(string path, string label, long maxBytes) => new($"{label} {path}: {LargerThan(maxBytes)}");

    private static string LargerThan(long maxBytes) => $"larger than {Size(maxBytes)}, the most Rampart reads for it";

    private static UserFileException Unreadable(string path, string label, Exception ex) =>
        new($"{label} {path}: cannot be read ({ex.Message})", ex);

    private static string Size(long bytes) => bytes >= 1 << 20
        ? string.Create(CultureInfo.InvariantCulture, $"{bytes >> 20} MiB")
        : string.Create(CultureInfo.InvariantCulture, $"{bytes >> 10} KiB");

    private enum FileType
    {
        Other,
        Regular,
        Directory,
        Fifo,
        CharacterDevice,
        BlockDevice,
        Socket,
    }

    /// <summary>statx(2): its buffer layout is the same on every Linux architecture (stx_mode at 28, stx_size at 40).</summary>
    private static bool TryStat(string path, out FileType type, out long size, out int errno)
    {
        const int AtFdCwd = -100;
        const uint StatxTypeAndSize = 0x1 | 0x200; // STATX_TYPE | STATX_SIZE
        (type, size, errno) = (FileType.Other, 0, 0);
        if (!OperatingSystem.IsLinux())
        {
            // Elsewhere: only what .NET can tell (directories); the size bound still holds while reading.
            type = Directory.Exists(path) ? FileType.Directory : File.Exists(path) ? FileType.Regular : FileType.Other;
            errno = type == FileType.Other ? 2 : 0;
            return type != FileType.Other;
        }
        var buffer = new byte[256];
        var name = Encoding.UTF8.GetBytes(path + "\0");
        if (Statx(AtFdCwd, name, 0, StatxTypeAndSize, buffer) != 0)
        {
            errno = Marshal.GetLastPInvokeError();
            return false;
        }
        int mode = BitConverter.ToUInt16(buffer, 28) & 0xF000; // S_IFMT
        type = mode switch
        {
            0x8000 => FileType.Regular,
            0x4000 => FileType.Directory,
            0x1000 => FileType.Fifo,
            0x2000 => FileType.CharacterDevice,
            0x6000 => FileType.BlockDevice,
            0xC000 => FileType.Socket,
            _ => FileType.Other,
        };
        size = (long)BitConverter.ToUInt64(buffer, 40);
        return true;
    }

    [DllImport("libc", EntryPoint = "statx", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int Statx(int dirfd, byte[] path, int flags, uint mask, byte[] statxBuffer);
}

/// <summary>A file a person named cannot be used: the message names the file and the rule, in one line.</summary>
public sealed class UserFileException : RampartException
{
    public UserFileException() { }

    public UserFileException(string message) : base(message) { }

    public UserFileException(string message, Exception? innerException) : base(message, innerException) { }
}
