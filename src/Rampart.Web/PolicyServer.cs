using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Rampart.Core;
using Rampart.Core.Publish;
using Rampart.Core.TlsRpt;
using Rampart.Hosting;
using Rampart.Hosting.Listening;
using Rampart.Hosting.Logging;
using Rampart.Web.Dashboard;

namespace Rampart.Web;

/// <summary>
/// <c>rampart serve</c>: the HTTPS policy host for every domain of the publish YAML (RFC 8461 §3.3) and the TLS-RPT
/// HTTPS receiver (RFC 8460 §3). One Kestrel listener per address; the certificate is chosen by SNI from
/// <see cref="PolicyCertificateStore"/> per handshake, so renewals apply without a restart or dropped connections.
/// A request is answered by Host: <c>/.well-known/mta-sts.txt</c> of a hosted <c>mta-sts.&lt;domain&gt;</c> gets the policy
/// as <c>text/plain</c>, byte for byte what <c>rampart publish</c> wrote; anything else 404; an SNI naming another host
/// than the Host header 421. <c>/healthz</c> answers 200 <c>ok</c> on any hosted name; the dashboard, when mounted
/// (<c>serve.dashboard</c>), answers under its path on any hosted name.
/// </summary>
internal sealed partial class PolicyServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ILogger _log;
    private readonly string _serving;
    private readonly IPEndPoint? _metrics;

    private PolicyServer(WebApplication app, ILogger log, string serving, IPEndPoint? metrics) =>
        (_app, _log, _serving, _metrics) = (app, log, serving, metrics);

    /// <summary>The HTTPS addresses actually bound (port 0 resolved), once started.</summary>
    public IReadOnlyList<IPEndPoint> BoundEndPoints { get; private set; } = [];

    /// <summary>The /metrics address actually bound, once started; null when not served.</summary>
    public IPEndPoint? BoundMetricsEndPoint { get; private set; }

    /// <summary>
    /// Builds the host: loads every certificate (a <see cref="RampartException"/> names the file that fails) and the
    /// policies. <paramref name="reports"/> is where POSTed TLS-RPT reports go; null turns the receiver off (404).
    /// <paramref name="dashboard"/>, when given, answers under its path base on every hosted name (behind its own credential).
    /// </summary>
    public static PolicyServer Create(PublishConfig config, ITlsReportStore? reports, ILoggerFactory? loggers = null, TimeProvider? time = null,
        DashboardPages? dashboard = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        time ??= TimeProvider.System;
        loggers ??= Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance;
        var policies = PolicyBodies(config);
        var lineages = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var domain in config.Domains)
        {
            lineages[domain.PolicyHostName] = domain.CertName;
        }
        var certificates = PolicyCertificateStore.Load(config.Serve.Certificates, lineages, time, loggers.CreateLogger(LogComponents.Certificates));
        var builder = RampartWebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(loggers);
        builder.Services.AddSingleton(typeof(ILogger<>), typeof(Logger<>));
        AdmittingListenerFactory.Install(builder.Services, config.Serve.MaxConnections);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = config.Serve.ReportMaxBytes;
            kestrel.Limits.MaxRequestHeadersTotalSize = 16 * 1024;
            if (config.Serve.Metrics is { } metricsEndPoint)
            {
                // The one listener without TLS: requests on it are only ever /metrics (ServeMetrics).
                kestrel.Listen(metricsEndPoint, listen => listen.Protocols = HttpProtocols.Http1);
            }
            foreach (var endPoint in config.Serve.Listen)
            {
                kestrel.Listen(endPoint, listen =>
                {
                    listen.Protocols = HttpProtocols.Http1AndHttp2;
                    listen.UseHttps(new TlsHandshakeCallbackOptions
                    {
                        HandshakeTimeout = TimeSpan.FromSeconds(10),
                        OnConnection = context =>
                        {
                            var certificate = certificates.Get(context.ClientHelloInfo.ServerName)
                                ?? throw new AuthenticationRefusedException($"no certificate for SNI '{context.ClientHelloInfo.ServerName ?? "(none)"}'");
                            return ValueTask.FromResult(new System.Net.Security.SslServerAuthenticationOptions { ServerCertificateContext = certificate });
                        },
                    });
                });
            }
        });
        var app = builder.Build();
        var receiver = reports is null ? null : new TlsRptReceiver(reports, config.Serve.ReportMaxBytes, loggers.CreateLogger(LogComponents.TlsRptReceiver));
        var log = loggers.CreateLogger(LogComponents.Serve);
        var reportPath = config.Serve.ReportPath;
        var metrics = new ServeMetrics(app.Services.GetRequiredService<ConnectionAdmission>(), reportPath);
        app.Run(async context =>
        {
            if (!context.Request.IsHttps)
            {
                await metrics.AnswerAsync(context).ConfigureAwait(false);
                return;
            }
            await HandleAsync(context, policies, receiver, reportPath, log, dashboard).ConfigureAwait(false);
            metrics.Count(context);
        });
        var serving = $"{config.Domains.Count} domain(s) ({string.Join(", ", config.Domains.Select(d => d.PolicyHostName))}); " +
                      (reports is null ? "TLS-RPT reports off" : $"TLS-RPT reports at {reportPath} into {reports.Location}") +
                      (dashboard is null ? "" : $"; dashboard at {dashboard.PathBase}/");
        return new PolicyServer(app, log, serving, config.Serve.Metrics);
    }

    /// <summary>Each hosted policy host name and the policy file it serves, byte for byte what <c>rampart publish</c> wrote.</summary>
    internal static Dictionary<string, byte[]> PolicyBodies(PublishConfig config)
    {
        var policies = new Dictionary<string, byte[]>(StringComparer.OrdinalIgnoreCase);
        foreach (var domain in config.Domains)
        {
            policies[domain.PolicyHostName] = PolicyDocument.For(domain).Bytes;
        }
        return policies;
    }

    /// <summary>Answers one request (internal so the fuzz target drives it without Kestrel).</summary>
    internal static Task HandleAsync(HttpContext context, Dictionary<string, byte[]> policies, TlsRptReceiver? receiver, string reportPath, ILogger log,
        DashboardPages? dashboard = null)
    {
        var request = context.Request;
        var response = context.Response;
        var host = request.Host.Host.TrimEnd('.');
        if (!policies.TryGetValue(host, out var policy))
        {
            response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        }
        var sni = context.Features.Get<ITlsHandshakeFeature>()?.HostName;
        if (!string.IsNullOrEmpty(sni) && !string.Equals(sni.TrimEnd('.'), host, StringComparison.OrdinalIgnoreCase))
        {
            response.StatusCode = StatusCodes.Status421MisdirectedRequest;
            return Task.CompletedTask;
        }
        var path = request.Path.Value;
        if (path == PublishConfigFile.MtaStsWellKnown)
        {
            if (!HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method))
            {
                response.StatusCode = StatusCodes.Status405MethodNotAllowed;
                response.Headers.Allow = "GET, HEAD";
                return Task.CompletedTask;
            }
            response.StatusCode = StatusCodes.Status200OK;
            response.ContentType = "text/plain";
            response.ContentLength = policy.Length;
            response.Headers.CacheControl = "no-cache";
            return HttpMethods.IsHead(request.Method) ? Task.CompletedTask : response.Body.WriteAsync(policy).AsTask();
        }
        if (path == "/healthz" && (HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method)))
        {
            response.StatusCode = StatusCodes.Status200OK;
            response.ContentType = "text/plain";
            return HttpMethods.IsHead(request.Method) ? Task.CompletedTask : response.Body.WriteAsync(s_ok).AsTask();
        }
        if (receiver is not null && path == reportPath)
        {
            return receiver.HandleAsync(context);
        }
        if (dashboard is not null && DashboardMount.Covers(dashboard.PathBase, request.Path, out var dashboardPath))
        {
            request.PathBase = dashboard.PathBase;
            request.Path = dashboardPath;
            return dashboard.HandleAsync(context);
        }
        Log.NotFound(log, host, path ?? "");
        response.StatusCode = StatusCodes.Status404NotFound;
        return Task.CompletedTask;
    }

    private static readonly byte[] s_ok = Encoding.ASCII.GetBytes("ok\n");

    /// <summary>
    /// Binds every listener, then logs the first line: every address served, the domains and where reports go. A bind
    /// failure is a <see cref="StartupException"/>: one line naming the address, the cause and the fix.
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await ListenerStartup.StartAsync(_app, endPoint => Equals(endPoint, _metrics)
            ? new ListenerRole("--metrics", "another exporter, or a second rampart serve?", HasUserOption: true)
            : new ListenerRole("--listen", "another web server on this host?", HasUserOption: true), cancellationToken).ConfigureAwait(false);
        var addresses = (_app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>().Features
            .Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()?.Addresses ?? []).Select(u => new Uri(u)).ToList();
        static IPEndPoint EndPointOf(Uri address) => new(IPAddress.Parse(address.Host.Trim('[', ']')), address.Port);
        BoundEndPoints = addresses.Where(u => u.Scheme == Uri.UriSchemeHttps).Select(EndPointOf).ToList();
        BoundMetricsEndPoint = addresses.Where(u => u.Scheme == Uri.UriSchemeHttp).Select(EndPointOf).FirstOrDefault();
        Log.Started(_log, string.Join(", ", BoundEndPoints.Select(e => $"https://{e}"))
            + (BoundMetricsEndPoint is { } metrics ? $"; metrics http://{metrics}/metrics" : ""),
            _serving, _app.Services.GetRequiredService<ConnectionAdmission>().Limit);
    }

    /// <summary>
    /// Runs as <paramref name="user"/> from now on (<c>--user</c>: bind as root, then drop), logging which; started
    /// without root it stays as it is and says so.
    /// </summary>
    public void RunAs(UnixAccount user)
    {
        ArgumentNullException.ThrowIfNull(user);
        if (user.DropIfRoot())
        {
            Log.RunningAs(_log, user.ToString());
        }
        else
        {
            Log.NotRoot(_log, user.ToString());
        }
    }

    /// <summary>Stops accepting, lets requests in flight finish.</summary>
    public Task StopAsync(CancellationToken cancellationToken) => _app.StopAsync(cancellationToken);

    public ValueTask DisposeAsync() => _app.DisposeAsync();

    private static partial class Log
    {
        [LoggerMessage(EventId = 300, Level = LogLevel.Information, Message = "rampart serve listening on {Addresses}; {Serving}; at most {Connections} connections at once")]
        public static partial void Started(ILogger logger, string addresses, string serving, int connections);

        [LoggerMessage(EventId = 301, Level = LogLevel.Debug, Message = "404 for {Host}{Path}")]
        public static partial void NotFound(ILogger logger, string host, string path);

        [LoggerMessage(EventId = 302, Level = LogLevel.Information, Message = "running as {User}")]
        public static partial void RunningAs(ILogger logger, string user);

        [LoggerMessage(EventId = 303, Level = LogLevel.Warning, Message = "not started as root: cannot switch to {User}; running as the starting user")]
        public static partial void NotRoot(ILogger logger, string user);
    }
}

/// <summary>A handshake refused because the SNI names no hosted policy host.</summary>
internal sealed class AuthenticationRefusedException(string message) : System.Security.Authentication.AuthenticationException(message);
