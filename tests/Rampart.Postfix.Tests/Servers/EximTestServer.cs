using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Rampart.Hosting.Listening;
using Rampart.Postfix.Exim;
using Rampart.Postfix.Socketmap;
using Rampart.Postfix.Tests.Support;

namespace Rampart.Postfix.Tests.Servers;

/// <summary>
/// A real Kestrel host running <see cref="EximConnectionHandler"/> in process on 127.0.0.1:0 or a fresh Unix socket,
/// wired as the daemon does: the socketmap transport, the admitting listener factory, AddEximLine, ListenExim.
/// </summary>
internal sealed class EximTestServer(WebApplication app, ListLoggerProvider logs, EndPoint endpoint, string? unixPath)
    : InProcessServer(app, logs, endpoint, unixPath)
{
    public static async Task<EximTestServer> StartAsync(string transport, IEximResponder responder, Action<EximLineOptions>? configure = null,
        int? maxConnections = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        var logs = new ListLoggerProvider();
        builder.Logging.ClearProviders().AddProvider(logs).SetMinimumLevel(LogLevel.Debug);
        builder.Services.AddSocketmap();
        builder.Services.AddEximLine(configure);
        builder.Services.AddSingleton(responder);
        var endpoint = transport switch
        {
            "tcp" => SocketmapEndpoint.Parse("127.0.0.1:0"),
            "unix" => SocketmapEndpoint.Unix(SocketmapTestServer.NewUnixSocketPath()),
            _ => throw new ArgumentOutOfRangeException(nameof(transport)),
        };
        ListenOptions? listen = null;
        builder.WebHost.UseSocketmapTransport();
        AdmittingListenerFactory.Install(builder.Services, maxConnections);
        builder.WebHost.ConfigureKestrel(k => k.ListenExim(endpoint, l => listen = l));
        var app = builder.Build();
        await app.StartAsync(TestContext.Current.CancellationToken);
        EndPoint bound = endpoint.UnixSocketPath is { } path ? new System.Net.Sockets.UnixDomainSocketEndPoint(path) : listen!.IPEndPoint!;
        return new EximTestServer(app, logs, bound, endpoint.UnixSocketPath);
    }
}
