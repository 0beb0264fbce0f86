using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Rampart.Core.Dns;
using Rampart.Core.Tls;

namespace Rampart.Core.MtaSts;

/// <summary>Fetches a domain's policy body; never throws for network outcomes (they are <see cref="MtaStsFetchResult"/> values).</summary>
public interface IMtaStsPolicyFetcher
{
    Task<MtaStsFetchResult> FetchAsync(string domain, CancellationToken cancellationToken);
}

/// <summary>
/// Fetches <c>https://mta-sts.&lt;domain&gt;/.well-known/mta-sts.txt</c> exactly as RFC 8461 §3.3 asks, over one
/// <see cref="SocketsHttpHandler"/> per fetcher, configured so that every rule is explicit: the address comes from the
/// same validating resolver as everything else (the handler's connect callback asks it, never the system resolver),
/// SNI is sent, the certificate must be WebPKI-valid for the policy host (the trust store of
/// <see cref="WebPkiValidator"/>), redirects are never followed, only 200 with text/plain counts, the head and the
/// body are bounded while they are read, and one total deadline covers the whole fetch so a server that drips bytes
/// cannot stretch it. No proxy, no cookies, no decompression; each fetch asks for <c>Connection: close</c>, so no
/// connection outlives its fetch (a refresh of the same host comes hours later and resolves the name afresh).
/// </summary>
public sealed class MtaStsPolicyFetcher : IMtaStsPolicyFetcher, IDisposable
{
    public const string WellKnownPath = "/.well-known/mta-sts.txt";

    private readonly IDnsResolver _dns;
    private readonly MtaStsFetchSettings _settings;
    private readonly TimeProvider _time;
    private readonly HttpClient _http;

    /// <summary>The progress of each fetch under way, by policy host, for the handler's connect and certificate steps.</summary>
    private readonly ConcurrentDictionary<string, FetchProgress> _inFlight = new(StringComparer.OrdinalIgnoreCase);

