using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Http;
using Rampart.Hosting;
using Rampart.Hosting.Listening;

namespace Rampart.Web;

/// <summary>
/// <c>rampart serve</c>'s Prometheus /metrics, served on its own plain-HTTP listener (<c>serve.metrics</c>,
/// <c>--metrics</c>; keep it on loopback): the connections admitted and refused (<see cref="ConnectionAdmission"/>) and
/// every response by what was asked for (<c>policy</c>, <c>healthz</c>, <c>tlsrpt</c>, <c>dashboard</c>, <c>other</c>) and the status sent,
/// so TLS-RPT reports stored (201), duplicates (200), rejected (400) and too large (413) show apart.
/// </summary>
internal sealed class ServeMetrics(ConnectionAdmission admission, string reportPath)
{
    private readonly ConcurrentDictionary<(string Kind, int Status), StrongBox<long>> _responses = new();

    /// <summary>Counts the response to <paramref name="context"/>'s request, once it has been answered.</summary>
    public void Count(HttpContext context)
    {
        var path = context.Request.Path.Value;
        var kind = context.Request.PathBase.HasValue ? "dashboard" // mounted: the path base is set to the dashboard's
            : path == PublishConfigFile.MtaStsWellKnown ? "policy"
            : path == "/healthz" ? "healthz"
            : path == reportPath ? "tlsrpt"
            : "other";
        Interlocked.Increment(ref _responses.GetOrAdd((kind, context.Response.StatusCode), static _ => new StrongBox<long>()).Value);
    }

    /// <summary>Answers a request on the metrics listener: GET /metrics, anything else 404.</summary>
    public Task AnswerAsync(HttpContext context)
    {
        var response = context.Response;
        if (context.Request.Path.Value != "/metrics" || !(HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method)))
        {
            response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        }
        response.ContentType = PrometheusText.ContentType;
        return HttpMethods.IsHead(context.Request.Method) ? Task.CompletedTask : response.WriteAsync(Render());
    }

    public string Render()
    {
        var text = new PrometheusText().Family("rampart_serve_responses_total", "counter",
            "HTTPS responses by what was asked for (policy, healthz, tlsrpt, dashboard, other) and status.");
        foreach (var ((kind, status), count) in _responses.OrderBy(r => r.Key.Kind, StringComparer.Ordinal).ThenBy(r => r.Key.Status))
        {
            text.Sample("rampart_serve_responses_total",
                [("kind", kind), ("status", status.ToString(System.Globalization.CultureInfo.InvariantCulture))], Volatile.Read(ref count.Value));
        }
        return text + admission.RenderMetrics();
    }
}
