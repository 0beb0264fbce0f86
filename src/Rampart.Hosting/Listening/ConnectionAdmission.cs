using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Rampart.Hosting.Logging;

namespace Rampart.Hosting.Listening;

/// <summary>
/// The connection cap of one host process, shared by all its listeners (socketmap, /metrics, HTTPS): at most
/// <see cref="Limit"/> connections open at once; a connection beyond it is accepted and closed at once, counted per
/// listener and logged once per interval. Failed accepts (no descriptor or buffer left) are counted and logged the same
/// way. <see cref="RenderMetrics"/> gives the counts in Prometheus text for a host's /metrics.
/// <para>Memory goes back after a burst: when <see cref="CollectAfterClosed"/> connections have closed since the most
/// that were open, one aggressive garbage collection runs <see cref="CollectDelay"/> later (at most one per
/// <see cref="CollectInterval"/>), so the buffers a flood took (each connection's pipes, from the shared array pool)
/// are freed and decommitted instead of staying in the heap until some later allocation triggers a collection.
/// Steady traffic never closes that many at once and never pays for it.</para>
/// </summary>
internal sealed partial class ConnectionAdmission
{
    /// <summary>At most one line per this interval for refusals, and one for failed accepts.</summary>
    public static readonly TimeSpan LogInterval = TimeSpan.FromSeconds(10);

    private readonly ILogger _log;
    private readonly IntervalGate _refusalLines;
    private readonly IntervalGate _failureLines;
    private readonly Lock _lock = new();
    private readonly List<Listener> _listeners = [];
    private readonly TimeProvider _time;
    private int _open;
    private int _peak;
    private ITimer? _collect;
    private long _lastCollect;
    private int _collections;

    /// <summary>Connections closed since the most open at once that ask for a collection.</summary>
    public const int CollectAfterClosed = 64;

    /// <summary>How long after the burst has closed the collection runs (the rest of it closes meanwhile).</summary>
    public static readonly TimeSpan CollectDelay = TimeSpan.FromSeconds(2);

    /// <summary>At most one collection per this interval, whatever the traffic.</summary>
    public static readonly TimeSpan CollectInterval = TimeSpan.FromSeconds(10);

    /// <summary>Collections run after a burst closed.</summary>
    public int Collections => Volatile.Read(ref _collections);

    /// <param name="configured">max_connections when set (lowered to <see cref="ConnectionLimit.Ceiling"/>); null = <see cref="ConnectionLimit.Default"/>, both from the open-files limit and the descriptors open now.</param>
    public ConnectionAdmission(int? configured, TimeProvider time, ILogger log)
    {
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(log);
        _log = log;
        _time = time;
        _lastCollect = time.GetTimestamp() - (long)(CollectInterval.TotalSeconds * time.TimestampFrequency);
        _refusalLines = new IntervalGate(time, LogInterval);
        _failureLines = new IntervalGate(time, LogInterval);
        OpenFilesLimit = ConnectionLimit.OpenFilesLimit() ?? ConnectionLimit.AssumedOpenFilesLimit;
        var openNow = ConnectionLimit.OpenDescriptors();
        var ceiling = ConnectionLimit.Ceiling(OpenFilesLimit, openNow);
        Limit = configured is { } set ? Math.Min(set, ceiling) : ConnectionLimit.Default(OpenFilesLimit, openNow);
        if (configured > ceiling)
        {
            LogAboveOpenFilesLimit(log, configured.Value, OpenFilesLimit, openNow, ConnectionLimit.Reserve, ceiling);
        }
    }

    /// <summary>The most connections open at once (the hosts' first log line says it).</summary>
    public int Limit { get; }

    /// <summary>The soft open-files limit the default was derived from.</summary>
    public long OpenFilesLimit { get; }

    /// <summary>Connections open now, all listeners together.</summary>
    public int Open => Volatile.Read(ref _open);

    /// <summary>Counts of one listening address; <paramref name="name"/> is the address as operators write it.</summary>
    public Listener Register(string name)
    {
        var listener = new Listener(name);
        lock (_lock)
        {
            _listeners.Add(listener);
        }
        return listener;
    }

    /// <summary>Takes a place for a new connection; false (nothing taken) when <see cref="Limit"/> are open.</summary>
    public bool TryAdmit()
    {
        if (Interlocked.Increment(ref _open) is var open && open <= Limit)
        {
            if (open > Volatile.Read(ref _peak))
            {
                Volatile.Write(ref _peak, open); // a racing admit may lower it by one: good enough for a threshold
            }
            return true;
        }
        Interlocked.Decrement(ref _open);
        return false;
    }

    /// <summary>Gives back the place of a connection that has closed.</summary>
    public void Release()
    {
        var open = Interlocked.Decrement(ref _open);
        if (Volatile.Read(ref _peak) - open >= CollectAfterClosed)
        {
            ScheduleCollection();
        }
    }

