using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Rampart.Postfix.Socketmap;

namespace Rampart.Postfix.Exim;

/// <summary>
/// Hosting the Exim line listener in Kestrel, beside the socketmap listener and on the same transport:
/// <code>
/// builder.Services.AddEximLine();
/// builder.Services.AddSingleton&lt;IEximResponder, MyResponder&gt;();
/// builder.WebHost.ConfigureKestrel(k => k.ListenExim(SocketmapEndpoint.Parse("unix:/run/rampart/exim.sock:0666")));
/// </code>
/// </summary>
internal static class EximServerExtensions
{
    /// <summary>Registers <see cref="EximLineOptions"/> (their defaults; <paramref name="configure"/> changes them).</summary>
    public static IServiceCollection AddEximLine(this IServiceCollection services, Action<EximLineOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<EximLineOptions>().Configure(o => configure?.Invoke(o));
        return services;
    }

    /// <summary>Listens on <paramref name="endpoint"/> with <see cref="EximConnectionHandler"/> (it needs an <see cref="IEximResponder"/>).</summary>
    public static void ListenExim(this KestrelServerOptions options, SocketmapEndpoint endpoint, Action<ListenOptions>? configure = null) =>
        options.ListenWith<EximConnectionHandler>(endpoint, configure);
}
