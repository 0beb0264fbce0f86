using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Rampart.Core;
using Rampart.Core.TlsRpt;
using Rampart.Hosting;

namespace Rampart.Postfix.TlsRpt;

/// <summary>How the journal is read: the journalctl program and, for tests, arguments naming other journal files.</summary>
/// <param name="Journalctl">The program (a name looked up on PATH, or a path).</param>
/// <param name="ExtraArguments">Arguments before the daemon's own (e.g. <c>--directory=DIR</c>); none for the system journal.</param>
internal sealed record JournalSource(string Journalctl, IReadOnlyList<string> ExtraArguments)
{
    /// <summary>The system journal, read by journalctl from PATH.</summary>
    public static readonly JournalSource System = new("journalctl", []);

    /// <summary>The journalctl that would run: its full path, or null when it is not there.</summary>
    public string? Find()
    {
        if (Journalctl.Contains('/', StringComparison.Ordinal))
        {
            return File.Exists(Journalctl) ? Journalctl : null;
        }
        return (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, Journalctl)).FirstOrDefault(File.Exists);
    }

    /// <summary>Refuses to start without journalctl: one line saying what to install.</summary>
    /// <exception cref="StartupException">journalctl is not there.</exception>
    public string Require() => Find() ?? throw new StartupException(
        $"tlsrpt_reporting.postfix_log: journal: {Journalctl} is not found{(Journalctl.Contains('/', StringComparison.Ordinal) ? "" : " on PATH")}; " +
        "install systemd's journalctl, or name the mail log file rsyslog writes (/var/log/mail.log)");
}

/// <summary>
/// The daemon's Postfix 3.7 source when <c>tlsrpt_reporting.postfix_log</c> is <c>journal</c>: follows the systemd
/// journal through <c>journalctl --follow --output=json</c>, filtered to the mail facility (<c>SYSLOG_FACILITY=2</c>:
/// every Postfix process, whatever its syslog_name), and reads each entry as the line <c>journalctl -o
/// short-iso-precise</c> would print, through the same reader and policy join as the file follower.
/// </summary>
/// <remarks>
/// <para>
/// <b>Exactly once across restarts.</b> Each batch is added in one transaction with the cursor: the journal cursor after
/// which to go on (<c>--after-cursor</c>), which is that of the entry before the oldest one still needed (a connection
/// whose delivery line has not come), and our own reports' queue ids in flight. A restart reads every session whole;
/// what it reads again has the same record key (a hash of the line, whose microsecond time and pid make it unique) and
/// is skipped. The first start, with no cursor, reads the journal from the start of the current UTC day.
/// </para>
/// <para>
/// When journalctl exits (the journal rotated away under it, a crash), it is started again after a second from the
/// last committed cursor. Entries longer than <see cref="LogLineSplitter.MaxLineBytes"/> of JSON are skipped.
/// </para>
/// </remarks>
internal sealed partial class PostfixJournalFollower
{
    private const int ReadChunk = 64 * 1024;
    private static readonly TimeSpan s_restartDelay = TimeSpan.FromSeconds(1);

    private readonly JournalSource _source;
    private readonly ITlsPolicyAnswerStore? _answers;
    private readonly ITlsSessionStore _store;
    private readonly TlsRptIntakeMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly PostfixTlsLogReader _reader;
    private readonly TlsSessionStoreWriter _writer;

