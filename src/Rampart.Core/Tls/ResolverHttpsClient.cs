using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Rampart.Core.Dns;

namespace Rampart.Core.Tls;

/// <summary>How far one request through <see cref="ResolverHttpsClient"/> got, in the order its steps run.</summary>
public enum HttpsStage
{
    AddressLookup,
    Connect,
    TlsHandshake,
    ResponseHead,
    Body,
}

/// <summary>
/// One request's progress as the client's connect and certificate steps see it: the stage reached and the address
/// connected to. A caller that names its failures by stage (the MTA-STS policy fetch) passes one and reads it after;
/// a subclass may carry the caller's own counts.
/// </summary>
public class HttpsProgress
{
    /// <summary>The request's whole deadline (or the caller's cancellation), which also ends its connection attempt.</summary>
    public CancellationToken Deadline { get; init; }
    public HttpsStage Stage { get; set; }
    public IPAddress? Remote { get; set; }
}

/// <summary>Why the host of an HTTPS request could not be reached.</summary>
public enum HttpsConnectFailure
{
    /// <summary>The address lookup failed (SERVFAIL, timeout, bogus).</summary>
    DnsLookupError,
    /// <summary>The host has no A or AAAA record.</summary>
    NoAddress,
    /// <summary>Every address refused or did not answer.</summary>
    ConnectFailed,
}

/// <summary>The host could not be reached: its address lookup or every connect failed. Travels out inside the handler's exception.</summary>
public sealed class HttpsConnectException(HttpsConnectFailure failure, string message) : Exception(message)
{
    public HttpsConnectFailure Failure { get; } = failure;
}

/// <summary>The server's certificate is not WebPKI-valid for the host it was asked for. Travels out inside the handler's exception.</summary>
public sealed class HttpsCertificateRejectedException(WebPkiVerdict verdict) : Exception(verdict.Message)
{
    public WebPkiVerdict Verdict { get; } = verdict;
}

/// <summary>The bounds of a <see cref="ResolverHttpsClient"/>.</summary>
public sealed record ResolverHttpsSettings
{
    /// <summary>A request's whole time; also bounds a connection attempt and a pooled connection's life.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>The time for each address's TCP connect; null: <see cref="Timeout"/> alone bounds it.</summary>
    public TimeSpan? ConnectTimeout { get; init; }
    /// <summary>The response head's bound (rounded up to whole KiB, as the handler counts); null: the handler's default (64 KiB).</summary>
    public int? MaxHeaderBytes { get; init; }
}

/// <summary>
/// An HTTPS client that connects through Rampart's validating resolver, never the system's, with every rule explicit:
/// the host's addresses come from <see cref="IDnsResolver"/> (an IP literal is used as it is) and are tried in order,
/// each within the connect timeout; SNI is the request's host; the certificate must be WebPKI-valid for it (the trust
/// store of <see cref="WebPkiValidator"/>, <see cref="WebPkiValidator.CheckHandshake"/>), and an invalid one
/// ends the handshake with <see cref="HttpsCertificateRejectedException"/> naming the reason; no redirects, proxy,
/// cookies or decompression; a response not read to its end closes its connection. One handler per client, so the TLS
/// options and the chain policy are made once, not per request. Connect failures come out as
/// <see cref="HttpsConnectException"/> inside the <see cref="HttpRequestException"/>. Serves the MTA-STS policy fetch
/// (RFC 8461 §3.3) and the TLS-RPT https report delivery (RFC 8460 §5.2).
/// </summary>
public sealed class ResolverHttpsClient : IDisposable
{
    private readonly IDnsResolver _dns;
    private readonly ResolverHttpsSettings _settings;
    private readonly TimeProvider _time;
    private readonly WebPkiValidator _validator;
    private readonly HttpClient _http;

    /// <summary>The progress of each request under way that has one, by host, for the handler's connect and certificate steps.</summary>
    private readonly ConcurrentDictionary<string, HttpsProgress> _inFlight = new(StringComparer.OrdinalIgnoreCase);

