using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Rampart.Postfix.Socketmap;

/// <summary>
/// Hosting the socketmap server in Kestrel:
/// <code>
/// builder.Services.AddSocketmap();                                  // options "Socketmap", validated on start
/// builder.Services.AddSingleton&lt;ISocketmapResponder, MyResponder&gt;();
/// builder.WebHost.UseSocketmapTransport();                          // Kestrel's socket transport, tuned
/// builder.WebHost.ConfigureKestrel(k => k.ListenSocketmap(SocketmapEndpoint.Parse("unix:/run/rampart/socketmap.sock")
///     with { UnixSocketMode = (UnixFileMode)0b110_110_000 }));
/// </code>
/// </summary>
internal static class SocketmapServerExtensions
{
    /// <summary>Registers <see cref="SocketmapOptions"/> bound from the <c>Socketmap</c> section, validated on start.</summary>
    public static OptionsBuilder<SocketmapOptions> AddSocketmap(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddSingleton<IValidateOptions<SocketmapOptions>, SocketmapOptionsValidator>();
        return services.AddOptions<SocketmapOptions>().BindConfiguration(SocketmapOptions.SectionName).ValidateOnStart();
    }

    /// <summary>
    /// Kestrel's socket transport as the socketmap server wants it: every connection's work (socket completions, the
    /// connection's code, its sends) goes to the thread pool as it comes, and any idle thread takes it, so no connection
    /// waits behind another's. Whatever pins a connection to one serial runner makes Postfix's connections wait for each
    /// other: inline completions on the socket event threads (p99 14 ms at 32 connections against the peer's 1.7 ms), and
    /// less so Kestrel's own I/O queues (two here, each running its connections' work in turn), which
    /// <c>IOQueueCount = 0</c> replaces with the thread pool (docs/benchmarks.md §4, run J).
    /// </summary>
    public static IWebHostBuilder UseSocketmapTransport(this IWebHostBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.UseSockets(o =>
        {
            o.IOQueueCount = 0;
            // Read straight into a buffer instead of first waiting for data with a zero-byte read: one receive system
            // call per request instead of two. The cost is a pooled 4 KiB block held by each idle connection.
            o.WaitForDataBeforeAllocatingBuffer = false;
            // Back-pressure on a peer that sends without reading (SocketmapConnectionBounds) instead of Kestrel's 1 MiB
            // of input and 64 KiB of output per connection. The transport is shared with /metrics, which fits.
            o.MaxWriteBufferSize = SocketmapConnectionBounds.OutputBytes;
        }).ConfigureServices(services =>
        {
            services.AddOptions<SocketTransportOptions>().Configure<IOptions<SocketmapOptions>>((transport, socketmap) =>
                transport.MaxReadBufferSize = SocketmapConnectionBounds.InputBytes(socketmap.Value));
            // Memory goes back once a burst of connections has closed: ConnectionAdmission (the admitting transport).
        });
    }

    /// <summary>
    /// Listens on <paramref name="endpoint"/> with <see cref="SocketmapConnectionHandler"/> (resolved from DI: it needs an
    /// <see cref="ISocketmapResponder"/>, <c>IOptions&lt;SocketmapOptions&gt;</c>, and uses a registered
    /// <see cref="TimeProvider"/> if there is one). For a Unix socket it removes a stale socket file first (and refuses
    /// to if a server still answers on it), and applies <see cref="SocketmapEndpoint.UnixSocketMode"/> once the host
    /// has started (<see cref="IHostApplicationLifetime.ApplicationStarted"/>); without a host, call
    /// <see cref="ApplyUnixSocketMode"/> yourself after the server has started.
    /// </summary>
    /// <param name="configure">Extra listen options; also a way to read the bound port after start.</param>
    public static void ListenSocketmap(this KestrelServerOptions options, SocketmapEndpoint endpoint, Action<ListenOptions>? configure = null) =>
        options.ListenWith<SocketmapConnectionHandler>(endpoint, configure);

