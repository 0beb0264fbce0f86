using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Rampart.Core;
using Rampart.Core.TlsRpt;

namespace Rampart.Postfix.TlsRpt;

/// <summary>A file's identity on Linux (device and inode, from statx) and its size: what tells a rotated log from its successor.</summary>
internal readonly partial record struct LogFileIdentity(ulong Device, ulong Inode, long Size)
{
    /// <summary>The identity of <paramref name="path"/>, or null when it cannot be had (missing, not Linux).</summary>
    public static LogFileIdentity? Of(string path)
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }
        var buffer = new byte[256];
        const uint Mask = 0x100 | 0x200; // STATX_INO | STATX_SIZE
        if (Statx(-100, path, 0, Mask, buffer) != 0) // AT_FDCWD, follow links
        {
            return null;
        }
        var s = buffer.AsSpan();
        var device = ((ulong)BinaryPrimitives.ReadUInt32LittleEndian(s[136..]) << 32) | BinaryPrimitives.ReadUInt32LittleEndian(s[140..]);
        return new LogFileIdentity(device, BinaryPrimitives.ReadUInt64LittleEndian(s[32..]), (long)BinaryPrimitives.ReadUInt64LittleEndian(s[40..]));
    }

    public bool SameFile(LogFileIdentity other) => Device == other.Device && Inode == other.Inode;

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static partial int Statx(int dirfd, string path, int flags, uint mask, [Out] byte[] statxBuffer);
}

/// <summary>
/// The daemon's Postfix 3.7 source: follows the mail log (<c>tlsrpt_reporting.postfix_log</c>) as it grows, through the
/// same reader and policy join as <c>rampart tlsrpt ingest-log</c>, into the session store.
/// </summary>
/// <remarks>
/// <para>
/// <b>Rotation.</b> The file is polled (every <see cref="DefaultPoll"/>). When the path names another file (logrotate's
/// rename, then a new file), the old one is read to its end and the new one from its start; when the file shrank
/// (copytruncate), it is read again from its start. Lines are bounded (<see cref="LogLineSplitter.MaxLineBytes"/>), and
/// so is the reader's state of connections awaiting their delivery line.
/// </para>
/// <para>
/// <b>Exactly once across kill -9.</b> Each batch of results is added in one transaction together with the cursor (the
/// file's device and inode, the offset to restart from, and the queue ids of our own reports still in flight). The
/// offset is that of the oldest line still needed (a connection whose delivery line has not come), so a restart reads
/// every session whole; what it reads again is skipped by the store's record keys (a hash of the delivery line). A
/// restart after the file was rotated finds its cursor's inode no longer at the path and reads the new file from its
/// start (lines the old file got after the last commit are not read: at most one poll's worth).
/// </para>
/// </remarks>
internal sealed partial class PostfixLogFollower
{
    public static readonly TimeSpan DefaultPoll = TimeSpan.FromMilliseconds(250);
    private const int ReadChunk = 64 * 1024;

    private readonly TlsRptLogSettings _settings;
    private readonly ITlsSessionStore _store;
    private readonly ITlsPolicyAnswerStore? _answers;
    private readonly TlsRptIntakeMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly TimeSpan _poll;
    private readonly PostfixTlsLogReader _reader;
    private readonly TlsSessionStoreWriter _writer;
    private bool _missingLogged;

    public PostfixLogFollower(TlsRptLogSettings settings, ITlsSessionStore store, ITlsPolicyAnswerStore? answers, TlsRptIntakeMetrics metrics,
        TimeProvider time, ILogger log, TimeSpan? poll = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _settings = settings;
        _store = store;
        _answers = answers;
        _metrics = metrics;
        _time = time;
        _writer = new TlsSessionStoreWriter(store, TlsSessionSources.Log, metrics, time, log, LogStoreFault, LogStoreRecovered);
        _log = log;
        _poll = poll ?? DefaultPoll;
        _reader = new PostfixTlsLogReader(settings.SenderAddress);
    }

    /// <summary>The cursor: where to go on after a restart.</summary>
    internal sealed record Cursor(ulong Device, ulong Inode, long Offset, IReadOnlyList<string> Own)
    {
        public string Write()
        {
            var buffer = new ArrayBufferWriter<byte>(128);
            using (var w = new Utf8JsonWriter(buffer))
            {
                w.WriteStartObject();
                w.WriteString("dev", Device.ToString(CultureInfo.InvariantCulture));
                w.WriteString("ino", Inode.ToString(CultureInfo.InvariantCulture));
                w.WriteNumber("offset", Offset);
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
                return new Cursor(ulong.Parse(root.GetProperty("dev").GetString()!, CultureInfo.InvariantCulture),
                    ulong.Parse(root.GetProperty("ino").GetString()!, CultureInfo.InvariantCulture), root.GetProperty("offset").GetInt64(),
                    root.GetProperty("own").EnumerateArray().Select(e => e.GetString()!).ToList());
            }
            catch (Exception ex) when (ex is JsonException or FormatException or KeyNotFoundException or InvalidOperationException or OverflowException)
            {
                return null; // an unreadable cursor: start from the file's beginning (record keys skip what was counted)
            }
        }
    }

