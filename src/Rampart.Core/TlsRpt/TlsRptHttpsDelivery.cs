using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using Rampart.Core.Dns;
using Rampart.Core.Tls;

namespace Rampart.Core.TlsRpt;

/// <summary>
/// POSTs a report to an <c>https:</c> rua (RFC 8460 §5.2, §6.4): the gzip report as <c>application/tlsrpt+gzip</c>; any
/// 2xx is success. Sent through <see cref="ResolverHttpsClient"/>: host names are resolved through Rampart's resolver,
/// the certificate is checked against the WebPKI (plus <c>--ca-file</c>), and redirects are not followed. 4xx other than 408 and 429 is permanent; the rest is retried.
/// </summary>
public sealed class TlsRptHttpsDelivery : ITlsRptDelivery, IDisposable
{
    private readonly ResolverHttpsClient _http;
    private readonly TimeSpan _timeout;

    public TlsRptHttpsDelivery(IDnsResolver dns, WebPkiValidator validator, TimeSpan timeout)
    {
        _timeout = timeout;
        _http = new ResolverHttpsClient(dns, validator, new ResolverHttpsSettings { Timeout = timeout }, TimeProvider.System);
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
            using var response = await _http.SendAsync(request, progress: null, deadline.Token).ConfigureAwait(false);
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
            // The innermost cause says it best: "cannot connect to … port 443: …: ConnectionRefused", the certificate verdict.
            return TlsRptDeliveryResult.Temporary($"{rua}: {TlsRptReportParser.OneLine(ex.GetBaseException().Message)}");
        }
    }

    public void Dispose() => _http.Dispose();
}
