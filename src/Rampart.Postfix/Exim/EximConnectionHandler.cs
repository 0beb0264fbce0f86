using System.IO.Pipelines;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Rampart.Hosting.Listening;

namespace Rampart.Postfix.Exim;

/// <summary>
/// The Exim line listener's side of one connection (docs/exim.md, "The protocol"): read one request line, write one
/// reply line, close. It only reads, dispatches and writes:
/// <list type="bullet">
/// <item>the line ends at its newline, or where the client shut down its sending half (Exim's <c>${readsocket}</c> does
///   so after writing); bytes after the first line are ignored: one request per connection;</item>
/// <item>a line over <see cref="EximRequestLine.MaxBytes"/>, not UTF-8, with control characters or empty is answered
///   <c>tempfail …</c> (Exim defers; never a policy it could read as weaker), logged at most once per 10 s;</item>
/// <item>a client that sends no line within <see cref="EximLineOptions.ReadTimeout"/>, or does not take its reply within
///   <see cref="EximLineOptions.WriteTimeout"/>, is closed; a lookup slower than <see cref="EximLineOptions.RequestTimeout"/>
///   is answered <c>tempfail lookup timed out</c>, and a throwing responder <c>tempfail internal error</c>.</item>
/// </list>
/// The connection is admitted (or refused at the cap) by the daemon's transport like every listener's
/// (<see cref="AdmittingListenerFactory"/>).
/// </summary>
internal sealed class EximConnectionHandler : ConnectionHandler
{
    /// <summary>Bytes read and dropped after the reply, at most (see <see cref="DrainAsync"/>).</summary>
    private const int DrainBytes = 64 * 1024;

    /// <summary>How long the reply's close waits for such a client to stop sending, at most.</summary>
    private static readonly TimeSpan s_drainTime = TimeSpan.FromMilliseconds(250);

    private static readonly TimeSpan s_badRequestLogInterval = TimeSpan.FromSeconds(10);
    private static readonly EximReply s_tooLong = EximReply.Tempfail("request line too long");
    private static readonly EximReply s_timedOut = EximReply.Tempfail("lookup timed out");
    private static readonly EximReply s_internalError = EximReply.Tempfail("internal error");

    private readonly IEximResponder _responder;
    private readonly EximLineOptions _options;
    private readonly ILogger _log;
    private readonly TimeProvider _time;
    private readonly IntervalGate _badRequestLines;

    public EximConnectionHandler(
        IEximResponder responder,
        IOptions<EximLineOptions> options,
        ILogger<EximConnectionHandler> log,
        TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(responder);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(log);
        _responder = responder;
        _options = options.Value;
        _log = log;
        _time = timeProvider ?? TimeProvider.System;
        _badRequestLines = new IntervalGate(_time, s_badRequestLogInterval);
    }

    public override async Task OnConnectedAsync(ConnectionContext connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var id = connection.ConnectionId;
        var input = connection.Transport.Input;
        try
        {
            var (reply, unread) = await ReadAndAnswerAsync(id, input).ConfigureAwait(false);
            if (reply is not null)
            {
                await WriteAsync(id, connection.Transport.Output, reply).ConfigureAwait(false);
                if (unread)
                {
                    await DrainAsync(input).ConfigureAwait(false);
                }
            }
        }
        catch (ConnectionResetException)
        {
            // The client went away before its reply: nothing to answer.
        }
        catch (IOException ex)
        {
            EximLog.TransportError(_log, id, ex);
        }
    }

    /// <summary>
    /// The reply to send, or null when there is none to give (no line in time, or no line at all); <c>Unread</c>: the
    /// client sent more than its line and has not shut down its sending half, so more may still come.
    /// </summary>
    private async Task<(EximReply? Reply, bool Unread)> ReadAndAnswerAsync(string id, PipeReader input)
    {
        using var reading = new CancellationTokenSource(_options.ReadTimeout, _time);
        while (true)
        {
            ReadResult read;
            try
            {
                read = await input.ReadAsync(reading.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (reading.IsCancellationRequested)
            {
                EximLog.ReadTimedOut(_log, id, _options.ReadTimeout);
                return (null, false);
            }
            var buffer = read.Buffer;
            var peerDone = read.IsCompleted || read.IsCanceled;
            var status = EximRequestLine.TryRead(buffer, peerDone, out var line, out var more);
            var unread = !peerDone && (more || status == EximLineStatus.TooLong);
            string? key = null, error = null;
            if (status == EximLineStatus.Complete && !EximRequestLine.TryParse(line, out key, out error))
            {
                key = null;
            }
            // Nothing after the first line is ever read: consume all that arrived.
            input.AdvanceTo(status == EximLineStatus.Incomplete ? buffer.Start : buffer.End, buffer.End);
            switch (status)
            {
                case EximLineStatus.Incomplete:
                    continue;
                case EximLineStatus.Empty:
                    return (null, false);
                case EximLineStatus.TooLong:
                    return (BadRequest(id, $"request line longer than {EximRequestLine.MaxBytes} bytes", s_tooLong), unread);
            }
            return (key is null
                ? BadRequest(id, error!, EximReply.Tempfail("malformed request: " + error))
                : await AnswerAsync(id, key).ConfigureAwait(false), unread);
        }
    }

    private EximReply BadRequest(string id, string problem, EximReply reply)
    {
        if (_badRequestLines.TryPass(out var count))
        {
            EximLog.BadRequest(_log, id, problem, reply.Text, count);
        }
        return reply;
    }

    private async Task<EximReply> AnswerAsync(string id, string key)
    {
        using var lookup = new CancellationTokenSource();
        EximReply reply;
        try
        {
            var pending = _responder.RespondAsync(key, lookup.Token);
            reply = pending.IsCompletedSuccessfully
                ? pending.Result
                : await pending.AsTask().WaitAsync(_options.RequestTimeout, _time).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            await lookup.CancelAsync().ConfigureAwait(false);
            EximLog.RequestTimedOut(_log, id, key, _options.RequestTimeout);
            reply = s_timedOut;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            EximLog.ResponderFailed(_log, id, key, ex);
            reply = s_internalError;
        }
        reply ??= s_internalError;
        EximLog.Answered(_log, id, key, reply.Text);
        return reply;
    }

    /// <summary>
    /// Reads what a client that sent more than its line still sends (a line past the limit, a second request) until it
    /// shuts down its sending half,
    /// at most <see cref="DrainBytes"/> or <see cref="s_drainTime"/>: closing a socket with unread input
    /// makes the kernel reset the connection, and the client could lose the reply already sent.
    /// </summary>
    private async Task DrainAsync(PipeReader input)
    {
        using var draining = new CancellationTokenSource(s_drainTime, _time);
        long drained = 0;
        try
        {
            while (drained < DrainBytes)
            {
                var read = await input.ReadAsync(draining.Token).ConfigureAwait(false);
                drained += read.Buffer.Length;
                input.AdvanceTo(read.Buffer.End);
                if (read.IsCompleted || read.IsCanceled)
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (draining.IsCancellationRequested)
        {
        }
    }

    private async Task WriteAsync(string id, PipeWriter output, EximReply reply)
    {
        using var writing = new CancellationTokenSource(_options.WriteTimeout, _time);
        try
        {
            await output.WriteAsync(reply.Encoded, writing.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (writing.IsCancellationRequested)
        {
            EximLog.WriteTimedOut(_log, id, _options.WriteTimeout);
        }
    }
}
