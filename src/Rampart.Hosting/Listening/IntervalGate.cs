namespace Rampart.Hosting.Listening;

/// <summary>
/// Lets one log line through per interval for events that can come thousands of times a second (refused connections,
/// failed accepts): the first event passes, then the first after each interval, with the number of events since the
/// last line that passed. Thread-safe.
/// </summary>
internal sealed class IntervalGate(TimeProvider time, TimeSpan interval)
{
    private readonly Lock _lock = new();
    private long _lastPassed = long.MinValue;
    private long _since;

    /// <summary>Counts one event; true when it may be logged, with <paramref name="events"/> = the events since the last line (this one included).</summary>
    public bool TryPass(out long events)
    {
        lock (_lock)
        {
            _since++;
            var now = time.GetTimestamp();
            if (_lastPassed != long.MinValue && time.GetElapsedTime(_lastPassed, now) < interval)
            {
                events = 0;
                return false;
            }
            _lastPassed = now;
            events = _since;
            _since = 0;
            return true;
        }
    }
}
