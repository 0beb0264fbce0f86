namespace Rampart.Postfix.TlsRpt;

/// <summary>
/// Whether a store fault has been logged and not yet cleared, so a background writer (the datagram collector, the log
/// follower, the answer recorder) logs a failing store once, not once per retry, and says once when it works again.
/// </summary>
internal struct StoreFaultLatch
{
    private bool _failing;

    /// <summary>A write failed: true when this is the first failure since the store last worked (log it).</summary>
    public bool Fail()
    {
        var first = !_failing;
        _failing = true;
        return first;
    }

    /// <summary>A write worked: true when the store had been failing (say it recovered).</summary>
    public bool Clear()
    {
        var was = _failing;
        _failing = false;
        return was;
    }
}
