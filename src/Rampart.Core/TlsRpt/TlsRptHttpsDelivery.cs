using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Rampart.Core.Dns;
using Rampart.Core.Tls;

namespace Rampart.Core.TlsRpt;

/// <summary>
/// POSTs a report to an <c>https:</c> rua (RFC 8460 §5.2, §6.4): the gzip report as <c>application/tlsrpt+gzip</c>; any
/// 2xx is success. Host names are resolved through Rampart's resolver, the certificate is checked against the WebPKI
/// (plus <c>--ca-file</c>), and redirects are not followed. 4xx other than 408 and 429 is permanent; the rest is retried.
/// </summary>
public sealed class TlsRptHttpsDelivery : ITlsRptDelivery, IDisposable
{
    private readonly HttpClient _http;
    private readonly IDnsResolver _dns;
    private readonly TimeSpan _timeout;

    public TlsRptHttpsDelivery(IDnsResolver dns, WebPkiValidator validator, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(validator);
        _dns = dns;
        _timeout = timeout;
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = ConnectAsync,
            AllowAutoRedirect = false,
            UseProxy = false,
            UseCookies = false,
            ConnectTimeout = timeout,
            PooledConnectionLifetime = timeout,
            SslOptions = new SslClientAuthenticationOptions
            {
                CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                CertificateChainPolicy = validator.CreateChainPolicy(),
                RemoteCertificateValidationCallback = (sender, certificate, chain, errors) =>
                    WebPkiValidator.FromHandshake(certificate, chain, errors, ((SslStream)sender).TargetHostName).IsValid,
            },
        };
        _http = new HttpClient(handler, disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan };
    }

    public string Scheme => "https";

    public async Task<TlsRptDeliveryResult> DeliverAsync(Uri rua, OutgoingTlsRptReport report, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(rua);
        ArgumentNullException.ThrowIfNull(report);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(_timeout);
        using var content = new ByteArrayContent(TlsRptReportWriter.ToGzip(report.Report));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/tlsrpt+gzip");
        using var request = new HttpRequestMessage(HttpMethod.Post, rua) { Content = content, Version = HttpVersion.Version11 };
        request.Headers.TryAddWithoutValidation("User-Agent", "rampart");
        try
        {
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, deadline.Token).ConfigureAwait(false);
            var status = (int)response.StatusCode;
            var detail = $"{rua} answered HTTP {status} {DisplayText.Sanitize(response.ReasonPhrase ?? "", 100)}".TrimEnd();
            return status switch
            {
                >= 200 and < 300 => TlsRptDeliveryResult.Accepted(detail),
                408 or 429 => TlsRptDeliveryResult.Temporary(detail),
                >= 400 and < 500 => TlsRptDeliveryResult.Permanent(detail),
                _ => TlsRptDeliveryResult.Temporary(detail),
            };
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (OperationCanceledException)
        {
            return TlsRptDeliveryResult.Temporary($"{rua}: no answer within {_timeout.TotalSeconds:0} s");
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or SocketException)
        {
            // The innermost cause says it best: "cannot connect to … (ConnectionRefused)", "The remote certificate is invalid …".
            return TlsRptDeliveryResult.Temporary($"{rua}: {TlsRptReportParser.OneLine(ex.GetBaseException().Message)}");
        }
    }

    private async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var (host, port) = (context.DnsEndPoint.Host, context.DnsEndPoint.Port);
        IReadOnlyList<IPAddress> addresses;
        if (IPAddress.TryParse(host.Trim('[', ']'), out var literal))
        {
            addresses = [literal];
        }
        else
        {
            var answer = await _dns.QueryAddressesAsync(host, cancellationToken).ConfigureAwait(false);
            if (answer.Records.Count == 0)
            {
                throw new HttpRequestException($"{host}: no address ({answer.Describe()})");
            }
            addresses = answer.Records;
        }
        var errors = new List<string>();
        foreach (var address in addresses)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(new IPEndPoint(address, port), cancellationToken).ConfigureAwait(false);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch (SocketException ex)
            {
                socket.Dispose();
                errors.Add($"{address}: {ex.SocketErrorCode}");
            }
        }
        throw new HttpRequestException($"cannot connect to {host}:{port} ({string.Join(", ", errors)})");
    }

    public void Dispose() => _http.Dispose();
}