    public PostfixJournalFollower(TlsRptLogSettings settings, JournalSource source, ITlsSessionStore store, ITlsPolicyAnswerStore? answers,
        TlsRptIntakeMetrics metrics, TimeProvider time, ILogger log)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _source = source;
        _store = store;
        _answers = answers;
        _metrics = metrics;
        _time = time;
        _log = log;
        // Journal times carry their zone; the reader's zone only reads traditional timestamps, which these are not.
        _reader = new PostfixTlsLogReader(settings.SenderAddress, TimeZoneInfo.Utc);
        _writer = new TlsSessionStoreWriter(store, TlsSessionSources.Log, metrics, time, log, PostfixLogFollower.LogStoreFault, PostfixLogFollower.LogStoreRecovered);
    }

    /// <summary>The cursor: where to go on after a restart (after <see cref="After"/>, or from <see cref="Since"/>).</summary>
    internal sealed record Cursor(string? After, DateTimeOffset Since, IReadOnlyList<string> Own)
    {
        public string Write()
        {
            var buffer = new ArrayBufferWriter<byte>(256);
            using (var w = new Utf8JsonWriter(buffer))
            {
                w.WriteStartObject();
                w.WriteString("journal_after", After);
                w.WriteString("journal_since", Since.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture));
                w.WriteStartArray("own");
                foreach (var id in Own)
                {
                    w.WriteStringValue(id);
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }
            return Encoding.UTF8.GetString(buffer.WrittenSpan);
        }

        /// <summary>The cursor <see cref="Write"/> wrote; null for none, one of the file follower, or one that does not read.</summary>
        public static Cursor? Read(string? text)
        {
            if (text is null)
            {
                return null;
            }
            try
            {
                using var doc = JsonDocument.Parse(text);
                var root = doc.RootElement;
                if (!root.TryGetProperty("journal_since", out var since))
                {
                    return null; // the file follower's (postfix_log was a file): start anew
                }
                return new Cursor(root.GetProperty("journal_after").GetString(),
                    DateTimeOffset.Parse(since.GetString()!, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind),
                    root.GetProperty("own").EnumerateArray().Select(e => e.GetString()!).ToList());
            }
            catch (Exception ex) when (ex is JsonException or FormatException or KeyNotFoundException or InvalidOperationException)
            {
                return null;
            }
        }
    }

    /// <summary>One journal entry as the line <c>journalctl -o short-iso-precise</c> prints, and its cursor; null when it is not a process's line.</summary>
    internal static (string Line, string Cursor)? ReadEntry(string json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            var root = doc.RootElement;
            if (!root.TryGetProperty("__CURSOR", out var cursor) || cursor.ValueKind != JsonValueKind.String
                || !root.TryGetProperty("__REALTIME_TIMESTAMP", out var realtime)
                || !long.TryParse(realtime.GetString(), NumberStyles.None, CultureInfo.InvariantCulture, out var micros)
                || Text(root, "MESSAGE") is not { } message || Text(root, "SYSLOG_IDENTIFIER") is not { } identifier
                || (Text(root, "SYSLOG_PID") ?? Text(root, "_PID")) is not { } pid)
            {
                return null;
            }
            var at = DateTimeOffset.UnixEpoch.AddTicks(micros * 10);
            var host = Text(root, "_HOSTNAME") ?? "localhost";
            // Line ends inside a message would split it for the reader: a journal entry is one line.
            message = message.ReplaceLineEndings(" ");
            return (string.Create(CultureInfo.InvariantCulture, $"{at:yyyy-MM-ddTHH:mm:ss.ffffff}+00:00 {host} {identifier}[{pid}]: {message}"), cursor.GetString()!);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>A string field; a field journald stored as bytes (not UTF-8) is a number array, read as UTF-8 with U+FFFD.</summary>
    private static string? Text(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var value))
        {
            return null;
        }
        if (value.ValueKind == JsonValueKind.String)
        {
            return value.GetString();
        }
        if (value.ValueKind == JsonValueKind.Array && value.EnumerateArray().All(e => e.ValueKind == JsonValueKind.Number))
        {
            return Encoding.UTF8.GetString(value.EnumerateArray().Select(e => e.TryGetByte(out var b) ? b : (byte)'?').ToArray());
        }
        return null;
    }

    /// <summary>The arguments journalctl is started with, going on from <paramref name="cursor"/>.</summary>
    internal IReadOnlyList<string> Arguments(Cursor cursor)
    {
        var args = new List<string>(_source.ExtraArguments)
        {
            "--follow", "--output=json", "--no-pager", "--quiet", "--lines=all", "--output-fields=MESSAGE,SYSLOG_IDENTIFIER,SYSLOG_PID,_PID,_HOSTNAME",
        };
        args.Add(cursor.After is { } after
            ? "--after-cursor=" + after
            : "--since=" + cursor.Since.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) + " UTC");
        args.Add("SYSLOG_FACILITY=2");
        return args;
    }

    /// <summary>Follows until <paramref name="stop"/>. Never throws but for a bug: a failing journalctl or store is logged and waited out.</summary>
    public async Task RunAsync(CancellationToken stop)
    {
        Cursor? stored = null;
        try
        {
            stored = Cursor.Read(await _store.ReadCursorAsync(TlsSessionSources.Log, stop).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            return;
        }
        catch (RampartException ex)
        {
            PostfixLogFollower.LogStoreFault(_log, ex.Message);
        }
        var now = _time.GetUtcNow();
        var cursor = stored ?? new Cursor(null, new DateTimeOffset(now.UtcDateTime.Date, TimeSpan.Zero), []);
        _reader.RememberOwnQueueIds(cursor.Own, now);
        var committed = cursor.Write();
        try
        {
            while (!stop.IsCancellationRequested)
            {
                cursor = await FollowAsync(cursor, committed, c => committed = c, stop).ConfigureAwait(false);
                await Task.Delay(s_restartDelay, _time, stop).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    /// <summary>Runs one journalctl from <paramref name="from"/> until it exits or the stop; returns the cursor last committed.</summary>
    private async Task<Cursor> FollowAsync(Cursor from, string committed, Action<string> onCommit, CancellationToken stop)
    {
        var start = new ProcessStartInfo(_source.Find() ?? _source.Journalctl)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in Arguments(from))
        {
            start.ArgumentList.Add(arg);
        }
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException("not started");
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            LogJournalctlFailed(_log, _source.Journalctl, ex.Message);
            return from;
        }
        using var _ = process;
        LogFollowing(_log, from.After is null ? "since " + from.Since.ToString("O", CultureInfo.InvariantCulture) : "after its cursor");
        var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
        using var kill = stop.Register(() =>
        {
            try
            {
                process.Kill();
            }
            catch (InvalidOperationException)
            {
            }
        });
        // Positions are entries in this run; each maps to the cursor after which it is read again.
        var before = new SortedDictionary<long, string?>();
        var lastCursor = from.After;
        long next = 0;
        var splitter = new LogLineSplitter(0);
        var buffer = new byte[ReadChunk];
        var lines = new List<LogLine>();
        var sessions = new List<PostfixTlsSession>();
        var entries = new List<TlsSessionEntry>();
        var current = from;
        var stdout = process.StandardOutput.BaseStream;
        int read;
        try
        {
            while ((read = await stdout.ReadAsync(buffer, stop).ConfigureAwait(false)) > 0)
            {
                splitter.Add(buffer.AsSpan(0, read), lines);
                var reference = _time.GetUtcNow();
                foreach (var line in lines)
                {
                    if (ReadEntry(line.Text) is not { } entry)
                    {
                        continue;
                    }
                    var (text, entryCursor) = entry;
                    before[next] = lastCursor;
                    _reader.Read(text, next, reference, sessions);
                    lastCursor = entryCursor;
                    next++;
                }
                _metrics.RecordLogLines(lines.Count);
                lines.Clear();
                await PostfixLogSessions.AddEntriesAsync(sessions, _answers, entries, stop).ConfigureAwait(false);
                sessions.Clear();
                // Go on after the entry before the oldest still needed, or after the last one read.
                var oldest = _reader.OldestPendingPosition;
                var after = oldest is { } o && before.TryGetValue(o, out var c) ? c : lastCursor;
                foreach (var key in before.Keys.TakeWhile(k => k < (oldest ?? next)).ToList())
                {
                    before.Remove(key);
                }
                current = new Cursor(after, from.Since, _reader.OwnQueueIds.ToList());
                var written = current.Write();
                if (entries.Count == 0 && written == committed)
                {
                    continue;
                }
                var (stored, _) = await _writer.AddAsync(entries, written, stop).ConfigureAwait(false);
                if (!stored)
                {
                    throw new OperationCanceledException(stop); // the stop came while the store failed: the cursor stays
                }
                entries.Clear();
                committed = written;
                onCommit(committed);
            }
        }
        finally
        {
            if (!process.HasExited)
            {
                try
                {
                    process.Kill();
                }
                catch (InvalidOperationException)
                {
                }
            }
        }
        await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
        var error = (await stderr.ConfigureAwait(false)).Trim();
        LogJournalctlExited(_log, process.ExitCode, DisplayText.Sanitize(error.Length == 0 ? "no message" : error.ReplaceLineEndings(" ")));
        return Cursor.Read(committed) ?? from;
    }

    [LoggerMessage(EventId = 376, Level = LogLevel.Information, Message = "TLS-RPT: following the systemd journal (mail facility) {From}")]
    private static partial void LogFollowing(ILogger logger, string from);

    [LoggerMessage(EventId = 377, Level = LogLevel.Warning, Message = "TLS-RPT: journalctl exited ({Code}: {Message}); starting it again in a second from the last counted entry")]
    private static partial void LogJournalctlExited(ILogger logger, int code, string message);

    [LoggerMessage(EventId = 378, Level = LogLevel.Error, Message = "TLS-RPT: {Program} cannot be started ({Message}); trying again in a second")]
    private static partial void LogJournalctlFailed(ILogger logger, string program, string message);
}
