using System.Buffers;
using System.Net.Sockets;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Rampart.Core;
using Rampart.Core.TlsRpt;
using Rampart.Hosting;

namespace Rampart.Postfix.TlsRpt;

/// <summary><c>tlsrpt_reporting:</c> settings of the datagram intake.</summary>
/// <param name="DatagramSocket">Absolute path of the Unix datagram socket Postfix's <c>smtp_tlsrpt_socket_name</c> names.</param>
internal sealed record TlsRptIntakeSettings(string DatagramSocket)
{
    /// <summary>The default mode: Postfix's smtp processes (user postfix) must be able to write to the socket.</summary>
    public const UnixFileMode DefaultMode = (UnixFileMode)0b110_110_110;

    /// <summary>File mode of the socket (write permission is what lets a process send to it).</summary>
    public UnixFileMode Mode { get; init; } = DefaultMode;

    /// <summary>USER[:GROUP] the socket file is given to (needs root); null = the daemon's user.</summary>
    public string? Owner { get; init; }
}

/// <summary>
/// The Postfix 3.10+ TLS-RPT intake: a Unix datagram socket speaking libtlsrpt's protocol (what tlsrpt-collectd
/// receives), counting each session result in the <see cref="ITlsSessionStore"/>.
/// </summary>
/// <remarks>
/// <para>
/// A thread of its own receives: it copies each datagram into a pooled buffer and queues it, nothing more, so the
/// socket's small kernel queue (<c>net.unix.max_dgram_qlen</c> datagrams: 10 by the kernel's default, 512 where systemd
/// sets it) is drained at once: libtlsrpt sends with MSG_DONTWAIT and a full queue loses the datagram at the sender. A
/// task reads what is queued, parses it and adds it to the store in one transaction per batch: what arrives within
/// <see cref="DefaultLinger"/> of the first, up to <see cref="MaxBatch"/>. When <see cref="QueueCapacity"/> datagrams
/// wait for the store, receiving pauses until there is room.
/// </para>
/// <para>
/// <b>At most once.</b> Nothing identifies a datagram (no id, no time; two alike datagrams are two sessions), and the
/// kernel hands each over once, so a session is counted when its batch commits, and only then shows in the metrics. A
/// kill loses what was received but not yet committed (the batch gathering or being written and the queue behind it)
/// and what sat in the socket's queue; it never counts a session twice. A store fault keeps the batch and tries again
/// every second; while it lasts the queue fills and receiving pauses. A stop commits what is queued.
/// </para>
/// </remarks>
internal sealed partial class TlsRptDatagramCollector : IDisposable
{
    /// <summary>The most datagrams added to the store in one transaction.</summary>
    public const int MaxBatch = 4096;

    /// <summary>The most datagrams queued between the socket and the store (about 6 MiB of buffers at 1.5 KiB each).</summary>
    public const int QueueCapacity = 4 * MaxBatch;

    /// <summary>How long a batch gathers before its commit: the most a kill can lose of traffic already received.</summary>
    public static readonly TimeSpan DefaultLinger = TimeSpan.FromMilliseconds(10);

    private static readonly TimeSpan s_receivePoll = TimeSpan.FromSeconds(1);

    private readonly Socket _socket;
    private readonly TlsRptIntakeMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly Channel<Received> _queue = Channel.CreateBounded<Received>(
        new BoundedChannelOptions(QueueCapacity) { SingleReader = true, SingleWriter = true, FullMode = BoundedChannelFullMode.Wait });
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> _kindsLogged = new(StringComparer.Ordinal);
    private int _fullLogged;
    private readonly TimeSpan _linger;
    private readonly TlsSessionStoreWriter _writer;

    private TlsRptDatagramCollector(Socket socket, string path, ITlsSessionStore store, TlsRptIntakeMetrics metrics, TimeProvider time, ILogger log, TimeSpan linger)
    {
        _linger = linger;
        _socket = socket;
        Path = path;
        _metrics = metrics;
        _writer = new TlsSessionStoreWriter(store, TlsSessionSources.Datagram, metrics, time, log, LogStoreFault, LogStoreRecovered);
        _time = time;
        _log = log;
    }

    /// <summary>The socket's path.</summary>
    public string Path { get; }

