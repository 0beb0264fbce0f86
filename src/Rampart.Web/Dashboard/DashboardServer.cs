using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Rampart.Core;
using Rampart.Hosting;
using Rampart.Hosting.Listening;

namespace Rampart.Web.Dashboard;

/// <summary>
/// What <c>rampart dashboard</c> serves on: its addresses, the TLS certificate (PEM certificate chain and key) and who
/// may read it.
/// </summary>
internal sealed record DashboardSettings(IReadOnlyList<IPEndPoint> Listen, string? CertificateFile, string? KeyFile, DashboardAccess Access)
{
    /// <summary>How many wrong credentials an address may send before it is refused for a while, and how many addresses are counted.</summary>
    public CredentialFailureLimits FailureLimits { get; init; } = CredentialFailureLimits.Default;

    /// <summary>The default address: loopback only.</summary>
    public static readonly IPEndPoint DefaultListen = new(IPAddress.Loopback, 8460);

    /// <summary>
    /// The rule of exposure: on loopback only, anything goes; on any other address the dashboard needs both TLS and a
    /// credential, since report fields and monitored domains are an operator's business. A violation is one line naming
    /// the address and what to add.
    /// </summary>
    /// <exception cref="RampartException">The settings break the rule.</exception>
    public void Validate()
    {
        if ((CertificateFile is null) != (KeyFile is null))
        {
            throw new RampartException("dashboard: give --tls-cert and --tls-key together");
        }
        if (DashboardAccess.AllLoopback(Listen))
        {
            return;
        }
        var exposed = Listen.First(e => !IPAddress.IsLoopback(e.Address));
        var missing = (CertificateFile is null, Access.RequiresCredential) switch
        {
            (true, false) => "TLS (--tls-cert, --tls-key) and a credential (--token-file, or --basic-user with --password-hash)",
            (true, true) => "TLS (--tls-cert, --tls-key)",
            (false, false) => "a credential (--token-file, or --basic-user with --password-hash)",
            _ => null,
        };
        if (missing is not null)
        {
            throw new RampartException($"dashboard: refusing to listen on {exposed} (not loopback) without {missing}; listen on 127.0.0.1 or [::1] to go without");
        }
    }
}

/// <summary>The dashboard's own Kestrel host (<c>rampart dashboard</c>): <see cref="DashboardPages"/> on every address.</summary>
internal sealed class DashboardServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private DashboardServer(WebApplication app) => _app = app;

    /// <summary>The addresses actually bound (port 0 resolved), once started.</summary>
    public IReadOnlyList<IPEndPoint> BoundEndPoints { get; private set; } = [];

    /// <summary>True when it answers over HTTPS.</summary>
    public bool Https { get; private init; }

    /// <summary>Builds the host after <see cref="DashboardSettings.Validate"/>; a certificate that does not load is a one-line <see cref="RampartException"/>.</summary>
    public static DashboardServer Create(DashboardSettings settings, DashboardSources sources, ILoggerFactory loggers)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(sources);
        settings.Validate();
        X509Certificate2? certificate = null;
        if (settings.CertificateFile is { } certFile)
        {
            try
            {
                certificate = X509Certificate2.CreateFromPemFile(certFile, settings.KeyFile);
            }
            catch (Exception ex) when (ex is System.Security.Cryptography.CryptographicException or IOException or UnauthorizedAccessException)
            {
                throw new RampartException($"dashboard: --tls-cert {certFile} / --tls-key {settings.KeyFile}: {ex.Message.TrimEnd('.')}; give a PEM certificate chain and its private key");
            }
        }
        var builder = RampartWebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(loggers);
        builder.Services.AddSingleton(typeof(ILogger<>), typeof(Logger<>));
        AdmittingListenerFactory.Install(builder.Services, 256);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = 0;
            kestrel.Limits.MaxRequestHeadersTotalSize = 16 * 1024;
            foreach (var endPoint in settings.Listen)
            {
                kestrel.Listen(endPoint, listen =>
                {
                    listen.Protocols = HttpProtocols.Http1AndHttp2;
                    if (certificate is not null)
                    {
                        listen.UseHttps(certificate);
                    }
                });
            }
        });
        var app = builder.Build();
        var pages = new DashboardPages(sources, settings.Access, failureLimits: settings.FailureLimits);
        app.Run(pages.HandleAsync);
        return new DashboardServer(app) { Https = certificate is not null };
    }

    /// <summary>Binds every address; a bind failure is a <see cref="StartupException"/> of one line.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await ListenerStartup.StartAsync(_app, _ => new ListenerRole("--listen"), cancellationToken).ConfigureAwait(false);
        var addresses = _app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>().Features
            .Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()?.Addresses ?? [];
        BoundEndPoints = addresses.Select(u => new Uri(u)).Select(u => new IPEndPoint(IPAddress.Parse(u.Host.Trim('[', ']')), u.Port)).ToList();
    }

    public Task StopAsync(CancellationToken cancellationToken) => _app.StopAsync(cancellationToken);

    public ValueTask DisposeAsync() => _app.DisposeAsync();
}
