using System.Buffers;
using System.IO.Pipelines;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Rampart.Postfix.Socketmap;

/// <summary>
/// The socketmap server side of one Kestrel connection (socketmap_table(5)). It only reads, dispatches and writes:
/// <list type="bullet">
/// <item>every complete netstring in a read is answered in order (pipelining), replies flushed once per batch;</item>
/// <item>bad framing is a connection fault: log and close this connection only;</item>
/// <item>a malformed request (not UTF-8, control characters, no key) gets <c>PERM malformed request</c> and the
///   connection stays up; the first one on a connection is logged as a warning, the others only counted (one warning
///   with the count when the connection closes), so a peer cannot flood the log;</item>
/// <item>a peer that sends requests without reading the replies is held by back-pressure
///   (<see cref="SocketmapConnectionBounds"/>);</item>
/// <item>each lookup has a deadline (<see cref="SocketmapOptions.RequestTimeout"/>) → <c>TEMP lookup timed out</c>;
///   a throwing responder → <c>TEMP internal error</c>; a reply over 100000 bytes was built as <c>TEMP reply too long</c>
///   (<see cref="SocketmapReply"/>) and is logged as an error here;</item>
/// <item>connections are kept for reuse (Postfix reuses them and drops them itself after 10 s idle) until the peer
///   closes, the server shuts down, or no progress is made for <see cref="SocketmapOptions.IdleTimeout"/>.</item>
/// </list>
/// Keys are passed to <see cref="ISocketmapResponder"/> exactly as received; normalising them
/// (<see cref="SocketmapKey"/>) is the responder's job.
/// </summary>
internal sealed class SocketmapConnectionHandler : ConnectionHandler
{
    /// <summary>Replies written before a flush within one batch of pipelined requests (SocketmapConnectionBounds).</summary>
    private const int FlushThreshold = SocketmapConnectionBounds.OutputBytes;

    /// <summary>Requests answered on one connection before it lets the others run (see the read loop; 4 rather than 16:
    /// a new lookup during a 600-connection flood waits p50 23–28 ms instead of 53, docs/benchmarks.md §10).</summary>
    private const int RepliesPerTurn = 4;

    private static readonly SocketmapReply s_malformed = SocketmapReply.Perm("malformed request");
    private static readonly SocketmapReply s_timedOut = SocketmapReply.Temp("lookup timed out");
    private static readonly SocketmapReply s_internalError = SocketmapReply.Temp("internal error");

    private readonly ISocketmapResponder _responder;
    private readonly SocketmapOptions _options;
    private readonly ILogger _log;
    private readonly TimeProvider _time;

    public SocketmapConnectionHandler(
        ISocketmapResponder responder,
        IOptions<SocketmapOptions> options,
        ILogger<SocketmapConnectionHandler> log,
        TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(responder);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(log);
        _responder = responder;
        _options = options.Value;
        _log = log;
        _time = timeProvider ?? TimeProvider.System;
    }

