using System.Net.Sockets;
using System.Runtime.CompilerServices;

namespace Rampart.Postfix.Socketmap;

/// <summary>
/// Lets one socket's I/O completions run on the runtime's socket event thread instead of being queued to the thread
/// pool: the per-socket form of <c>DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1</c>, for socketmap connections only.
/// A cached answer is a few microseconds of non-blocking work, and the queue hop (a thread wake-up and a context
/// switch per lookup) cost more than the answer itself: on the 2-core lab machine the daemon's CPU per cached lookup
/// went from ~31 to ~20 µs (docs/benchmarks.md §4). The daemon's other sockets (DNS, policy fetches with their TLS
/// handshakes, Redis) keep the thread pool, so their work never holds up the event thread.
/// </summary>
/// <remarks>
/// The switch is the runtime's internal <c>SafeSocketHandle.PreferInlineCompletions</c>, reached with
/// <see cref="UnsafeAccessorAttribute"/>. Should a runtime drop it, <see cref="TryEnable"/> returns false from then on
/// and sockets simply keep the default; nothing else depends on it.
/// </remarks>
internal static class InlineSocketCompletions
{
    private static volatile bool s_unavailable;

    /// <summary>Asks for inline completions on <paramref name="socket"/>; false when this runtime offers no such switch.</summary>
    public static bool TryEnable(Socket? socket)
    {
        if (socket is null || s_unavailable || !OperatingSystem.IsLinux())
        {
            return false;
        }
        try
        {
            SetPreferInlineCompletions(socket.SafeHandle, true);
            return true;
        }
        catch (Exception ex) when (ex is MissingMemberException or NotSupportedException)
        {
            s_unavailable = true;
            return false;
        }
    }

    /// <summary>
    /// With inline completions a socketmap connection's work runs on its socket event thread, and the runtime starts one
    /// such thread per 30 cores: left alone, every socketmap lookup of the daemon would share one core. This asks for
    /// one event thread per core (<c>DOTNET_SYSTEM_NET_SOCKETS_THREAD_COUNT</c>, which the runtime reads when the process
    /// makes its first asynchronous socket operation, so call it before any) unless the operator has set that variable.
    /// Connections are spread over the threads round-robin. Returns the count asked for, or null when it was left alone.
    /// </summary>
    public static int? UseOneEventThreadPerCore()
    {
        const string Variable = "DOTNET_SYSTEM_NET_SOCKETS_THREAD_COUNT";
        if (!OperatingSystem.IsLinux() || !string.IsNullOrEmpty(Environment.GetEnvironmentVariable(Variable)))
        {
            return null;
        }
        int threads = Math.Clamp(Environment.ProcessorCount, 1, 16);
        Environment.SetEnvironmentVariable(Variable, threads.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return threads;
    }

    /// <summary>Whether <paramref name="socket"/> has inline completions (false where this runtime has no such switch).</summary>
    public static bool IsEnabled(Socket socket)
    {
        ArgumentNullException.ThrowIfNull(socket);
        try
        {
            return GetPreferInlineCompletions(socket.SafeHandle);
        }
        catch (Exception ex) when (ex is MissingMemberException or NotSupportedException)
        {
            return false;
        }
    }

    [UnsafeAccessor(UnsafeAccessorKind.Method, Name = "set_PreferInlineCompletions")]
    private static extern void SetPreferInlineCompletions(SafeSocketHandle handle, bool value);

    [UnsafeAccessor(UnsafeAccessorKind.Method, Name = "get_PreferInlineCompletions")]
    private static extern bool GetPreferInlineCompletions(SafeSocketHandle handle);
}
