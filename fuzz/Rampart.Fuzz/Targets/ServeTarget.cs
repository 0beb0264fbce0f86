using System.Net;
using System.Security.Authentication;
using System.Text;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;
using Rampart.Core.TlsRpt;
using Rampart.Web;

namespace Rampart.Fuzz;

/// <summary>
/// One HTTPS request to <c>rampart serve</c>, after Kestrel has parsed it: the input is
/// <c>METHOD PATH</c>, header lines (<c>Host</c>, <c>SNI</c> for the TLS server name, <c>Content-Type</c>,
/// <c>Content-Length</c>), a blank line, and the body. The request handler runs directly (Kestrel's own HTTP parsing is
/// not ours to fuzz). Contract: the handler never throws; it answers one of the statuses it documents; 200 with the
/// policy only for a hosted name on the well-known path, with a matching SNI; a report POST stores only what parsed.
/// </summary>
internal static class ServeTarget
{
    private const string ReportPath = "/tlsrpt";
    private const long MaxReportBytes = 64 * 1024;

    private static readonly Dictionary<string, byte[]> s_policies = PolicyServer.PolicyBodies(ConfigReaders.Publish(
        "domains:\n  - domain: example.test\n    mx: mx.example.test\n  - domain: example.net\n    mx: '*.example.net'\n    mode: enforce\n",
        "serve-fuzz.yml"));

    private static readonly int[] s_statuses = [200, 201, 400, 404, 405, 413, 415, 421];

    public static void Run(byte[] input)
    {
        var store = new MemoryReportStore();
        var receiver = new TlsRptReceiver(store, MaxReportBytes, NullLogger.Instance);
        var (context, sni) = Request(input);
        var response = new MemoryStream();
        context.Response.Body = response;

        PolicyServer.HandleAsync(context, s_policies, receiver, ReportPath, NullLogger.Instance).GetAwaiter().GetResult();

        var status = context.Response.StatusCode;
        Contract.Holds(s_statuses.Contains(status), $"status {status}");
        Contract.Holds(response.Length <= MaxReportBytes, $"a {response.Length}-byte answer");
        var host = context.Request.Host.Host.TrimEnd('.');
        var hosted = s_policies.TryGetValue(host, out var policy);
        if (!hosted)
        {
            Contract.Holds(status == 404, $"status {status} for the unhosted name '{host}'");
        }
        if (hosted && sni is { Length: > 0 } && !string.Equals(sni.TrimEnd('.'), host, StringComparison.OrdinalIgnoreCase))
        {
            Contract.Holds(status == 421, $"status {status} for SNI '{sni}' and Host '{host}'");
        }
        if (status == 200 && context.Request.Path.Value == PublishConfigFile.MtaStsWellKnown && HttpMethods.IsGet(context.Request.Method))
        {
            Contract.Holds(response.ToArray().AsSpan().SequenceEqual(policy), "the policy served is not the one published");
        }
        Contract.Holds(store.Added == 0 || status == 201 || status == 200, $"a report stored but answered {status}");
        Contract.Holds(status != 201 || store.Added > 0, "201 without storing a report");
    }

    private static (HttpContext Context, string? Sni) Request(byte[] input)
    {
        var context = new DefaultHttpContext();
        var request = context.Request;
        var split = input.AsSpan().IndexOf("\n\n"u8);
        var head = Encoding.UTF8.GetString(split < 0 ? input : input.AsSpan(0, split)).Split('\n');
        var body = split < 0 ? [] : input[(split + 2)..];

        var requestLine = head[0].Split(' ', 2);
        request.Method = requestLine[0] is { Length: > 0 } method && method.All(char.IsAsciiLetter) ? method : "GET";
        var path = requestLine.Length > 1 ? requestLine[1] : "/";
        request.Path = new PathString(path.StartsWith('/') ? path : "/" + path);
        string? sni = null;
        foreach (var line in head.Skip(1))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                continue;
            }
            var value = line[(colon + 1)..].Trim();
            switch (line[..colon].Trim().ToLowerInvariant())
            {
                case "host" when IsHostHeader(value):
                    request.Headers.Host = value;
                    break;
                case "sni":
                    sni = value;
                    break;
                case "content-type":
                    request.ContentType = value;
                    break;
                case "content-length" when long.TryParse(value, out var length) && length >= 0:
                    request.ContentLength = length;
                    break;
            }
        }
        if (sni is not null)
        {
            context.Features.Set<ITlsHandshakeFeature>(new HandshakeFeature(sni));
        }
        request.Body = new MemoryStream(body);
        context.Connection.RemoteIpAddress = IPAddress.Loopback;
        return (context, sni);
    }

    /// <summary>What Kestrel lets through as a Host header: visible ASCII without the characters that end an authority.</summary>
    private static bool IsHostHeader(string value) => value.All(c => c is > ' ' and < '\x7f' and not ('/' or '?' or '#' or '@' or '"' or '<' or '>' or '\\' or '^' or '`' or '{' or '|' or '}'));

    private sealed class HandshakeFeature(string hostName) : ITlsHandshakeFeature
    {
        public SslProtocols Protocol => SslProtocols.Tls13;
        public string HostName => hostName;
#pragma warning disable SYSLIB0058 // the interface still has the obsolete algorithm properties
        public CipherAlgorithmType CipherAlgorithm => CipherAlgorithmType.Aes256;
        public int CipherStrength => 256;
        public HashAlgorithmType HashAlgorithm => HashAlgorithmType.Sha384;
        public int HashStrength => 384;
        public ExchangeAlgorithmType KeyExchangeAlgorithm => ExchangeAlgorithmType.None;
        public int KeyExchangeStrength => 0;
#pragma warning restore SYSLIB0058
    }

    /// <summary>Reports kept in memory, de-duplicated on (organization, report-id, date range) as every store is.</summary>
    private sealed class MemoryReportStore : ITlsReportStore
    {
        private readonly HashSet<(string, string, DateTimeOffset, DateTimeOffset)> _keys = [];

        public string Location => "memory";

        public int Added => _keys.Count;

        public Task<TlsRptStoreOutcome> AddAsync(TlsRptStoredReport report, CancellationToken cancellationToken)
        {
            var r = report.Report;
            return Task.FromResult(_keys.Add((r.OrganizationName, r.ReportId, r.StartDatetime, r.EndDatetime)) ? TlsRptStoreOutcome.Imported : TlsRptStoreOutcome.Duplicate);
        }

        public async Task<IReadOnlyList<TlsRptStoreResult>> AddBatchAsync(IReadOnlyList<TlsRptStoredReport> reports, CancellationToken cancellationToken)
        {
            var results = new List<TlsRptStoreResult>();
            foreach (var report in reports)
            {
                results.Add(new TlsRptStoreResult(await AddAsync(report, cancellationToken).ConfigureAwait(false)));
            }
            return results;
        }

        public Task<TlsRptAggregates> AggregateAsync(TlsRptSummaryQuery query, CancellationToken cancellationToken) =>
            throw new NotSupportedException("the fuzz store only counts reports");

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
