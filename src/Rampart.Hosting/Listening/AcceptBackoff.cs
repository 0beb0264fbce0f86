namespace Rampart.Hosting.Listening;

/// <summary>
/// How long an accept loop waits after a failed accept (no descriptor or buffer left): 10 ms, doubling each time
/// it fails again, at most 1 s; back to 10 ms once an accept succeeds. Not thread-safe: one per accept loop.
/// </summary>
internal sealed class AcceptBackoff
{
    public static readonly TimeSpan First = TimeSpan.FromMilliseconds(10);

    public static readonly TimeSpan Longest = TimeSpan.FromSeconds(1);

    private TimeSpan _next = First;

    /// <summary>The wait before the next try; the one after it is twice as long, up to <see cref="Longest"/>.</summary>
    public TimeSpan Next()
    {
        var delay = _next;
        _next = delay * 2 < Longest ? delay * 2 : Longest;
        return delay;
    }

    /// <summary>An accept succeeded: the next failure waits <see cref="First"/> again.</summary>
    public void Reset() => _next = First;
}