    public MtaStsPolicyFetcher(IDnsResolver dns, WebPkiValidator validator, MtaStsFetchSettings settings, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(validator);
        ArgumentNullException.ThrowIfNull(settings);
        _dns = dns;
        _settings = settings;
        _time = time;
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = ConnectAsync,
            AllowAutoRedirect = false,
            UseProxy = false,
            UseCookies = false,
            AutomaticDecompression = DecompressionMethods.None,
            MaxResponseHeadersLength = HeaderLimitKiB,
            // A response not read to its end closes its connection: nothing is drained past the fetch.
            MaxResponseDrainSize = 0,
            // The fetch's own deadline ends a fetch; this bounds a connection attempt the handler would finish without it.
            ConnectTimeout = settings.TotalTimeout,
            PooledConnectionLifetime = settings.TotalTimeout,
            PooledConnectionIdleTimeout = settings.TotalTimeout,
            SslOptions = new SslClientAuthenticationOptions
            {
                // TargetHost stays unset: the handler sends the request's host, mta-sts.<domain>, as SNI.
                CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                CertificateChainPolicy = validator.CreateChainPolicy(),
                RemoteCertificateValidationCallback = CheckCertificate,
            },
        };
        _http = new HttpClient(handler, disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan };
    }

    public static string PolicyHost(string domain) => "mta-sts." + domain;

    public static string PolicyUrl(string domain) => $"https://{PolicyHost(domain)}{WellKnownPath}";

    /// <summary><see cref="SocketsHttpHandler.MaxResponseHeadersLength"/> counts KiB: the header bound rounded up to one.</summary>
    private int HeaderLimitKiB => (_settings.MaxHeaderBytes + 1023) / 1024;

    public async Task<MtaStsFetchResult> FetchAsync(string domain, CancellationToken cancellationToken)
    {
        var host = PolicyHost(domain);
        var url = PolicyUrl(domain);
        var started = _time.GetTimestamp();
        using var totalTimeout = new CancellationTokenSource(_settings.TotalTimeout, _time);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, totalTimeout.Token);
        var progress = new FetchProgress { Deadline = deadline.Token };
        using var request = new HttpRequestMessage(HttpMethod.Get, new UriBuilder(Uri.UriSchemeHttps, host, _settings.Port, WellKnownPath).Uri)
        {
            Version = HttpVersion.Version11,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        request.Headers.Host = host;
        request.Headers.TryAddWithoutValidation("User-Agent", "rampart");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/plain"));
        request.Headers.ConnectionClose = true;
        _inFlight[host] = progress;
        try
        {
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, deadline.Token).ConfigureAwait(false);
            var status = (int)response.StatusCode;
            if (status is >= 300 and < 400)
            {
                var location = RawHeader(response.Headers, "Location") ?? "(no Location)";
                return Fail(MtaStsFetchError.Redirect, $"{url} answered {status} redirect to {location}; redirects are not followed (RFC 8461 §3.3)", status);
            }
            if (status != 200)
            {
                return Fail(MtaStsFetchError.HttpStatus, $"{url} answered HTTP {status} {Printable(response.ReasonPhrase ?? "")}; only 200 is a policy (RFC 8461 §3.3)", status);
            }
            var contentType = RawHeader(response.Content.Headers, "Content-Type");
            if (!IsTextPlain(contentType))
            {
                return Fail(MtaStsFetchError.ContentType, $"{url} answered Content-Type '{contentType ?? "(none)"}'; a policy must be text/plain (RFC 8461 §3.3)", status);
            }

            progress.Stage = FetchStage.Body;
            var body = await ReadBodyAsync(response.Content, progress, deadline.Token).ConfigureAwait(false);
            if (body is null)
            {
                return Fail(MtaStsFetchError.TooLarge, $"{url} body exceeds {_settings.MaxBodyBytes} bytes; reading stopped there", status);
            }
            return new MtaStsFetchResult(MtaStsFetchError.None, url, $"fetched {body.Length} bytes from {url} ({progress.Remote})", status, body, progress.Remote, Elapsed());
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return TimedOut();
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException && deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            // The deadline closed the connection under a read that reported the close, not the cancellation.
            return TimedOut();
        }
        catch (HttpRequestException ex)
        {
            var (error, message) = Describe(ex, host, url, progress);
            return Fail(error, message);
        }
        catch (IOException ex)
        {
            return Fail(MtaStsFetchError.Protocol, DescribeBodyFailure(ex, url, progress));
        }
        finally
        {
            _inFlight.TryRemove(new KeyValuePair<string, FetchProgress>(host, progress));
        }

        MtaStsFetchResult TimedOut() =>
            Fail(MtaStsFetchError.Timeout, $"{url}: no complete policy within {_settings.TotalTimeout.TotalSeconds:0.#} s (stopped during {StageName(progress.Stage)})");

        MtaStsFetchResult Fail(MtaStsFetchError error, string message, int? status = null) =>
            new(error, url, message, status, null, progress.Remote, Elapsed());

        TimeSpan Elapsed() => _time.GetElapsedTime(started);
    }

    public void Dispose() => _http.Dispose();

    internal static bool IsTextPlain(string? contentType)
    {
        if (contentType is null)
        {
            return false;
        }
        var semicolon = contentType.IndexOf(';', StringComparison.Ordinal);
        var mediaType = (semicolon < 0 ? contentType : contentType[..semicolon]).Trim();
        return mediaType.Equals("text/plain", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Reads the body into a buffer one byte larger than the bound; null as soon as the bound is passed (or declared passed).</summary>
    private async Task<byte[]?> ReadBodyAsync(HttpContent content, FetchProgress progress, CancellationToken cancellationToken)
    {
        progress.DeclaredLength = content.Headers.ContentLength;
        if (progress.DeclaredLength > _settings.MaxBodyBytes)
        {
            return null;
        }
        var stream = await content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using var owned = stream.ConfigureAwait(false);
        var buffer = new byte[_settings.MaxBodyBytes + 1];
        while (progress.BodyBytes < buffer.Length)
        {
            var read = await stream.ReadAsync(buffer.AsMemory(progress.BodyBytes), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                return buffer[..progress.BodyBytes];
            }
            progress.BodyBytes += read;
        }
        return null;
    }

    /// <summary>
    /// The handler's connect step: the policy host's addresses from our resolver, tried in order, each within the
    /// connect timeout. Failures carry their outcome class and message out through the handler's exception.
    /// </summary>
    private async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var (host, port) = (context.DnsEndPoint.Host, context.DnsEndPoint.Port);
        var progress = _inFlight.GetValueOrDefault(host) ?? new FetchProgress();
        // The handler lets a connection attempt run on for a while after its request gave up; ours ends with the fetch.
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, progress.Deadline);
        var addresses = await _dns.QueryAddressesAsync(host, attempt.Token).ConfigureAwait(false);
        if (addresses.IsLookupError)
        {
            throw new PolicyHostUnreachable(MtaStsFetchError.DnsLookupError, $"address lookup for {host} failed: {addresses.ErrorMessage}");
        }
        if (addresses.Records.Count == 0)
        {
            throw new PolicyHostUnreachable(MtaStsFetchError.NoAddress, $"{host} has no A or AAAA record ({addresses.Describe()})");
        }

        progress.Stage = FetchStage.Connect;
        var errors = new List<string>();
        foreach (var address in addresses.Records)
        {
            Socket? socket = new(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            using var connectTimeout = new CancellationTokenSource(_settings.ConnectTimeout, _time);
            using var connectDeadline = CancellationTokenSource.CreateLinkedTokenSource(attempt.Token, connectTimeout.Token);
            try
            {
                await socket.ConnectAsync(new IPEndPoint(address, port), connectDeadline.Token).ConfigureAwait(false);
                progress.Remote = address;
                progress.Stage = FetchStage.TlsHandshake;
                var connection = new NetworkStream(socket, ownsSocket: true);
                socket = null;
                return connection;
            }
            catch (OperationCanceledException) when (!attempt.IsCancellationRequested)
            {
                errors.Add($"{address}: no answer within {_settings.ConnectTimeout.TotalSeconds:0.#} s");
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
        throw new PolicyHostUnreachable(MtaStsFetchError.ConnectFailed, $"cannot connect to port {port}: {string.Join("; ", errors)}");
    }

    /// <summary>
    /// The handshake built the chain once with our trust policy: read its verdict, build nothing again. An invalid
    /// certificate leaves the handshake as an exception that carries the verdict, so the fetch can name the reason.
    /// </summary>
    private bool CheckCertificate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        var host = ((SslStream)sender).TargetHostName;
        var verdict = WebPkiValidator.FromHandshake(certificate, chain, errors, host);
        if (!verdict.IsValid)
        {
            throw new PolicyCertificateRejected(verdict);
        }
        if (_inFlight.TryGetValue(host, out var progress))
        {
            progress.Stage = FetchStage.ResponseHead;
        }
        return verdict.IsValid;
    }

    /// <summary>Maps a failure before the response head was complete to its outcome, by the stage the handler names.</summary>
    private (MtaStsFetchError Error, string Message) Describe(HttpRequestException ex, string host, string url, FetchProgress progress)
    {
        if (Find<PolicyHostUnreachable>(ex) is { } unreachable)
        {
            return (unreachable.Error, unreachable.Message);
        }
        if (Find<PolicyCertificateRejected>(ex) is { } rejected)
        {
            return (MtaStsFetchError.CertificateInvalid, $"{host}: {rejected.Verdict.Message} (RFC 8461 §3.3 requires a valid WebPKI certificate)");
        }
        return ex.HttpRequestError switch
        {
            HttpRequestError.SecureConnectionError when Find<AuthenticationException>(ex) is { } tls =>
                (MtaStsFetchError.TlsHandshake, $"TLS handshake with {host} failed: {tls.Message}"),
            HttpRequestError.ConfigurationLimitExceeded =>
                (MtaStsFetchError.Protocol, $"{url}: response head exceeds {HeaderLimitKiB * 1024} bytes"),
            HttpRequestError.ResponseEnded =>
                (MtaStsFetchError.Protocol, $"{url}: connection closed before the response head was complete"),
            HttpRequestError.InvalidResponse =>
                (MtaStsFetchError.Protocol, $"{url}: not an HTTP/1.x response ({Printable(ex.Message)})"),
            _ => (MtaStsFetchError.Protocol, $"{url}: connection failed during {StageName(progress.Stage)}: {Innermost(ex).Message}"),
        };
    }

    private static string DescribeBodyFailure(IOException ex, string url, FetchProgress progress) =>
        ex is HttpIOException { HttpRequestError: HttpRequestError.ResponseEnded }
            ? progress.DeclaredLength is { } length
                ? $"{url}: connection closed after {progress.BodyBytes} of {length} body bytes"
                : $"{url}: connection closed inside the body after {progress.BodyBytes} bytes"
            : ex is HttpIOException { HttpRequestError: HttpRequestError.InvalidResponse }
                ? $"{url}: malformed body framing after {progress.BodyBytes} bytes"
                : $"{url}: connection failed during the body: {Innermost(ex).Message}";

    private static T? Find<T>(Exception? ex) where T : Exception
    {
        for (; ex is not null; ex = ex.InnerException)
        {
            if (ex is T found)
            {
                return found;
            }
        }
        return null;
    }

    private static Exception Innermost(Exception ex)
    {
        while (ex.InnerException is not null)
        {
            ex = ex.InnerException;
        }
        return ex;
    }

    /// <summary>A header as the server sent it (not parsed, so an invalid value is reported as sent), or null.</summary>
    private static string? RawHeader(HttpHeaders headers, string name) =>
        headers.NonValidated.TryGetValues(name, out var values) ? Printable(values.ToString()) : null;

    private static string Printable(string s)
    {
        var cut = s.Length > 200 ? s[..200] + "…" : s;
        return string.Create(cut.Length, cut, static (span, text) =>
        {
            for (var i = 0; i < text.Length; i++)
            {
                span[i] = char.IsControl(text[i]) ? '?' : text[i];
            }
        });
    }

    private static string StageName(FetchStage stage) => stage switch
    {
        FetchStage.AddressLookup => "address lookup",
        FetchStage.Connect => "connect",
        FetchStage.TlsHandshake => "TLS handshake",
        FetchStage.ResponseHead => "response headers",
        _ => "body",
    };

    private enum FetchStage
    {
        AddressLookup,
        Connect,
        TlsHandshake,
        ResponseHead,
        Body,
    }

    /// <summary>One fetch as the handler's steps see it, and how far it got for its messages: the stage, the address connected to, the body bytes read.</summary>
    private sealed class FetchProgress
    {
        /// <summary>The fetch's total deadline (or the caller's cancellation), which also ends its connection attempt.</summary>
        public CancellationToken Deadline { get; init; }
        public FetchStage Stage { get; set; }
        public IPAddress? Remote { get; set; }
        public long? DeclaredLength { get; set; }
        public int BodyBytes { get; set; }
    }

    /// <summary>The policy host could not be reached: its address lookup or every connect failed.</summary>
    private sealed class PolicyHostUnreachable(MtaStsFetchError error, string message) : Exception(message)
    {
        public MtaStsFetchError Error { get; } = error;
    }

    /// <summary>The policy host's certificate is not WebPKI-valid for it.</summary>
    private sealed class PolicyCertificateRejected(WebPkiVerdict verdict) : Exception(verdict.Message)
    {
        public WebPkiVerdict Verdict { get; } = verdict;
    }
}
