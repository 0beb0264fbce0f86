using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Rampart.Core.Dns;
using Rampart.Core.Tls;

namespace Rampart.Core.MtaSts;

/// <summary>Fetches a domain's policy body; never throws for network outcomes (they are <see cref="MtaStsFetchResult"/> values).</summary>
public interface IMtaStsPolicyFetcher
{
    Task<MtaStsFetchResult> FetchAsync(string domain, CancellationToken cancellationToken);
}

/// <summary>
/// Fetches <c>https://mta-sts.&lt;domain&gt;/.well-known/mta-sts.txt</c> exactly as RFC 8461 §3.3 asks, with a small
/// HTTP/1.1 client of its own so that every rule is explicit: the address comes from the same validating resolver as
/// everything else, SNI is sent, the certificate must be WebPKI-valid for the policy host, redirects are never
/// followed, only 200 with text/plain counts, the body is bounded while it is read, and one total deadline covers
/// the whole fetch so a server that drips bytes cannot stretch it. No proxy is used.
/// </summary>
public sealed class MtaStsPolicyFetcher(IDnsResolver dns, WebPkiValidator validator, MtaStsFetchSettings settings, TimeProvider time)
    : IMtaStsPolicyFetcher
{
    public const string WellKnownPath = "/.well-known/mta-sts.txt";

    public static string PolicyHost(string domain) => "mta-sts." + domain;

    public static string PolicyUrl(string domain) => $"https://{PolicyHost(domain)}{WellKnownPath}";

    public async Task<MtaStsFetchResult> FetchAsync(string domain, CancellationToken cancellationToken)
    {
        var host = PolicyHost(domain);
        var url = PolicyUrl(domain);
        var started = time.GetTimestamp();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(settings.TotalTimeout);
        var stage = "address lookup";
        IPAddress? remote = null;
        try
        {
            var addresses = await dns.QueryAddressesAsync(host, deadline.Token).ConfigureAwait(false);
            if (addresses.IsLookupError)
            {
                return Fail(MtaStsFetchError.DnsLookupError, $"address lookup for {host} failed: {addresses.ErrorMessage}");
            }
            if (addresses.Records.Count == 0)
            {
                return Fail(MtaStsFetchError.NoAddress, $"{host} has no A or AAAA record ({addresses.Describe()})");
            }

            stage = "connect";
            var (socket, connectError) = await ConnectAsync(addresses.Records, deadline.Token).ConfigureAwait(false);
            if (socket is null)
            {
                return Fail(MtaStsFetchError.ConnectFailed, connectError!);
            }
            remote = (socket.RemoteEndPoint as IPEndPoint)?.Address;
            using var ownedSocket = socket;
            // Closing the socket is what finally unblocks a read that a dripping server keeps alive.
            using var abort = deadline.Token.Register(static s => ((Socket)s!).Dispose(), socket);
            var tls = new SslStream(new NetworkStream(socket, ownsSocket: false), leaveInnerStreamOpen: false);
            await using var tlsScope = tls.ConfigureAwait(false);

            stage = "TLS handshake";
            WebPkiVerdict? verdict = null;
            var options = new SslClientAuthenticationOptions
            {
                TargetHost = host,
                CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                CertificateChainPolicy = validator.CreateChainPolicy(),
                RemoteCertificateValidationCallback = (_, certificate, chain, errors) =>
                {
                    // The handshake built the chain once with our trust policy: read its verdict, build nothing again.
                    verdict = WebPkiValidator.FromHandshake(certificate, chain, errors, host);
                    return verdict.IsValid;
                },
            };
            try
            {
                await tls.AuthenticateAsClientAsync(options, deadline.Token).ConfigureAwait(false);
            }
            catch (AuthenticationException ex)
            {
                return verdict is { IsValid: false }
                    ? Fail(MtaStsFetchError.CertificateInvalid, $"{host}: {verdict.Message} (RFC 8461 §3.3 requires a valid WebPKI certificate)")
                    : Fail(MtaStsFetchError.TlsHandshake, $"TLS handshake with {host} failed: {ex.Message}");
            }

            stage = "request";
            var request = Encoding.ASCII.GetBytes(
                $"GET {WellKnownPath} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: rampart\r\nAccept: text/plain\r\nConnection: close\r\n\r\n");
            await tls.WriteAsync(request, deadline.Token).ConfigureAwait(false);
            await tls.FlushAsync(deadline.Token).ConfigureAwait(false);

            stage = "response headers";
            var reader = new Http1ResponseReader(tls, settings.MaxHeaderBytes);
            var head = await reader.ReadHeadAsync(deadline.Token).ConfigureAwait(false);
            if (head.StatusCode is >= 300 and < 400)
            {
                var location = head.Header("Location") ?? "(no Location)";
                return Fail(MtaStsFetchError.Redirect, $"{url} answered {head.StatusCode} redirect to {location}; redirects are not followed (RFC 8461 §3.3)", head.StatusCode);
            }
            if (head.StatusCode != 200)
            {
                return Fail(MtaStsFetchError.HttpStatus, $"{url} answered HTTP {head.StatusCode} {head.Reason}; only 200 is a policy (RFC 8461 §3.3)", head.StatusCode);
            }
            var contentType = head.Header("Content-Type");
            if (!IsTextPlain(contentType))
            {
                return Fail(MtaStsFetchError.ContentType, $"{url} answered Content-Type '{contentType ?? "(none)"}'; a policy must be text/plain (RFC 8461 §3.3)", head.StatusCode);
            }

            stage = "body";
            var body = await reader.ReadBodyAsync(head, settings.MaxBodyBytes, deadline.Token).ConfigureAwait(false);
            if (body is null)
            {
                return Fail(MtaStsFetchError.TooLarge, $"{url} body exceeds {settings.MaxBodyBytes} bytes; reading stopped there", head.StatusCode);
            }
            return new MtaStsFetchResult(MtaStsFetchError.None, url, $"fetched {body.Length} bytes from {url} ({remote})", head.StatusCode, body, remote, Elapsed());
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return Fail(MtaStsFetchError.Timeout, $"{url}: no complete policy within {settings.TotalTimeout.TotalSeconds:0.#} s (stopped during {stage})");
        }
        catch (ObjectDisposedException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return Fail(MtaStsFetchError.Timeout, $"{url}: no complete policy within {settings.TotalTimeout.TotalSeconds:0.#} s (stopped during {stage})");
        }
        catch (Exception ex) when (ex is IOException or SocketException && deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return Fail(MtaStsFetchError.Timeout, $"{url}: no complete policy within {settings.TotalTimeout.TotalSeconds:0.#} s (stopped during {stage})");
        }
        catch (HttpProtocolViolation ex)
        {
            return Fail(MtaStsFetchError.Protocol, $"{url}: {ex.Message}");
        }
        catch (Exception ex) when (ex is IOException or SocketException)
        {
            return Fail(MtaStsFetchError.Protocol, $"{url}: connection failed during {stage}: {ex.Message}");
        }

        MtaStsFetchResult Fail(MtaStsFetchError error, string message, int? status = null) =>
            new(error, url, message, status, null, remote, Elapsed());

        TimeSpan Elapsed() => time.GetElapsedTime(started);
    }

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

    private async Task<(Socket? Socket, string? Error)> ConnectAsync(IReadOnlyList<IPAddress> addresses, CancellationToken cancellationToken)
    {
        var errors = new List<string>();
        foreach (var address in addresses)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            using var connectDeadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            connectDeadline.CancelAfter(settings.ConnectTimeout);
            try
            {
                await socket.ConnectAsync(new IPEndPoint(address, settings.Port), connectDeadline.Token).ConfigureAwait(false);
                return (socket, null);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                errors.Add($"{address}: no answer within {settings.ConnectTimeout.TotalSeconds:0.#} s");
            }
            catch (SocketException ex)
            {
                errors.Add($"{address}: {ex.SocketErrorCode}");
            }
            socket.Dispose();
        }
        return (null, $"cannot connect to port {settings.Port}: {string.Join("; ", errors)}");
    }
}