    public override async Task OnConnectedAsync(ConnectionContext connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var id = connection.ConnectionId;
        var closeRequested = connection.Features.Get<IConnectionLifetimeNotificationFeature>()?.ConnectionClosedRequested
            ?? CancellationToken.None;

        // "stall" fires when the peer makes no progress (sends nothing, or does not take our replies) for IdleTimeout.
        // Neither the reads, the lookups nor the flushes listen to ConnectionClosed: it fires when the peer shuts down
        // its sending half, and a client that sends its requests and then half-closes (a script, a monitoring check)
        // still gets every reply it asked for. A peer that is really gone shows as a completed flush instead.
        using var stall = new CancellationTokenSource(Timeout.InfiniteTimeSpan, _time);
        using var progress = CancellationTokenSource.CreateLinkedTokenSource(stall.Token, closeRequested);
        using var lookups = new LookupScope(closeRequested);
        SocketmapConnectionBounds.ApplyTo(connection);
        var input = connection.Transport.Input;
        var output = connection.Transport.Output;
        long requests = 0, malformed = 0;
        int answeredThisTurn = 0;
        string reason = "peer closed";
        SocketmapLog.ConnectionOpened(_log, id, connection.RemoteEndPoint);
        try
        {
            while (true)
            {
                stall.CancelAfter(_options.IdleTimeout);
                var reading = input.ReadAsync(progress.Token);
                if (!reading.IsCompleted)
                {
                    answeredThisTurn = 0; // waiting for the peer lets every other connection run
                }
                var read = await reading.ConfigureAwait(false);
                stall.CancelAfter(Timeout.InfiniteTimeSpan);

                var buffer = read.Buffer;
                bool badFrame = false;
                try
                {
                    while (Netstring.TryRead(ref buffer, _options.MaxRequestBytes, out var frame))
                    {
                        requests++;
                        var reply = await AnswerAsync(id, frame, lookups, firstMalformed: malformed == 0).ConfigureAwait(false);
                        if (ReferenceEquals(reply, s_malformed))
                        {
                            malformed++;
                        }
                        Netstring.Write(output, reply.Encoded);
                        bool turnOver = ++answeredThisTurn >= RepliesPerTurn;
                        if ((turnOver || (output.CanGetUnflushedBytes && output.UnflushedBytes >= FlushThreshold))
                            && !await FlushAsync(output, stall, progress.Token).ConfigureAwait(false))
                        {
                            return;
                        }
                        if (turnOver)
                        {
                            // A peer with many requests queued (pipelining, or a flood) gets its answers in turns, in
                            // the one lane for such peers: every other connection runs beside it, and lookups made one
                            // at a time (Postfix's) never wait behind thousands.
                            answeredThisTurn = 0;
                            await PipelinedTurns.NextAsync();
                        }
                    }

                    if (read.IsCompleted && !buffer.IsEmpty)
                    {
                        SocketmapLog.IncompleteFrameAtClose(_log, id, buffer.Length);
                    }
                }
                catch (NetstringFormatException ex)
                {
                    SocketmapLog.BadFrame(_log, id, ex.Message);
                    (badFrame, reason) = (true, "bad framing");
                }
                finally
                {
                    input.AdvanceTo(buffer.Start, buffer.End);
                }

                // Replies to the frames before a bad one still go out.
                if (!await FlushAsync(output, stall, progress.Token).ConfigureAwait(false) || badFrame)
                {
                    return;
                }

                if (read.IsCompleted || read.IsCanceled)
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (stall.IsCancellationRequested)
        {
            SocketmapLog.IdleTimeout(_log, id, _options.IdleTimeout);
            reason = "idle";
        }
        catch (OperationCanceledException) when (closeRequested.IsCancellationRequested)
        {
            reason = "server shutting down";
        }
        catch (OperationCanceledException)
        {
            reason = "aborted";
        }
        catch (IOException ex)
        {
            SocketmapLog.TransportError(_log, id, ex);
            reason = "transport error";
        }
        finally
        {
            if (malformed > 1)
            {
                SocketmapLog.MalformedRequests(_log, id, malformed);
            }
            SocketmapLog.ConnectionClosed(_log, id, requests, reason);
        }
    }

    /// <summary>Flushes; false when the peer is gone. A peer that never takes our replies counts as idle.</summary>
    private async ValueTask<bool> FlushAsync(PipeWriter output, CancellationTokenSource stall, CancellationToken token)
    {
        stall.CancelAfter(_options.IdleTimeout);
        var result = await output.FlushAsync(token).ConfigureAwait(false);
        stall.CancelAfter(Timeout.InfiniteTimeSpan);
        return !result.IsCompleted && !result.IsCanceled;
    }

    private async ValueTask<SocketmapReply> AnswerAsync(string id, ReadOnlySequence<byte> frame, LookupScope scope, bool firstMalformed)
    {
        if (!SocketmapRequest.TryParse(frame, out var request, out var error))
        {
            if (firstMalformed)
            {
                SocketmapLog.MalformedRequest(_log, id, error);
            }
            else
            {
                SocketmapLog.MalformedRequestAgain(_log, id, error);
            }
            return s_malformed;
        }

        // A cached answer comes back synchronously: no deadline timer, no task, no thread switch for it.
        var pending = Start(id, request, scope.Token, out var failed);
        var reply = failed ?? (pending.IsCompletedSuccessfully
            ? pending.Result ?? ReturnedNull(id, request)
            : await WaitAsync(id, request, pending.AsTask(), scope).ConfigureAwait(false));
        if (reply.RefusedBytes > 0)
        {
            SocketmapLog.ReplyTooLong(_log, id, request.MapName, request.Key, reply.RefusedBytes, SocketmapReply.MaxBytes);
        }

        SocketmapLog.Answered(_log, id, request.MapName, request.Key, reply.Text);
        return reply;
    }

    /// <summary>Starts the lookup; a responder that throws before returning gives <c>TEMP internal error</c> in <paramref name="failed"/>.</summary>
    private ValueTask<SocketmapReply> Start(string id, SocketmapRequest request, CancellationToken token, out SocketmapReply? failed)
    {
        failed = null;
        try
        {
            return _responder.RespondAsync(request.MapName, request.Key, token);
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            SocketmapLog.ResponderFailed(_log, id, request.MapName, request.Key, ex);
            failed = s_internalError;
            return default;
        }
    }

    /// <summary>A lookup that did not finish at once: waits for it up to <see cref="SocketmapOptions.RequestTimeout"/>.</summary>
    private async Task<SocketmapReply> WaitAsync(string id, SocketmapRequest request, Task<SocketmapReply> lookup, LookupScope scope)
    {
        try
        {
            return await lookup.WaitAsync(_options.RequestTimeout, _time, scope.Closed).ConfigureAwait(false)
                ?? ReturnedNull(id, request);
        }
        catch (TimeoutException ex) when (!ReferenceEquals(ex, lookup.Exception?.InnerException))
        {
            // Our deadline, not the responder's own TimeoutException: cancel the lookup and let it finish unobserved.
            await scope.CancelAsync().ConfigureAwait(false);
            _ = lookup.ContinueWith(static t => _ = t.Exception, CancellationToken.None,
                TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            SocketmapLog.RequestTimedOut(_log, id, request.MapName, request.Key, _options.RequestTimeout);
            return s_timedOut;
        }
        catch (OperationCanceledException) when (scope.Closed.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            SocketmapLog.ResponderFailed(_log, id, request.MapName, request.Key, ex);
            return s_internalError;
        }
    }

    private SocketmapReply ReturnedNull(string id, SocketmapRequest request)
    {
        SocketmapLog.ResponderFailed(_log, id, request.MapName, request.Key,
            new InvalidOperationException($"{_responder.GetType().Name} returned null"));
        return s_internalError;
    }

    /// <summary>
    /// The cancellation token lookups on one connection get: cancelled when the connection closes, or when a lookup
    /// overruns its deadline (then a fresh one serves the next lookups). One per connection, not one per lookup.
    /// </summary>
    private sealed class LookupScope(CancellationToken closed) : IDisposable
    {
        private CancellationTokenSource _source = CancellationTokenSource.CreateLinkedTokenSource(closed);

        public CancellationToken Closed { get; } = closed;

        public CancellationToken Token => _source.Token;

        public async Task CancelAsync()
        {
            var overrun = _source;
            _source = CancellationTokenSource.CreateLinkedTokenSource(Closed);
            await overrun.CancelAsync().ConfigureAwait(false);
            overrun.Dispose();
        }

        public void Dispose() => _source.Dispose();
    }
}
