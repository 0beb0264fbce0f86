using System.Net;
using System.Net.Http.Headers;
using System.Security.Authentication;
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
/// <see cref="ResolverHttpsClient"/> per fetcher: the address comes from the same validating resolver as everything
/// else, SNI is sent, the certificate must be WebPKI-valid for the policy host (the trust store of
/// <see cref="WebPkiValidator"/>), redirects are never followed, only 200 with text/plain counts, the head and the
/// body are bounded while they are read, and one total deadline covers the whole fetch so a server that drips bytes
/// cannot stretch it. No proxy, no cookies, no decompression; each fetch asks for <c>Connection: close</c>, so no
/// connection outlives its fetch (a refresh of the same host comes hours later and resolves the name afresh).
/// </summary>
public sealed class MtaStsPolicyFetcher : IMtaStsPolicyFetcher, IDisposable
{
    public const string WellKnownPath = "/.well-known/mta-sts.txt";

    private readonly MtaStsFetchSettings _settings;
    private readonly TimeProvider _time;
    private readonly ResolverHttpsClient _http;

    public MtaStsPolicyFetcher(IDnsResolver dns, WebPkiValidator validator, MtaStsFetchSettings settings, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _settings = settings;
        _time = time;
        _http = new ResolverHttpsClient(dns, validator, new ResolverHttpsSettings
        {
            Timeout = settings.TotalTimeout,
            ConnectTimeout = settings.ConnectTimeout,
            MaxHeaderBytes = settings.MaxHeaderBytes,
        }, time);
    }

    public static string PolicyHost(string domain) => "mta-sts." + domain;

    public static string PolicyUrl(string domain) => $"https://{PolicyHost(domain)}{WellKnownPath}";

    /// <summary>The response head's bound as the handler enforces it: whole KiB.</summary>
    private int HeaderLimitKiB => ResolverHttpsClient.HeaderLimitKiB(_settings.MaxHeaderBytes);

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
        try
        {
            using var response = await _http.SendAsync(request, progress, deadline.Token).ConfigureAwait(false);
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

            progress.Stage = HttpsStage.Body;
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

    /// <summary>Maps a failure before the response head was complete to its outcome, by the stage the handler names.</summary>
    private (MtaStsFetchError Error, string Message) Describe(HttpRequestException ex, string host, string url, FetchProgress progress)
    {
        if (Find<HttpsConnectException>(ex) is { } unreachable)
        {
            var error = unreachable.Failure switch
            {
                HttpsConnectFailure.DnsLookupError => MtaStsFetchError.DnsLookupError,
                HttpsConnectFailure.NoAddress => MtaStsFetchError.NoAddress,
                _ => MtaStsFetchError.ConnectFailed,
            };
            return (error, unreachable.Message);
        }
        if (Find<HttpsCertificateRejectedException>(ex) is { } rejected)
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

    private static string StageName(HttpsStage stage) => stage switch
    {
        HttpsStage.AddressLookup => "address lookup",
        HttpsStage.Connect => "connect",
        HttpsStage.TlsHandshake => "TLS handshake",
        HttpsStage.ResponseHead => "response headers",
        _ => "body",
    };

    /// <summary>One fetch as far as it got, for its messages: the client's stage and address, and the body bytes read.</summary>
    private sealed class FetchProgress : HttpsProgress
    {
        public long? DeclaredLength { get; set; }
        public int BodyBytes { get; set; }
    }
}