    /// <summary>
    /// Binds the socket (removing a stale socket file a dead collector left; refusing when another process is bound
    /// there or the path is not a socket) and gives it its mode and owner.
    /// </summary>
    /// <exception cref="StartupException">The socket cannot be bound; the message is one line saying why and what to do.</exception>
    /// <param name="linger">How long a batch gathers after its first datagram (default <see cref="DefaultLinger"/>; zero: commit at once).</param>
    public static TlsRptDatagramCollector Bind(TlsRptIntakeSettings settings, ITlsSessionStore store, TlsRptIntakeMetrics metrics, TimeProvider time, ILogger log,
        TimeSpan? linger = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (OperatingSystem.IsWindows())
        {
            throw new StartupException("tlsrpt_reporting.datagram_socket: Unix datagram sockets need Linux or another Unix");
        }
        var path = settings.DatagramSocket;
        RemoveStale(path);
        var directory = System.IO.Path.GetDirectoryName(path);
        if (!string.IsNullOrEmpty(directory) && !Directory.Exists(directory))
        {
            try
            {
                Directory.CreateDirectory(directory, (UnixFileMode)0b111_101_101);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new StartupException($"tlsrpt_reporting.datagram_socket: cannot create the directory '{directory}': {ex.Message}");
            }
        }
        var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        try
        {
            socket.Bind(new UnixDomainSocketEndPoint(path));
            socket.ReceiveTimeout = (int)s_receivePoll.TotalMilliseconds;
            if (settings.Owner is { } owner)
            {
                if (!UnixAccount.TryResolve(owner, null, out var account, out var error))
                {
                    throw new StartupException($"tlsrpt_reporting.datagram_socket_owner '{owner}': {error}");
                }
                account.Own(path);
            }
            File.SetUnixFileMode(path, settings.Mode);
        }
        catch (Exception ex) when (ex is SocketException or IOException or UnauthorizedAccessException)
        {
            socket.Dispose();
            throw new StartupException($"tlsrpt_reporting.datagram_socket '{path}': cannot bind: {ex.Message}; check that this user may create it there");
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        return new TlsRptDatagramCollector(socket, path, store, metrics, time, log, linger ?? DefaultLinger);
    }

    /// <summary>Receives and counts until <paramref name="stop"/>; then counts what was queued and returns. Never throws but for a bug.</summary>
    public async Task RunAsync(CancellationToken stop)
    {
        var writing = WriteAsync(stop);
        var receiving = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // Its own thread, not the thread pool: a busy pool (socketmap lookups) must not leave the socket's queue full.
        var thread = new Thread(() =>
        {
            try
            {
                ReceiveLoop(stop);
                receiving.SetResult();
            }
            catch (Exception ex)
            {
                receiving.SetException(ex);
            }
        })
        { IsBackground = true, Name = "tlsrpt-datagrams" };
        // A blocked receive returns at once when the socket is shut down (Linux), else within the receive timeout.
        using var wake = stop.Register(() =>
        {
            try
            {
                _socket.Shutdown(SocketShutdown.Receive);
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
            }
        });
        thread.Start();
        try
        {
            await receiving.Task.ConfigureAwait(false);
        }
        finally
        {
            _queue.Writer.TryComplete();
            await writing.ConfigureAwait(false);
        }
    }

    public void Dispose()
    {
        _socket.Dispose();
        try
        {
            File.Delete(Path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Privileges dropped: the next start removes the stale file.
        }
    }

    private readonly record struct Received(byte[] Buffer, int Length, DateTimeOffset At);

    private void ReceiveLoop(CancellationToken stop)
    {
        // One byte more than the largest datagram read: a datagram that fills it is oversized (the kernel cut it).
        var size = LibTlsRptDatagram.MaxBytes + 1;
        var buffer = ArrayPool<byte>.Shared.Rent(size);
        try
        {
            while (!stop.IsCancellationRequested)
            {
                int length;
                try
                {
                    length = _socket.Receive(buffer, 0, size, SocketFlags.None);
                }
                catch (SocketException ex) when (ex.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock or SocketError.Interrupted)
                {
                    continue; // the receive timeout: look at stop again
                }
                catch (SocketException ex) when (ex.SocketErrorCode == SocketError.MessageSize)
                {
                    length = size; // cut by the kernel: read as oversized
                }
                catch (SocketException ex)
                {
                    if (stop.IsCancellationRequested)
                    {
                        return;
                    }
                    LogReceiveError(_log, Path, ex.Message);
                    stop.WaitHandle.WaitOne(TlsSessionStoreWriter.RetryDelay);
                    continue;
                }
                if (length == 0 && stop.IsCancellationRequested)
                {
                    return; // shut down for the stop
                }
                var copy = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
                buffer.AsSpan(0, length).CopyTo(copy);
                var received = new Received(copy, length, _time.GetUtcNow());
                if (!_queue.Writer.TryWrite(received) && !WaitForRoom(received, stop))
                {
                    ArrayPool<byte>.Shared.Return(copy);
                    return;
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// The queue to the store is full: stops receiving until there is room (the socket's own queue fills meanwhile, and
    /// then libtlsrpt's MSG_DONTWAIT sends fail at Postfix). Receiving what cannot be stored would only take the CPU
    /// the store needs. False when stopped first.
    /// </summary>
    private bool WaitForRoom(Received received, CancellationToken stop)
    {
        if (Interlocked.Exchange(ref _fullLogged, 1) == 0)
        {
            LogQueueFull(_log, QueueCapacity);
        }
        _metrics.RecordPause();
        try
        {
            while (!_queue.Writer.TryWrite(received))
            {
                if (!_queue.Writer.WaitToWriteAsync(stop).AsTask().GetAwaiter().GetResult())
                {
                    return false;
                }
            }
            return true;
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            return false;
        }
    }

    private async Task WriteAsync(CancellationToken stop)
    {
        var batch = new List<Received>(MaxBatch);
        var readings = new List<DatagramReading>(MaxBatch);
        var entries = new List<TlsSessionEntry>(MaxBatch);
        var reader = _queue.Reader;
        while (await reader.WaitToReadAsync(CancellationToken.None).ConfigureAwait(false)) // drained to the end after a stop
        {
            if (_linger > TimeSpan.Zero && reader.Count < MaxBatch)
            {
                // Let a batch gather: one commit for many datagrams (a commit costs far more than a datagram).
                await Task.Delay(_linger, _time, CancellationToken.None).ConfigureAwait(false);
            }
            while (batch.Count < MaxBatch && reader.TryRead(out var received))
            {
                batch.Add(received);
            }
            var accepted = 0;
            foreach (var received in batch)
            {
                var reading = LibTlsRptDatagram.Read(received.Buffer.AsSpan(0, received.Length), received.At);
                ArrayPool<byte>.Shared.Return(received.Buffer);
                readings.Add(reading);
                foreach (var problem in reading.Problems)
                {
                    LogOnce(problem.Kind, problem.Detail);
                }
                foreach (var result in reading.Results)
                {
                    entries.Add(new TlsSessionEntry(result));
                }
                accepted += reading.Rejected ? 0 : 1;
            }
            batch.Clear();
            var stored = entries.Count == 0 || await StoreAsync(entries, accepted, stop).ConfigureAwait(false);
            entries.Clear();
            // Counted once the batch is committed: a datagram shown as accepted is stored (a lost one counts as dropped).
            foreach (var reading in readings.Where(r => stored || r.Rejected))
            {
                _metrics.RecordDatagram(reading);
            }
            readings.Clear();
        }
    }

    /// <summary>
    /// Adds the batch (a store fault is retried every second, logged once); when the stop comes while the store fails,
    /// gives up: false, and the batch's datagrams are counted dropped.
    /// </summary>
    private async Task<bool> StoreAsync(List<TlsSessionEntry> entries, int datagrams, CancellationToken stop)
    {
        var (stored, fault) = await _writer.AddAsync(entries, cursor: null, stop).ConfigureAwait(false);
        if (!stored)
        {
            _metrics.RecordDropped(datagrams);
            LogLostAtStop(_log, entries.Count, fault!);
        }
        return stored;
    }

    private void LogOnce(string kind, string detail)
    {
        if (_kindsLogged.TryAdd(kind, true))
        {
            LogProblem(_log, kind, DisplayText.Sanitize(detail));
        }
    }

    /// <summary>A stale socket file (its collector died) is removed; a live one, a directory or a file is refused.</summary>
    private static void RemoveStale(string path)
    {
        switch (UnixSocketFile.Inspect(path, SocketType.Dgram))
        {
            case UnixSocketFileState.Directory:
                throw new StartupException($"tlsrpt_reporting.datagram_socket '{path}' is a directory; name a socket file in it");
            case UnixSocketFileState.File:
                throw new StartupException($"tlsrpt_reporting.datagram_socket '{path}' is a file, not a socket; move it aside or name another path");
            case UnixSocketFileState.InUse:
                throw new StartupException($"tlsrpt_reporting.datagram_socket '{path}': another process is bound to it (tlsrpt-collectd, or a second rampart daemon?); stop it or name another path");
            case UnixSocketFileState.Stale:
                File.Delete(path);
                break;
        }
    }

    [LoggerMessage(EventId = 360, Level = LogLevel.Warning,
        Message = "TLS-RPT datagram {Kind}: {Detail}; further ones of this kind are counted in rampart_tlsrpt_datagram_problems_total, not logged")]
    private static partial void LogProblem(ILogger logger, string kind, string detail);

    [LoggerMessage(EventId = 361, Level = LogLevel.Error, Message = "TLS-RPT sessions cannot be stored, retrying every second: {Message}")]
    private static partial void LogStoreFault(ILogger logger, string message);

    [LoggerMessage(EventId = 362, Level = LogLevel.Information, Message = "TLS-RPT sessions are stored again in {Path}")]
    private static partial void LogStoreRecovered(ILogger logger, string path);

    [LoggerMessage(EventId = 363, Level = LogLevel.Error, Message = "stopping: {Count} TLS-RPT session results could not be stored and are lost: {Message}")]
    private static partial void LogLostAtStop(ILogger logger, int count, string message);

    [LoggerMessage(EventId = 365, Level = LogLevel.Warning,
        Message = "TLS-RPT datagrams arrive faster than they can be stored: {Capacity} are waiting, so receiving pauses until there is room (Postfix loses what does not fit in the socket's queue); later pauses are counted in rampart_tlsrpt_receive_pauses_total, not logged")]
    private static partial void LogQueueFull(ILogger logger, int capacity);

    [LoggerMessage(EventId = 364, Level = LogLevel.Warning, Message = "TLS-RPT datagram socket {Path}: receive failed, trying again in a second: {Message}")]
    private static partial void LogReceiveError(ILogger logger, string path, string message);
}
