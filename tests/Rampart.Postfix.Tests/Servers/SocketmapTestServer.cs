using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Rampart.Postfix.Socketmap;
using Rampart.Postfix.Tests.Support;

namespace Rampart.Postfix.Tests.Servers;

/// <summary>
/// A real Kestrel host running <see cref="SocketmapConnectionHandler"/> in process, on 127.0.0.1:0 ("tcp") or a fresh
/// Unix socket in the temp directory ("unix"), wired up exactly as the daemon does: DI, options, the transport
/// (UseSocketmapTransport), ListenSocketmap.
/// </summary>
internal sealed class SocketmapTestServer(WebApplication app, ListLoggerProvider logs, EndPoint endpoint, string? unixPath)
    : InProcessServer(app, logs, endpoint, unixPath)
{
    public static string NewUnixSocketPath() => Path.Combine(Path.GetTempPath(), $"rampart-sm-{Guid.NewGuid():N}.sock");

    public static async Task<SocketmapTestServer> StartAsync(
        string transport,
        ISocketmapResponder responder,
        Action<SocketmapOptions>? configure = null,
        TimeProvider? timeProvider = null,
        UnixFileMode? unixMode = null,
        string? unixPath = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        var logs = new ListLoggerProvider();
        builder.Logging.ClearProviders().AddProvider(logs).SetMinimumLevel(LogLevel.Trace);
        builder.Services.AddSocketmap();
        builder.Services.Configure<SocketmapOptions>(o => configure?.Invoke(o));
        builder.Services.AddSingleton(responder);
        if (timeProvider is not null)
        {
            builder.Services.AddSingleton(timeProvider);
        }

        var endpoint = transport switch
        {
            "tcp" => SocketmapEndpoint.Parse("127.0.0.1:0"),
            "unix" => SocketmapEndpoint.Unix(unixPath ?? NewUnixSocketPath(), unixMode),
            _ => throw new ArgumentOutOfRangeException(nameof(transport)),
        };
        ListenOptions? listen = null;
        builder.WebHost.UseSocketmapTransport();
        builder.WebHost.ConfigureKestrel(k => k.ListenSocketmap(endpoint, l => listen = l));
        var app = builder.Build();
        await app.StartAsync(TestContext.Current.CancellationToken);

        EndPoint bound = endpoint.UnixSocketPath is { } path ? new UnixDomainSocketEndPoint(path) : listen!.IPEndPoint!;
        return new SocketmapTestServer(app, logs, bound, endpoint.UnixSocketPath);
    }

    public Task<SocketmapTestClient> ConnectAsync() => SocketmapTestClient.ConnectAsync(EndPoint);
}
