using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Rampart.Core.TlsRpt;

namespace Rampart.Web;

/// <summary>
/// The TLS-RPT HTTPS receiver (RFC 8460 §3): a POST of <c>application/tlsrpt+gzip</c> or <c>application/tlsrpt+json</c>,
/// read whole up to the size cap (413 beyond it, also when Content-Length announces it, and nothing stored), parsed by
/// Core's reader (400 with the reason when it does not parse, nothing stored), then stored: 201 new, 200 already stored.
/// </summary>
internal sealed partial class TlsRptReceiver(ITlsReportStore store, long maxBytes, ILogger log)
{
    private readonly TlsRptInputReader _reader = new(new TlsRptReadSettings { VerifyDkim = false, MaxReportBytes = Math.Max(maxBytes * 16, 1 << 20) }, null);

    public async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var response = context.Response;
        var ct = context.RequestAborted;
        if (!HttpMethods.IsPost(request.Method))
        {
            response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            response.Headers.Allow = "POST";
            return;
        }
        var type = request.ContentType?.Split(';')[0].Trim().ToLowerInvariant();
        if (type is not ("application/tlsrpt+gzip" or "application/tlsrpt+json"))
        {
            await PlainAsync(response, StatusCodes.Status415UnsupportedMediaType, "send application/tlsrpt+gzip or application/tlsrpt+json (RFC 8460 §3)").ConfigureAwait(false);
            return;
        }
        if (request.ContentLength > maxBytes)
        {
            await TooLargeAsync(context).ConfigureAwait(false);
            return;
        }
        using var body = new MemoryStream();
        var buffer = new byte[16 * 1024];
        try
        {
            int read;
            while ((read = await request.Body.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
            {
                if (body.Length + read > maxBytes)
                {
                    await TooLargeAsync(context).ConfigureAwait(false);
                    return;
                }
                body.Write(buffer, 0, read);
            }
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            await TooLargeAsync(context).ConfigureAwait(false);
            return;
        }
        catch (BadHttpRequestException ex)
        {
            // The body stopped short: too slow (Kestrel's minimum data rate: 408), or malformed. One line, nothing stored;
            // left to Kestrel it would be an "unhandled exception" with a stack trace.
            Log.BodyFailed(log, $"https POST from {context.Connection.RemoteIpAddress}", ex.StatusCode, ex.Message.ReplaceLineEndings(" ").Trim());
            if (!response.HasStarted)
            {
                response.Headers.Connection = "close";
                await PlainAsync(response, ex.StatusCode, "report not received: " + ex.Message.ReplaceLineEndings(" ").Trim()).ConfigureAwait(false);
            }
            return;
        }
        body.Position = 0;
        var source = $"https POST from {context.Connection.RemoteIpAddress}";
        var inputs = new List<TlsRptInput>();
        await _reader.ReadAsync(body, source, input =>
        {
            inputs.Add(input);
            return Task.CompletedTask;
        }, ct).ConfigureAwait(false);
        var rejected = inputs.FirstOrDefault(i => i.Report is null);
        if (inputs.Count == 0 || rejected is not null)
        {
            var reason = rejected?.Rejection ?? "no report in the body";
            Log.Rejected(log, source, reason);
            await PlainAsync(response, StatusCodes.Status400BadRequest, "report rejected: " + reason).ConfigureAwait(false);
            return;
        }
        var imported = 0;
        foreach (var input in inputs)
        {
            if (await store.AddAsync(new TlsRptStoredReport(input.Report!, source, input.Dkim), ct).ConfigureAwait(false) == TlsRptStoreOutcome.Imported)
            {
                imported++;
            }
        }
        Log.Stored(log, source, inputs.Count, imported);
        await PlainAsync(response, imported > 0 ? StatusCodes.Status201Created : StatusCodes.Status200OK,
            imported > 0 ? "stored" : "already stored").ConfigureAwait(false);
    }

    private async Task TooLargeAsync(HttpContext context)
    {
        // Do not drain an oversized body: close the connection after the answer.
        context.Response.Headers.Connection = "close";
        await PlainAsync(context.Response, StatusCodes.Status413PayloadTooLarge, $"report larger than {maxBytes} bytes").ConfigureAwait(false);
    }

    private static Task PlainAsync(HttpResponse response, int status, string message)
    {
        response.StatusCode = status;
        response.ContentType = "text/plain";
        return response.WriteAsync(message + "\n");
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 340, Level = LogLevel.Warning, Message = "TLS-RPT report from {Source} rejected: {Reason}")]
        public static partial void Rejected(ILogger logger, string source, string reason);

        [LoggerMessage(EventId = 342, Level = LogLevel.Warning, Message = "TLS-RPT {Source}: body not received ({Status}): {Reason}; nothing stored")]
        public static partial void BodyFailed(ILogger logger, string source, int status, string reason);

        [LoggerMessage(EventId = 341, Level = LogLevel.Information, Message = "TLS-RPT POST from {Source}: {Reports} report(s), {Imported} new")]
        public static partial void Stored(ILogger logger, string source, int reports, int imported);
    }
}