    private void ScheduleCollection()
    {
        lock (_lock)
        {
            if (_collect is not null)
            {
                return;
            }
            var sinceLast = _time.GetElapsedTime(_lastCollect);
            var due = sinceLast >= CollectInterval - CollectDelay ? CollectDelay : CollectInterval - sinceLast;
            _collect = _time.CreateTimer(static state => ((ConnectionAdmission)state!).Collect(), this, due, Timeout.InfiniteTimeSpan);
        }
    }

    private void Collect()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        lock (_lock)
        {
            _collect?.Dispose();
            _collect = null;
            _lastCollect = _time.GetTimestamp();
            Volatile.Write(ref _peak, Open);
        }
        Interlocked.Increment(ref _collections);
    }

    /// <summary>A connection on <paramref name="listener"/> was closed at once because <see cref="Limit"/> were open.</summary>
    public void Refused(Listener listener)
    {
        ArgumentNullException.ThrowIfNull(listener);
        Interlocked.Increment(ref listener.RefusedCount);
        if (_refusalLines.TryPass(out var refused))
        {
            LogRefused(_log, Limit, listener.Name, refused);
        }
    }

    /// <summary>An accept on <paramref name="listener"/> failed with <paramref name="error"/>; the next try is in <paramref name="retryIn"/>.</summary>
    public void AcceptFailed(Listener listener, SocketException error, TimeSpan retryIn)
    {
        ArgumentNullException.ThrowIfNull(listener);
        ArgumentNullException.ThrowIfNull(error);
        Interlocked.Increment(ref listener.AcceptFailureCount);
        if (_failureLines.TryPass(out var failures))
        {
            // The runtime words EMFILE (this process is out of descriptors) as ENFILE's "too many open files in system".
            var (cause, fix) = error.SocketErrorCode switch
            {
                SocketError.TooManyOpenSockets => ("no file descriptor left (EMFILE or ENFILE)",
                    $"; the process is at its open-files limit ({OpenFilesLimit}) with {Open} connections open: raise LimitNOFILE (ulimit -n) or lower max_connections ({Limit})"),
                SocketError.NoBufferSpaceAvailable => ("no memory for a new socket (ENOBUFS or ENOMEM)", "; the system is short of memory or socket buffers"),
                _ => (HostLogFormatter.OneLine(error.Message).TrimEnd('.'), ""),
            };
            LogAcceptFailed(_log, listener.Name, cause, failures, (long)retryIn.TotalMilliseconds, fix);
        }
    }

    /// <summary>The connection counts in Prometheus text: open, the limit, refused and failed accepts per listener.</summary>
    public string RenderMetrics()
    {
        Listener[] listeners;
        lock (_lock)
        {
            listeners = [.. _listeners];
        }
        var text = new PrometheusText();
        text.Family("rampart_connections_open", "gauge", "Connections open now, all listeners together.");
        text.Sample("rampart_connections_open", Open);
        text.Family("rampart_connections_max", "gauge", "Connections kept open at most (max_connections); newer ones are refused.");
        text.Sample("rampart_connections_max", Limit);
        text.Family("rampart_connections_refused_total", "counter", "Connections accepted and closed at once because max_connections were open, by listener.");
        foreach (var listener in listeners)
        {
            text.Sample("rampart_connections_refused_total", [("listener", listener.Name)], Interlocked.Read(ref listener.RefusedCount));
        }
        text.Family("rampart_accept_failures_total", "counter",
            "Accepts that failed for want of a file descriptor or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM), each retried after a pause, by listener.");
        foreach (var listener in listeners)
        {
            text.Sample("rampart_accept_failures_total", [("listener", listener.Name)], Interlocked.Read(ref listener.AcceptFailureCount));
        }
        return text.ToString();
    }

    /// <summary>One listening address and its counts.</summary>
    internal sealed class Listener(string name)
    {
        public string Name { get; } = name;

        internal long RefusedCount;

        internal long AcceptFailureCount;

        public long Refused => Interlocked.Read(ref RefusedCount);

        public long AcceptFailures => Interlocked.Read(ref AcceptFailureCount);
    }

    [LoggerMessage(EventId = 461, Level = LogLevel.Warning,
        Message = "max_connections {Configured} is more than the open-files limit {OpenFilesLimit} leaves room for ({OpenNow} descriptors open at start, " +
                  "{Reserve} kept for the runtime): at most {Ceiling} connections at once; raise LimitNOFILE (ulimit -n) to allow more")]
    private static partial void LogAboveOpenFilesLimit(ILogger logger, int configured, long openFilesLimit, int openNow, int reserve, int ceiling);

    [LoggerMessage(EventId = 462, Level = LogLevel.Warning,
        Message = "{Limit} connections open (max_connections): new connections are closed at once; {Refused} refused since the last such line, the latest on {Listener}")]
    private static partial void LogRefused(ILogger logger, int limit, string listener, long refused);

    [LoggerMessage(EventId = 463, Level = LogLevel.Warning,
        Message = "cannot accept connections on {Listener}: {Cause} ({Failures} failed accepts since the last such line); retrying in {RetryMs} ms{Fix}")]
    private static partial void LogAcceptFailed(ILogger logger, string listener, string cause, long failures, long retryMs, string fix);
}