    /// <summary>Follows until <paramref name="stop"/>. Never throws but for a bug: a missing file or a store fault is logged and waited out.</summary>
    public async Task RunAsync(CancellationToken stop)
    {
        Cursor? cursor;
        try
        {
            cursor = Cursor.Read(await _store.ReadCursorAsync(TlsSessionSources.Log, stop).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            return;
        }
        catch (RampartException ex)
        {
            LogStoreFault(_log, ex.Message);
            cursor = null;
        }
        if (cursor is not null)
        {
            _reader.RememberOwnQueueIds(cursor.Own, _time.GetUtcNow());
        }
        FileStream? file = null;
        LogFileIdentity identity = default;
        LogLineSplitter? splitter = null;
        var buffer = new byte[ReadChunk];
        var lines = new List<LogLine>();
        var sessions = new List<PostfixTlsSession>();
        var entries = new List<TlsSessionEntry>();
        string? committed = null;
        try
        {
            while (!stop.IsCancellationRequested)
            {
                var current = LogFileIdentity.Of(_settings.Source);
                if (file is null)
                {
                    if (current is not { } now || Open() is not { } opened)
                    {
                        if (!_missingLogged)
                        {
                            _missingLogged = true;
                            LogMissing(_log, _settings.Source);
                        }
                        await DelayAsync(stop).ConfigureAwait(false);
                        continue;
                    }
                    _missingLogged = false;
                    (file, identity) = (opened, now);
                    var start = cursor is not null && now.Device == cursor.Device && now.Inode == cursor.Inode && cursor.Offset <= now.Size ? cursor.Offset : 0;
                    file.Seek(start, SeekOrigin.Begin);
                    splitter = new LogLineSplitter(start);
                    cursor = null;
                    LogFollowing(_log, _settings.Source, start);
                }
                var rotated = current is { } c && !c.SameFile(identity);
                if (!rotated && current is { } same && same.Size < splitter!.Position)
                {
                    // copytruncate: the same file, emptied and written again from its start.
                    file.Seek(0, SeekOrigin.Begin);
                    splitter.Reset(0);
                    LogTruncated(_log, _settings.Source);
                }
                int read;
                var any = false;
                while ((read = await file.ReadAsync(buffer, stop).ConfigureAwait(false)) > 0)
                {
                    any = true;
                    splitter!.Add(buffer.AsSpan(0, read), lines);
                    var reference = _time.GetUtcNow();
                    foreach (var line in lines)
                    {
                        _reader.Read(line.Text, line.Start, reference, sessions);
                    }
                    _metrics.RecordLogLines(lines.Count);
                    lines.Clear();
                    await PostfixLogSessions.AddEntriesAsync(sessions, _answers, entries, stop).ConfigureAwait(false);
                    sessions.Clear();
                    if (entries.Count >= PostfixLogReplay.Batch)
                    {
                        committed = await CommitAsync(entries, identity, splitter, committed, stop).ConfigureAwait(false);
                    }
                }
                if (any || entries.Count > 0)
                {
                    committed = await CommitAsync(entries, identity, splitter!, committed, stop).ConfigureAwait(false);
                }
                if (rotated)
                {
                    // The old file is read to its end (above); the new one from its start.
                    await file.DisposeAsync().ConfigureAwait(false);
                    file = null;
                    LogRotated(_log, _settings.Source);
                    continue;
                }
                await DelayAsync(stop).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        finally
        {
            if (file is not null)
            {
                await file.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private FileStream? Open()
    {
        try
        {
            return new FileStream(_settings.Source, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.SequentialScan);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Adds the entries with the cursor in one transaction, retrying a store fault every second until it clears or the stop.</summary>
    private async Task<string?> CommitAsync(List<TlsSessionEntry> entries, LogFileIdentity identity, LogLineSplitter splitter, string? committed, CancellationToken stop)
    {
        var offset = Math.Min(_reader.OldestPendingPosition ?? long.MaxValue, splitter.Position);
        var cursor = new Cursor(identity.Device, identity.Inode, offset, _reader.OwnQueueIds.ToList()).Write();
        if (entries.Count == 0 && cursor == committed)
        {
            return committed;
        }
        // Not counted at a stop while the store fails, and not lost: the cursor stays where it was, so a restart reads
        // these lines again.
        var (stored, _) = await _writer.AddAsync(entries, cursor, stop).ConfigureAwait(false);
        if (!stored)
        {
            throw new OperationCanceledException(stop); // the stop came while the store failed
        }
        entries.Clear();
        return cursor;
    }

    private Task DelayAsync(CancellationToken stop) => Task.Delay(_poll, _time, stop);

    [LoggerMessage(EventId = 370, Level = LogLevel.Information, Message = "TLS-RPT: following the Postfix log {Path} from byte {Offset}")]
    private static partial void LogFollowing(ILogger logger, string path, long offset);

    [LoggerMessage(EventId = 371, Level = LogLevel.Warning, Message = "TLS-RPT: the Postfix log {Path} cannot be opened (missing or unreadable); waiting for it")]
    private static partial void LogMissing(ILogger logger, string path);

    [LoggerMessage(EventId = 372, Level = LogLevel.Information, Message = "TLS-RPT: the Postfix log {Path} was rotated; reading the new file from its start")]
    private static partial void LogRotated(ILogger logger, string path);

    [LoggerMessage(EventId = 373, Level = LogLevel.Information, Message = "TLS-RPT: the Postfix log {Path} was truncated (copytruncate); reading it again from its start")]
    private static partial void LogTruncated(ILogger logger, string path);

    [LoggerMessage(EventId = 374, Level = LogLevel.Error, Message = "TLS-RPT sessions from the Postfix log cannot be stored, retrying every second: {Message}")]
    internal static partial void LogStoreFault(ILogger logger, string message);

    [LoggerMessage(EventId = 375, Level = LogLevel.Information, Message = "TLS-RPT sessions from the Postfix log are stored again in {Path}")]
    internal static partial void LogStoreRecovered(ILogger logger, string path);
}
