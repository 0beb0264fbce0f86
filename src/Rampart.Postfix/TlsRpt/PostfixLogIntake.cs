using System.Buffers;
using System.Text;
using Rampart.Core.TlsRpt;

namespace Rampart.Postfix.TlsRpt;

/// <summary><c>tlsrpt_reporting:</c> settings of the Postfix log source (Postfix before 3.10).</summary>
/// <param name="Source">An absolute file path, or <see cref="Journal"/>.</param>
/// <param name="SenderAddress">The envelope sender of our own reports (<c>sender_address</c>); null = none excluded.</param>
internal sealed record TlsRptLogSettings(string Source, string? SenderAddress)
{
    /// <summary>The value of <c>postfix_log</c> that follows the systemd journal.</summary>
    public const string Journal = "journal";

    public bool IsJournal => Source == Journal;

    /// <summary><c>postfix_log</c>: an absolute path, or <c>journal</c> (the systemd journal, through journalctl).</summary>
    public static bool TryParseSource(string text, out string? source, out string error)
    {
        source = null;
        error = "";
        if (text == Journal || Path.IsPathFullyQualified(text))
        {
            source = text;
            return true;
        }
        error = $"'{text}' is neither an absolute path nor 'journal'";
        return false;
    }
}

/// <summary>One line of a log and where it lies: <paramref name="Start"/> is its first byte, <paramref name="End"/> the byte after its line end.</summary>
internal readonly record struct LogLine(string Text, long Start, long End);

/// <summary>
/// Splits a log into lines, bounded: a line longer than <see cref="MaxLineBytes"/> is skipped whole (counted), so a
/// file without line ends never grows memory. Bytes that are not UTF-8 are read as U+FFFD. A last line without its
/// line end is not returned (a writer may be in the middle of it): <see cref="Position"/> stays at its start.
/// </summary>
internal sealed class LogLineSplitter
{
    /// <summary>The longest line read (Postfix's own lines are at most a few KiB: msg_logger's MSG_LOGGER_RECLEN is 2000).</summary>
    public const int MaxLineBytes = 16 * 1024;

    private readonly byte[] _line = new byte[MaxLineBytes];
    private int _kept;          // bytes of the current line kept in _line
    private long _seen;         // bytes of the current line seen so far (kept or not)

    /// <param name="position">The offset of the first byte that will be given.</param>
    public LogLineSplitter(long position) => Position = position;

    /// <summary>Where the next line starts: the end of the last complete line.</summary>
    public long Position { get; private set; }

    /// <summary>Lines longer than <see cref="MaxLineBytes"/> skipped so far.</summary>
    public long Oversized { get; private set; }

    /// <summary>Reads <paramref name="bytes"/> (the bytes after those given before) and adds each line they complete.</summary>
    public void Add(ReadOnlySpan<byte> bytes, List<LogLine> lines)
    {
        while (!bytes.IsEmpty)
        {
            var end = bytes.IndexOf((byte)'\n');
            var part = end < 0 ? bytes : bytes[..end];
            if (_seen + part.Length <= MaxLineBytes)
            {
                part.CopyTo(_line.AsSpan(_kept));
                _kept += part.Length;
            }
            else if (_seen <= MaxLineBytes)
            {
                Oversized++;
                _kept = -1; // skipped whole
            }
            _seen += part.Length;
            if (end < 0)
            {
                return;
            }
            var start = Position;
            Position += _seen + 1;
            if (_kept >= 0)
            {
                var text = _line.AsSpan(0, _kept);
                if (!text.IsEmpty && text[^1] == '\r')
                {
                    text = text[..^1];
                }
                lines.Add(new LogLine(Encoding.UTF8.GetString(text), start, Position));
            }
            _kept = 0;
            _seen = 0;
            bytes = bytes[(end + 1)..];
        }
    }

