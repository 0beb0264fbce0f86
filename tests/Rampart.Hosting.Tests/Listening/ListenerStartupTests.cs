using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;
using Rampart.Hosting.Listening;

namespace Rampart.Hosting.Tests.Listening;

public sealed class ListenerStartupTests
{
    private static readonly ListenerRole s_socketmap = new("--listen", "another rampart daemon or postfix-mta-sts-resolver?", HasUserOption: true);

    private static ListenFailedException Failed(EndPoint endPoint, SocketError error) => new(endPoint, error, new SocketException((int)error));

    [Fact]
    public void Describe_AddressNotAvailable_SaysItIsNotThisHostsAddress()
    {
        Assert.Equal("cannot listen on 192.0.2.1:8461: address not available: 192.0.2.1 is not an address of this host; " +
                     "choose one of its addresses (0.0.0.0 or [::] for all) with --listen",
            ListenerStartup.Describe(Failed(IPEndPoint.Parse("192.0.2.1:8461"), SocketError.AddressNotAvailable), s_socketmap));
    }

    [Fact]
    public void Describe_PermissionDeniedWithoutUserOption_NoUserAdvice()
    {
        var line = ListenerStartup.Describe(Failed(IPEndPoint.Parse("127.0.0.1:80"), SocketError.AccessDenied), new ListenerRole("--metrics"));

        Assert.Contains("CAP_NET_BIND_SERVICE", line, StringComparison.Ordinal);
        Assert.DoesNotContain("--user", line, StringComparison.Ordinal);
        Assert.EndsWith("or choose a port from 1024 up with --metrics", line, StringComparison.Ordinal);
    }

    [Fact]
    public void Describe_UnixSocketPermissionDenied_NamesTheDirectory()
    {
        var line = ListenerStartup.Describe(Failed(new UnixDomainSocketEndPoint("/run/rampart/socketmap.sock"), SocketError.AccessDenied), s_socketmap);

        Assert.StartsWith("cannot listen on unix:/run/rampart/socketmap.sock: permission denied: user ", line, StringComparison.Ordinal);
        Assert.Contains("cannot create the socket in /run/rampart;", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StartAsync_PortHeld_StartupExceptionNamingTheAddress()
    {
        using var busy = new TcpListener(IPAddress.Loopback, 0);
        busy.Start();
        var builder = Microsoft.AspNetCore.Builder.WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen((IPEndPoint)busy.LocalEndpoint));
        AdmittingListenerFactory.Install(builder.Services);
        await using var app = builder.Build();

        var error = await Assert.ThrowsAsync<StartupException>(() => ListenerStartup.StartAsync(app, _ => s_socketmap, TestContext.Current.CancellationToken));

        Assert.Equal($"cannot listen on {busy.LocalEndpoint}: address already in use (another rampart daemon or postfix-mta-sts-resolver?); " +
                     "stop what holds it or choose another address with --listen", error.Message);
    }
}
