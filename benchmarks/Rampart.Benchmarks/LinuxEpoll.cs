using System.Runtime.InteropServices;

namespace Rampart.Benchmarks;

/// <summary>
/// The few libc calls behind the single-threaded epoll load loop (<c>socketmap-load --io epoll</c>) and the ceiling server
/// (<c>socketmap-echo</c>): an event loop on one thread, a read and a write per lookup, nothing else. x86-64 Linux only
/// (<see cref="Event"/> has that ABI's packed layout).
/// </summary>
internal static unsafe partial class LinuxEpoll
{
    public const uint In = 0x001;
    public const int Add = 1;
    public const int Delete = 2;
    public const int WouldBlock = 11;
    public const int Interrupted = 4;

    /// <summary><c>struct epoll_event</c> on x86-64: a 4-byte event mask and 8 bytes of user data, packed.</summary>
    [StructLayout(LayoutKind.Sequential, Pack = 4)]
    public struct Event
    {
        public uint Events;
        public ulong Data;
    }

    /// <summary><c>struct timespec</c>.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    public static bool Supported => OperatingSystem.IsLinux() && RuntimeInformation.ProcessArchitecture == Architecture.X64;

    [LibraryImport("libc", EntryPoint = "epoll_create1", SetLastError = true)]
    public static partial int Create(int flags);

    [LibraryImport("libc", EntryPoint = "epoll_ctl", SetLastError = true)]
    public static partial int Control(int epoll, int operation, int fd, Event* ev);

    /// <summary><c>epoll_pwait2</c>: a timeout in nanoseconds (epoll_wait's milliseconds would add up to 1 ms to paced sends).</summary>
    [LibraryImport("libc", EntryPoint = "epoll_pwait2", SetLastError = true)]
    public static partial int Wait(int epoll, Event* events, int maxEvents, TimeSpec* timeout, nint signalMask);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    public static partial nint Read(int fd, byte* buffer, nint count);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    public static partial nint Write(int fd, byte* buffer, nint count);

    [LibraryImport("libc", EntryPoint = "close")]
    public static partial int Close(int fd);

    /// <summary>Registers <paramref name="fd"/> for input with <paramref name="data"/> as its tag.</summary>
    public static void Watch(int epoll, int fd, ulong data)
    {
        var ev = new Event { Events = In, Data = data };
        if (Control(epoll, Add, fd, &ev) != 0)
        {
            throw new IOException($"epoll_ctl ADD fd {fd}: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    public static void Forget(int epoll, int fd)
    {
        var ev = default(Event);
        _ = Control(epoll, Delete, fd, &ev);
    }

    /// <summary>Waits for events at most <paramref name="timeoutTicks"/> Stopwatch ticks (negative: forever); returns how many.</summary>
    public static int WaitTicks(int epoll, Span<Event> events, long timeoutTicks)
    {
        fixed (Event* buffer = events)
        {
            if (timeoutTicks < 0)
            {
                return Retry(Wait(epoll, buffer, events.Length, null, 0));
            }
            long nanos = (long)(timeoutTicks * (1_000_000_000.0 / System.Diagnostics.Stopwatch.Frequency));
            var timeout = new TimeSpec { Seconds = nanos / 1_000_000_000, Nanoseconds = nanos % 1_000_000_000 };
            return Retry(Wait(epoll, buffer, events.Length, &timeout, 0));
        }

        static int Retry(int n) =>
            n >= 0 ? n
            : Marshal.GetLastPInvokeError() == Interrupted ? 0
            : throw new IOException($"epoll_pwait2: errno {Marshal.GetLastPInvokeError()}");
    }
}