    /// <summary>Forgets a partial line (the file was truncated or replaced): the next bytes start a line at <paramref name="position"/>.</summary>
    public void Reset(long position)
    {
        Position = position;
        _kept = 0;
        _seen = 0;
    }
}

/// <summary>Joins a logged session with the daemon's answer for its domain (docs/tlsrpt-sending.md, "The daemon's answers").</summary>
internal static class PostfixLogSessions
{
    /// <summary>
    /// The result to count: under the answer's policy; when the answer is an MTA-STS failure (fetch error, invalid policy,
    /// WebPKI), that failure, whatever the connection did; a policy lookup error the answer does not explain is not
    /// counted (null); with no answer, <c>no-policy-found</c>.
    /// </summary>
    public static TlsSessionResult? Combine(PostfixTlsSession session, TlsPolicyAnswer? answer)
    {
        ArgumentNullException.ThrowIfNull(session);
        if (answer?.PolicyFailure is { } failure)
        {
            return session.ToResult(answer.Policy, new TlsSessionFailure(failure, ReceivingMxHostname: session.MxHost, ReceivingIp: session.MxIp));
        }
        if (session.PolicyLookupError)
        {
            return null;
        }
        return session.ToResult(answer?.Policy ?? TlsSessionPolicy.NoPolicyFound);
    }

    /// <summary>Joins each session with its answer (looked up in <paramref name="answers"/> when there is one) and adds what counts to <paramref name="entries"/>.</summary>
    public static async Task AddEntriesAsync(IEnumerable<PostfixTlsSession> sessions, ITlsPolicyAnswerStore? answers, List<TlsSessionEntry> entries,
        CancellationToken cancellationToken)
    {
        foreach (var session in sessions)
        {
            var answer = answers is null ? null : await answers.FindAsync(session.ReportDomain, session.At, cancellationToken).ConfigureAwait(false);
            if (Combine(session, answer) is { } result)
            {
                entries.Add(new TlsSessionEntry(result, session.RecordKey));
            }
        }
    }
}

/// <summary>What a replay of Postfix logs counted (<c>rampart tlsrpt ingest-log</c>).</summary>
internal sealed class PostfixLogReplayOutcome
{
    public int Files { get; set; }
    public long Lines { get; set; }
    public long OversizedLines { get; set; }
    /// <summary>Sessions joined from the lines (before the policy join).</summary>
    public long Sessions { get; set; }
    /// <summary>Sessions that carried our own reports: never counted.</summary>
    public long OwnReports { get; set; }
    /// <summary>Sessions with a policy lookup error the daemon's answers do not explain: not counted.</summary>
    public long NotReportable { get; set; }
    /// <summary>Results newly added to the store (0 in a dry run).</summary>
    public long Counted { get; set; }
    /// <summary>Results the store had counted before (same record key).</summary>
    public long AlreadyCounted { get; set; }
    /// <summary>Results by <c>success</c> or the failure's result type.</summary>
    public SortedDictionary<string, long> ByResult { get; } = new(StringComparer.Ordinal);
    /// <summary>Results by UTC day.</summary>
    public SortedDictionary<DateOnly, long> ByDay { get; } = [];
    /// <summary>Every result, in log order (a dry run only).</summary>
    public List<TlsSessionResult> Results { get; } = [];
}

/// <summary>
/// Replays Postfix log files through the same reader and join as the daemon's follower (one reader across the files,
/// given oldest first, so a session whose lines straddle a rotation is whole), adding the results to the session
/// store under the log source, whose record keys make a replay idempotent (and harmless beside the follower).
/// </summary>
internal static class PostfixLogReplay
{
    /// <summary>Results added to the store per transaction.</summary>
    public const int Batch = 2000;

    /// <summary>Largest log file read (a rotated mail log is rarely a few GiB; the bound only refuses the absurd).</summary>
    public const long MaxFileBytes = 64L << 30;

