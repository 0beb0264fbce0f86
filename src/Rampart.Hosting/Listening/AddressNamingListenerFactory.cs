using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection;

namespace Rampart.Hosting.Listening;

/// <summary>
/// Kestrel's socket transport, with every bind failure turned into a <see cref="ListenFailedException"/> that names the
/// address it was for. Kestrel itself names it only for "address in use", and only inside its message; a refused bind
/// (a port below 1024 without the capability) or an address this host does not have reaches the host as a bare
/// SocketException, and with several listeners (socketmap and /metrics) nothing says which one failed.
/// </summary>
internal sealed class AddressNamingListenerFactory(IConnectionListenerFactory inner) : IConnectionListenerFactory, IConnectionListenerFactorySelector
{
    public async ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        try
        {
            return await inner.BindAsync(endpoint, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not ListenFailedException && ListenFailedException.SocketErrorOf(ex) is { } error)
        {
            throw new ListenFailedException(endpoint, error, ex);
        }
    }

    public bool CanBind(EndPoint endpoint) => inner is not IConnectionListenerFactorySelector selector || selector.CanBind(endpoint);

    /// <summary>
    /// Wraps the socket transport registered in <paramref name="services"/> (Kestrel's default, or UseSockets'). Call
    /// after the transport is chosen and before the host is built.
    /// </summary>
    public static void Install(IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        for (var i = 0; i < services.Count; i++)
        {
            if (services[i].ServiceType == typeof(IConnectionListenerFactory) && services[i].ImplementationType == typeof(SocketTransportFactory))
            {
                services[i] = ServiceDescriptor.Singleton<IConnectionListenerFactory>(sp =>
                    new AddressNamingListenerFactory(ActivatorUtilities.CreateInstance<SocketTransportFactory>(sp)));
            }
        }
    }
}