    /// <summary>
    /// Listens on <paramref name="endpoint"/> (TCP, <c>localhost</c> or a Unix socket, as <see cref="ListenSocketmap"/>
    /// does: stale socket files removed, mode and owner applied once the host has started) with the connection handler
    /// <typeparamref name="THandler"/>, resolved from DI.
    /// </summary>
    internal static void ListenWith<[System.Diagnostics.CodeAnalysis.DynamicallyAccessedMembers(System.Diagnostics.CodeAnalysis.DynamicallyAccessedMemberTypes.PublicConstructors)] THandler>(
        this KestrelServerOptions options, SocketmapEndpoint endpoint, Action<ListenOptions>? configure = null)
        where THandler : ConnectionHandler
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(endpoint);
        void Setup(ListenOptions listen)
        {
            listen.UseConnectionHandler<THandler>();
            configure?.Invoke(listen);
        }

        var log = options.ApplicationServices?.GetService<ILoggerFactory>()?.CreateLogger(typeof(SocketmapConnectionHandler))
            ?? NullLogger.Instance;
        if (endpoint.UnixSocketPath is { } path)
        {
            RemoveStaleUnixSocket(path, log);
            options.ListenUnixSocket(path, Setup);
            if ((endpoint.UnixSocketMode is not null || endpoint.UnixSocketOwner is not null)
                && options.ApplicationServices?.GetService<IHostApplicationLifetime>() is { } lifetime)
            {
                lifetime.ApplicationStarted.Register(() => ApplyUnixSocketMode(endpoint, log));
            }
        }
        else if (endpoint.IsLocalhost)
        {
            options.ListenLocalhost(endpoint.Port, Setup);
        }
        else
        {
            options.Listen(endpoint.IPEndPoint!, Setup);
        }
    }

    /// <summary>
    /// Serves socketmap on a listening socket this process inherited as file descriptor <paramref name="descriptor"/>
    /// (systemd socket activation: <see cref="SystemdActivation"/>), TCP or Unix, already bound and with its mode set.
    /// </summary>
    public static void ListenSocketmapDescriptor(this KestrelServerOptions options, int descriptor)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.ListenHandle((ulong)descriptor, listen => listen.UseConnectionHandler<SocketmapConnectionHandler>());
    }

    /// <summary>Sets the Unix socket file's mode and owner, if the endpoint has them. Call after Kestrel has bound the socket.</summary>
    public static void ApplyUnixSocketMode(SocketmapEndpoint endpoint, ILogger? log = null)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        if (endpoint is { UnixSocketPath: { } socket, UnixSocketOwner: { } owner } && !OperatingSystem.IsWindows())
        {
            if (!Rampart.Hosting.UnixAccount.TryResolve(owner, null, out var account, out var error))
            {
                throw new InvalidOperationException($"socket owner '{owner}' of {socket}: {error}");
            }
            account.Own(socket);
        }
        if (endpoint is { UnixSocketPath: { } path, UnixSocketMode: { } mode } && !OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, mode);
            SocketmapLog.SocketModeSet(log ?? NullLogger.Instance, path, mode);
        }
    }

    /// <summary>
    /// Deletes a socket file left by a process that died. Refuses when a server still accepts on it, or when the path is
    /// a directory or a non-empty file (not a socket we should remove).
    /// </summary>
    internal static void RemoveStaleUnixSocket(string path, ILogger log)
    {
        switch (UnixSocketFile.Inspect(path, SocketType.Stream))
        {
            case UnixSocketFileState.Directory:
                throw new InvalidOperationException($"Socket path '{path}' is a directory.");
            case UnixSocketFileState.File:
                throw new InvalidOperationException($"Socket path '{path}' is a regular file, not a stale socket; refusing to delete it.");
            case UnixSocketFileState.InUse:
                throw new InvalidOperationException($"Another process is serving on socket '{path}'.");
            case UnixSocketFileState.Stale:
                File.Delete(path);
                SocketmapLog.StaleSocketRemoved(log, path);
                break;
        }
    }
}
