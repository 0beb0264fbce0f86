using System.Collections.Concurrent;
using Rampart.Core.TlsRpt;
using Rampart.Hosting;

namespace Rampart.Postfix.TlsRpt;

/// <summary>
/// What the TLS-RPT collector counted, for the daemon's /metrics: session results stored, by source and result
/// (<c>success</c>, the first failure's RFC 8460 result type, or <c>failure</c> when a failed session named none), and
/// datagrams by outcome and by problem kind.
/// </summary>
internal sealed class TlsRptIntakeMetrics
{
    /// <summary>The result label of a failed session that carried no failure detail.</summary>
    public const string UnspecifiedFailure = "failure";

    private readonly ConcurrentDictionary<(string Source, string Result), long> _sessions = new();
    private readonly ConcurrentDictionary<string, long> _problems = new(StringComparer.Ordinal);
    private long _accepted, _rejected, _dropped, _pauses, _logLines;

    /// <summary>Session results committed to the store (call after the commit).</summary>
    public void RecordStored(string source, IEnumerable<TlsSessionResult> results)
    {
        foreach (var result in results)
        {
            _sessions.AddOrUpdate((source, ResultLabel(result)), 1, (_, n) => n + 1);
        }
    }

    /// <summary>A result's label: <c>success</c>, the first failure's result type, or <see cref="UnspecifiedFailure"/>.</summary>
    public static string ResultLabel(TlsSessionResult result) =>
        result.Succeeded ? "success" : result.Failures.Count > 0 ? result.Failures[0].ResultType : UnspecifiedFailure;

    /// <summary>A datagram read: accepted when it held at least one countable result.</summary>
    public void RecordDatagram(DatagramReading reading)
    {
        Interlocked.Increment(ref reading.Rejected ? ref _rejected : ref _accepted);
        foreach (var problem in reading.Problems)
        {
            _problems.AddOrUpdate(problem.Kind, 1, (_, n) => n + 1);
        }
    }

    /// <summary>Datagrams received but not counted: the store failed at shutdown.</summary>
    public void RecordDropped(long datagrams) => Interlocked.Add(ref _dropped, datagrams);

    /// <summary>Lines read from the Postfix log (the log source).</summary>
    public void RecordLogLines(long lines) => Interlocked.Add(ref _logLines, lines);

    /// <summary>Lines read from the Postfix log so far.</summary>
    public long LogLines => Interlocked.Read(ref _logLines);

    /// <summary>Receiving paused because the queue to the store was full.</summary>
    public void RecordPause() => Interlocked.Increment(ref _pauses);

    /// <summary>How often receiving paused.</summary>
    public long Pauses => Interlocked.Read(ref _pauses);

    /// <summary>Sessions stored so far from <paramref name="source"/> (every result label).</summary>
    public long Sessions(string source) => _sessions.Where(e => e.Key.Source == source).Sum(e => e.Value);

    /// <summary>Datagrams counted as <paramref name="outcome"/>: accepted, rejected or dropped.</summary>
    public long Datagrams(string outcome) => outcome switch
    {
        "accepted" => Interlocked.Read(ref _accepted),
        "rejected" => Interlocked.Read(ref _rejected),
        "dropped" => Interlocked.Read(ref _dropped),
        _ => throw new ArgumentOutOfRangeException(nameof(outcome), outcome, "accepted, rejected or dropped"),
    };

    /// <summary>Problems of <paramref name="kind"/> seen so far.</summary>
    public long Problems(string kind) => _problems.TryGetValue(kind, out var n) ? n : 0;

    public void Render(PrometheusText text)
    {
        ArgumentNullException.ThrowIfNull(text);
        text.Family("rampart_tlsrpt_sessions_total", "counter",
            "TLS session results of our deliveries stored for TLS-RPT reports, by source and result (success or the RFC 8460 result type).");
        foreach (var ((source, result), sessions) in _sessions.OrderBy(e => e.Key))
        {
            text.Sample("rampart_tlsrpt_sessions_total", [("source", source), ("result", result)], sessions);
        }
        text.Family("rampart_tlsrpt_datagrams_total", "counter",
            "libtlsrpt datagrams received: accepted (counted), rejected (unreadable), dropped (received but lost: the store failed at a stop).");
        text.Sample("rampart_tlsrpt_datagrams_total", [("result", "accepted")], Interlocked.Read(ref _accepted));
        text.Sample("rampart_tlsrpt_datagrams_total", [("result", "rejected")], Interlocked.Read(ref _rejected));
        text.Sample("rampart_tlsrpt_datagrams_total", [("result", "dropped")], Interlocked.Read(ref _dropped));
        text.Family("rampart_tlsrpt_receive_pauses_total", "counter",
            "Times receiving datagrams paused because the store fell behind (the socket's queue then fills, and Postfix loses what does not fit).");
        text.Sample("rampart_tlsrpt_receive_pauses_total", Interlocked.Read(ref _pauses));
        text.Family("rampart_tlsrpt_log_lines_total", "counter",
            "Lines read from the Postfix log followed for TLS-RPT (tlsrpt_reporting.postfix_log).");
        text.Sample("rampart_tlsrpt_log_lines_total", Interlocked.Read(ref _logLines));
        text.Family("rampart_tlsrpt_datagram_problems_total", "counter",
            "What was wrong or odd in libtlsrpt datagrams, by kind (the first of each kind is logged).");
        foreach (var kind in LibTlsRptDatagram.Kinds)
        {
            text.Sample("rampart_tlsrpt_datagram_problems_total", [("kind", kind)], Problems(kind));
        }
    }
}
