using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Hosting;
using Rampart.Hosting.Logging;

namespace Rampart.Hosting.Listening;

/// <summary>What a listener is for, so that a failure to open it can say how to fix it.</summary>
/// <param name="Option">The option that chooses its address: --listen, --metrics.</param>
/// <param name="UsualOccupant">Who else usually holds such an address, as a question: "another rampart daemon or postfix-mta-sts-resolver?".</param>
/// <param name="HasUserOption">The command has --user: started as root it binds, then drops to that user.</param>
internal sealed record ListenerRole(string Option, string? UsualOccupant = null, bool HasUserOption = false);

/// <summary>Starts a host's listeners and turns a failure to bind one of them into one line: the address, the cause, the fix.</summary>
internal static class ListenerStartup
{
    /// <summary>
    /// Starts <paramref name="host"/> (its listeners must come from <see cref="AdmittingListenerFactory"/>); a bind
    /// failure becomes a <see cref="StartupException"/> described with the <paramref name="role"/> of its address.
    /// </summary>
    public static async Task StartAsync(IHost host, Func<EndPoint, ListenerRole> role, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(role);
        try
        {
            await host.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (Find(ex) is { } failed)
        {
            throw new StartupException(Describe(failed, role(failed.EndPoint)), failed);
        }
    }

    private static ListenFailedException? Find(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is ListenFailedException failed)
            {
                return failed;
            }
            if (e is AggregateException { InnerExceptions: [var first, ..] })
            {
                return Find(first);
            }
        }
        return null;
    }

    /// <summary>One line: <c>cannot listen on ADDRESS: CAUSE; FIX</c>.</summary>
    public static string Describe(ListenFailedException failure, ListenerRole role)
    {
        ArgumentNullException.ThrowIfNull(failure);
        ArgumentNullException.ThrowIfNull(role);
        var address = ListenFailedException.Describe(failure.EndPoint);
        var head = $"cannot listen on {address}: ";
        var ip = failure.EndPoint as IPEndPoint;
        return failure.Error switch
        {
            SocketError.AddressAlreadyInUse =>
                head + "address already in use" + (role.UsualOccupant is { } who ? $" ({who})" : "") +
                $"; stop what holds it or choose another address with {role.Option}",
            SocketError.AccessDenied when ip is { Port: < 1024 } =>
                head + "permission denied: ports below 1024 need root or the CAP_NET_BIND_SERVICE capability; " +
                (role.HasUserOption ? "start as root with --user USER (it binds, then runs as USER), or " : "start as root, or ") +
                "give it the capability (AmbientCapabilities=CAP_NET_BIND_SERVICE in the systemd unit, or setcap cap_net_bind_service=+ep on the executable), " +
                $"or choose a port from 1024 up with {role.Option}",
            SocketError.AccessDenied when failure.EndPoint is UnixDomainSocketEndPoint unix =>
                head + $"permission denied: user {UnixAccount.Current} cannot create the socket in {Path.GetDirectoryName(unix.ToString())}; " +
                $"create that directory for this user (e.g. RuntimeDirectory= in the systemd unit) or choose another path with {role.Option}",
            SocketError.AddressNotAvailable when ip is not null =>
                head + $"address not available: {ip.Address} is not an address of this host; choose one of its addresses (0.0.0.0 or [::] for all) with {role.Option}",
            _ => head + HostLogFormatter.OneLine(failure.InnerException?.Message ?? failure.Error.ToString()).TrimEnd('.') +
                 $"; choose another address with {role.Option}",
        };
    }
}