    public ResolverHttpsClient(IDnsResolver dns, WebPkiValidator validator, ResolverHttpsSettings settings, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(dns);
        ArgumentNullException.ThrowIfNull(validator);
        ArgumentNullException.ThrowIfNull(settings);
        _dns = dns;
        _settings = settings;
        _time = time;
        _validator = validator;
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = ConnectAsync,
            AllowAutoRedirect = false,
            UseProxy = false,
            UseCookies = false,
            AutomaticDecompression = DecompressionMethods.None,
            // A response not read to its end closes its connection: nothing is drained past the request.
            MaxResponseDrainSize = 0,
            // The request's own deadline ends a request; this bounds a connection attempt the handler would finish without it.
            ConnectTimeout = settings.Timeout,
            PooledConnectionLifetime = settings.Timeout,
            PooledConnectionIdleTimeout = settings.Timeout,
            SslOptions = new SslClientAuthenticationOptions
            {
                // TargetHost stays unset: the handler sends the request's host as SNI.
                CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                CertificateChainPolicy = validator.CreateHandshakeChainPolicy(),
                RemoteCertificateValidationCallback = CheckCertificate,
            },
        };
        if (settings.MaxHeaderBytes is { } headerBytes)
        {
            handler.MaxResponseHeadersLength = HeaderLimitKiB(headerBytes);
        }
        _http = new HttpClient(handler, disposeHandler: true) { Timeout = System.Threading.Timeout.InfiniteTimeSpan };
    }

    /// <summary><see cref="SocketsHttpHandler.MaxResponseHeadersLength"/> counts KiB: a byte bound rounded up to one.</summary>
    public static int HeaderLimitKiB(int bytes) => (bytes + 1023) / 1024;

    /// <summary>
    /// Sends <paramref name="request"/>, returning once the response head is in. With <paramref name="progress"/>, the
    /// connect and certificate steps record the stage and the address in it, and its deadline also ends the connection attempt.
    /// </summary>
    public async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, HttpsProgress? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var host = request.Headers.Host ?? request.RequestUri?.IdnHost ?? "";
        if (progress is null)
        {
            return await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        }
        _inFlight[host] = progress;
        try
        {
            return await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _inFlight.TryRemove(new KeyValuePair<string, HttpsProgress>(host, progress));
        }
    }

    public void Dispose() => _http.Dispose();

    /// <summary>The handler's connect step: the host's addresses from our resolver, tried in order, each within the connect timeout.</summary>
    private async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var (host, port) = (context.DnsEndPoint.Host, context.DnsEndPoint.Port);
        var progress = _inFlight.GetValueOrDefault(host) ?? new HttpsProgress();
        // The handler lets a connection attempt run on for a while after its request gave up; ours ends with the request.
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, progress.Deadline);
        var addresses = await AddressesAsync(host, attempt.Token).ConfigureAwait(false);

        progress.Stage = HttpsStage.Connect;
        var perAddress = _settings.ConnectTimeout ?? _settings.Timeout;
        var errors = new List<string>();
        foreach (var address in addresses)
        {
            Socket? socket = new(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            using var connectTimeout = new CancellationTokenSource(perAddress, _time);
            using var connectDeadline = CancellationTokenSource.CreateLinkedTokenSource(attempt.Token, connectTimeout.Token);
            try
            {
                await socket.ConnectAsync(new IPEndPoint(address, port), connectDeadline.Token).ConfigureAwait(false);
                progress.Remote = address;
                progress.Stage = HttpsStage.TlsHandshake;
                var connection = new NetworkStream(socket, ownsSocket: true);
                socket = null;
                return connection;
            }
            catch (OperationCanceledException) when (!attempt.IsCancellationRequested)
            {
                errors.Add($"{address}: no answer within {perAddress.TotalSeconds:0.#} s");
            }
            catch (SocketException ex)
            {
                errors.Add($"{address}: {ex.SocketErrorCode}");
            }
            finally
            {
                socket?.Dispose();
            }
        }
        throw new HttpsConnectException(HttpsConnectFailure.ConnectFailed, $"cannot connect to {host} port {port}: {string.Join("; ", errors)}");
    }

    private async ValueTask<IReadOnlyList<IPAddress>> AddressesAsync(string host, CancellationToken cancellationToken)
    {
        if (IPAddress.TryParse(host.Trim('[', ']'), out var literal))
        {
            return [literal];
        }
        var answer = await _dns.QueryAddressesAsync(host, cancellationToken).ConfigureAwait(false);
        if (answer.IsLookupError)
        {
            throw new HttpsConnectException(HttpsConnectFailure.DnsLookupError, $"address lookup for {host} failed: {answer.ErrorMessage}");
        }
        if (answer.Records.Count == 0)
        {
            throw new HttpsConnectException(HttpsConnectFailure.NoAddress, $"{host} has no A or AAAA record ({answer.Describe()})");
        }
        return answer.Records;
    }

    /// <summary>
    /// The handshake built the chain with our trust policy: the validator reads its verdict (and with extra anchors
    /// anchors it against the roots that can have issued it, <see cref="WebPkiValidator.CreateHandshakeChainPolicy"/>). An invalid
    /// certificate leaves the handshake as an exception that carries the verdict, so the caller can name the reason.
    /// </summary>
    private bool CheckCertificate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        var host = ((SslStream)sender).TargetHostName;
        var verdict = _validator.CheckHandshake(certificate, chain, errors, host);
        if (!verdict.IsValid)
        {
            throw new HttpsCertificateRejectedException(verdict);
        }
        if (_inFlight.TryGetValue(host, out var progress))
        {
            progress.Stage = HttpsStage.ResponseHead;
        }
        return verdict.IsValid;
    }
}
