using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;

namespace Rampart.Hosting.Listening;

/// <summary>
/// One listening socket's accept loop, for Kestrel (<see cref="AdmittingListenerFactory"/>):
/// <list type="bullet">
/// <item>a connection beyond the host's cap is accepted and closed at once (the client sees the close at once, instead
/// of waiting in the backlog until its own timeout), counted and logged once per interval;</item>
/// <item>an accept that fails for want of a descriptor or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM) waits
/// (<see cref="AcceptBackoff"/>: 10 ms doubling to 1 s) and tries again, logged once per interval; the loop never ends
/// on an error, which would leave Kestrel accepting nothing more on this address;</item>
/// <item>a peer that left while queued (reset, aborted) is skipped.</item>
/// </list>
/// </summary>
internal sealed class AdmittingConnectionListener(
    Socket socket, EndPoint endPoint, bool noDelay, SocketConnectionContextFactory connections,
    ConnectionAdmission admission, ConnectionAdmission.Listener counts, TimeProvider time) : IConnectionListener
{
    private readonly CancellationTokenSource _unbound = new();
    private readonly AcceptBackoff _backoff = new();

    public EndPoint EndPoint { get; } = endPoint;

    public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(_unbound.Token, cancellationToken);
        while (true)
        {
            Socket accepted;
            try
            {
                accepted = await socket.AcceptAsync(stop.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is ObjectDisposedException or OperationCanceledException
                                       || ex is SocketException { SocketErrorCode: SocketError.OperationAborted })
            {
                return null; // unbound or disposed: Kestrel ends this loop on null
            }
            catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted)
            {
                continue; // the peer left while in the backlog
            }
            catch (SocketException ex)
            {
                var delay = _backoff.Next();
                admission.AcceptFailed(counts, ex, delay);
                try
                {
                    await Task.Delay(delay, time, stop.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return null;
                }
                continue;
            }
            _backoff.Reset();
            if (!admission.TryAdmit())
            {
                admission.Refused(counts);
                accepted.Dispose();
                continue;
            }
            try
            {
                if (accepted.LocalEndPoint is IPEndPoint)
                {
                    accepted.NoDelay = noDelay;
                }
                return new AdmittedConnection(connections.Create(accepted), admission);
            }
            catch (SocketException)
            {
                admission.Release(); // reset before it could be set up
                accepted.Dispose();
            }
        }
    }

    public ValueTask UnbindAsync(CancellationToken cancellationToken = default)
    {
        _unbound.Cancel();
        socket.Dispose();
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        _unbound.Cancel();
        socket.Dispose();
        connections.Dispose();
        _unbound.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// A connection as the socket transport made it, giving its place under the cap back once Kestrel has disposed it
    /// (the connection's code has returned and the socket is closed), not when the peer merely stopped sending.
    /// </summary>
    private sealed class AdmittedConnection(ConnectionContext inner, ConnectionAdmission admission) : ConnectionContext
    {
        private int _released;

        public override IDuplexPipe Transport { get => inner.Transport; set => inner.Transport = value; }

        public override string ConnectionId { get => inner.ConnectionId; set => inner.ConnectionId = value; }

        public override IFeatureCollection Features => inner.Features;

        public override IDictionary<object, object?> Items { get => inner.Items; set => inner.Items = value; }

        public override CancellationToken ConnectionClosed { get => inner.ConnectionClosed; set => inner.ConnectionClosed = value; }

        public override EndPoint? LocalEndPoint { get => inner.LocalEndPoint; set => inner.LocalEndPoint = value; }

        public override EndPoint? RemoteEndPoint { get => inner.RemoteEndPoint; set => inner.RemoteEndPoint = value; }

        public override void Abort() => inner.Abort();

        public override void Abort(ConnectionAbortedException abortReason) => inner.Abort(abortReason);

        public override async ValueTask DisposeAsync()
        {
            try
            {
                await inner.DisposeAsync().ConfigureAwait(false);
                await base.DisposeAsync().ConfigureAwait(false);
            }
            finally
            {
                if (Interlocked.Exchange(ref _released, 1) == 0)
                {
                    admission.Release();
                }
            }
        }
    }
}
