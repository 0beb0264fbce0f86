using System.Net.Sockets;

namespace Rampart.Lab.Tests.Servers;

/// <summary>The accept loop of the lab's small test servers: every connection to <c>onClient</c> until <c>stop</c>.</summary>
internal static class TcpAcceptLoop
{
    /// <summary>Accepts until <paramref name="stop"/> is cancelled; a failed accept before that is skipped, not fatal.</summary>
    public static async Task RunAsync(TcpListener listener, Action<TcpClient> onClient, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await listener.AcceptTcpClientAsync(stop);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                if (stop.IsCancellationRequested)
                {
                    return;
                }

                continue;
            }

            onClient(client);
        }
    }
}
