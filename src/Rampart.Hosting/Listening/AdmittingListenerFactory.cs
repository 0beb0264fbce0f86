using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Rampart.Hosting.Logging;

namespace Rampart.Hosting.Listening;

/// <summary>
/// The socket transport of every Rampart host, in place of Kestrel's: the same sockets and connections (Kestrel's
/// <see cref="SocketTransportOptions"/> and <see cref="SocketConnectionContextFactory"/>), with its own accept loop
/// (<see cref="AdmittingConnectionListener"/>) that holds the host to its <see cref="ConnectionAdmission"/> cap and
/// outlives a full descriptor table. Kestrel's own loop cannot: on any socket error but "aborted" it calls accept again
/// at once, so at the open-files limit it spins on EMFILE until the runtime itself cannot get a descriptor and aborts.
/// A bind failure becomes a <see cref="ListenFailedException"/> naming its address: Kestrel names it only for
/// "address in use", and with several listeners (socketmap and /metrics) nothing else says which one failed.
/// </summary>
internal sealed class AdmittingListenerFactory(
    SocketTransportOptions options, ConnectionAdmission admission, TimeProvider time, ILoggerFactory loggers)
    : IConnectionListenerFactory, IConnectionListenerFactorySelector
{
    public ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        Socket? socket = null;
        try
        {
            socket = options.CreateBoundListenSocket(endpoint);
            socket.Listen(options.Backlog);
        }
        catch (Exception ex) when (ListenFailedException.SocketErrorOf(ex) is { } error)
        {
            socket?.Dispose();
            throw new ListenFailedException(endpoint, error, ex);
        }
        var bound = socket.LocalEndPoint ?? endpoint;
        var connections = new SocketConnectionContextFactory(
            new SocketConnectionFactoryOptions
            {
                IOQueueCount = options.IOQueueCount,
                WaitForDataBeforeAllocatingBuffer = options.WaitForDataBeforeAllocatingBuffer,
                MaxReadBufferSize = options.MaxReadBufferSize,
                MaxWriteBufferSize = options.MaxWriteBufferSize,
                UnsafePreferInlineScheduling = options.UnsafePreferInlineScheduling,
            },
            loggers.CreateLogger("Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets"));
        var listener = new AdmittingConnectionListener(socket, bound, options.NoDelay, connections,
            admission, admission.Register(ListenFailedException.Describe(bound)), time);
        return ValueTask.FromResult<IConnectionListener>(listener);
    }

    /// <summary>What Kestrel's socket transport binds: IP, Unix socket, an inherited descriptor (systemd).</summary>
    public bool CanBind(EndPoint endpoint) => endpoint is IPEndPoint or UnixDomainSocketEndPoint or FileHandleEndPoint;

    /// <summary>
    /// Puts this transport in place of the socket transport registered in <paramref name="services"/> (Kestrel's
    /// default, or UseSockets' with its options), with a <see cref="ConnectionAdmission"/> of at most
    /// <paramref name="maxConnections"/> connections (null: the default from the open-files limit). Call after the
    /// transport is chosen and before the host is built; the host's /metrics gets the counts from the
    /// <see cref="ConnectionAdmission"/> in its services.
    /// </summary>
    public static void Install(IServiceCollection services, int? maxConnections = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddSingleton(sp => new ConnectionAdmission(maxConnections, sp.GetService<TimeProvider>() ?? TimeProvider.System,
            sp.GetRequiredService<ILoggerFactory>().CreateLogger(LogComponents.Listener)));
        for (var i = 0; i < services.Count; i++)
        {
            if (services[i].ServiceType == typeof(IConnectionListenerFactory) && services[i].ImplementationType == typeof(SocketTransportFactory))
            {
                services[i] = ServiceDescriptor.Singleton<IConnectionListenerFactory>(sp => new AdmittingListenerFactory(
                    sp.GetRequiredService<IOptions<SocketTransportOptions>>().Value,
                    sp.GetRequiredService<ConnectionAdmission>(),
                    sp.GetService<TimeProvider>() ?? TimeProvider.System,
                    sp.GetRequiredService<ILoggerFactory>()));
            }
        }
    }
}