    /// <summary>
    /// Reads <paramref name="stream"/> (a log file, gzip-compressed or not) to its end through <paramref name="reader"/>,
    /// adding to <paramref name="outcome"/>; into <paramref name="store"/> when given, else only into the outcome's results.
    /// </summary>
    public static async Task ReadAsync(Stream stream, DateTimeOffset reference, PostfixTlsLogReader reader, ITlsPolicyAnswerStore? answers,
        ITlsSessionStore? store, PostfixLogReplayOutcome outcome, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(outcome);
        var input = await GzipOrPlainAsync(stream, cancellationToken).ConfigureAwait(false);
        await using var inputScope = input.ConfigureAwait(false);
        var splitter = new LogLineSplitter(0);
        var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        var lines = new List<LogLine>();
        var sessions = new List<PostfixTlsSession>();
        var entries = new List<TlsSessionEntry>();
        var before = (reader.Counts.Sessions, reader.Counts.OwnReports);
        try
        {
            int read;
            while ((read = await input.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            {
                splitter.Add(buffer.AsSpan(0, read), lines);
                foreach (var line in lines)
                {
                    reader.Read(line.Text, line.Start, reference, sessions);
                }
                outcome.Lines += lines.Count;
                lines.Clear();
                var joined = entries.Count;
                await PostfixLogSessions.AddEntriesAsync(sessions, answers, entries, cancellationToken).ConfigureAwait(false);
                outcome.NotReportable += sessions.Count - (entries.Count - joined);
                sessions.Clear();
                if (entries.Count >= Batch)
                {
                    await FlushAsync(entries, store, outcome, cancellationToken).ConfigureAwait(false);
                }
            }
            await FlushAsync(entries, store, outcome, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        outcome.OversizedLines += splitter.Oversized;
        outcome.Sessions += reader.Counts.Sessions - before.Sessions;
        outcome.OwnReports += reader.Counts.OwnReports - before.OwnReports;
        outcome.Files++;
    }

    private static async Task FlushAsync(List<TlsSessionEntry> entries, ITlsSessionStore? store, PostfixLogReplayOutcome outcome, CancellationToken cancellationToken)
    {
        if (entries.Count == 0)
        {
            return;
        }
        foreach (var (result, _) in entries)
        {
            var label = TlsRptIntakeMetrics.ResultLabel(result);
            outcome.ByResult[label] = outcome.ByResult.GetValueOrDefault(label) + 1;
            outcome.ByDay[result.Day] = outcome.ByDay.GetValueOrDefault(result.Day) + 1;
            if (store is null)
            {
                outcome.Results.Add(result);
            }
        }
        if (store is not null)
        {
            var counted = await store.AddAsync(TlsSessionSources.Log, entries, cursor: null, cancellationToken).ConfigureAwait(false);
            outcome.Counted += counted;
            outcome.AlreadyCounted += entries.Count - counted;
        }
        entries.Clear();
    }

    /// <summary>The stream itself, or a decompressing one when it starts with gzip's magic bytes (a rotated <c>mail.log.2.gz</c>).</summary>
    private static async Task<Stream> GzipOrPlainAsync(Stream stream, CancellationToken cancellationToken)
    {
        var head = new byte[2];
        var got = 0;
        while (got < 2 && await stream.ReadAsync(head.AsMemory(got), cancellationToken).ConfigureAwait(false) is > 0 and var n)
        {
            got += n;
        }
        var start = new MemoryStream(head, 0, got, writable: false);
        var whole = new ConcatenatedStream(start, stream);
        return got == 2 && head[0] == 0x1f && head[1] == 0x8b ? new System.IO.Compression.GZipStream(whole, System.IO.Compression.CompressionMode.Decompress) : whole;
    }

    /// <summary>Reads one stream, then the other (the bytes taken to sniff gzip, then the rest).</summary>
    private sealed class ConcatenatedStream(Stream first, Stream second) : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();
        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var n = await first.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            return n > 0 ? n : await second.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
