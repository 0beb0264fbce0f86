using System.Net;

namespace Rampart.Core.MtaSts;

/// <summary>Why a policy fetch failed (RFC 8461 §3.3). Each maps to TLS-RPT's <c>sts-policy-fetch-error</c> or <c>sts-webpki-invalid</c>.</summary>
public enum MtaStsFetchError
{
    None,
    /// <summary>The policy host's address lookup failed (SERVFAIL, timeout…).</summary>
    DnsLookupError,
    /// <summary>The policy host name has no address.</summary>
    NoAddress,
    ConnectFailed,
    /// <summary>The TLS handshake failed for a reason other than the certificate.</summary>
    TlsHandshake,
    /// <summary>The certificate is not WebPKI-valid for <c>mta-sts.&lt;domain&gt;</c>.</summary>
    CertificateInvalid,
    /// <summary>A 3xx answer: redirects are never followed.</summary>
    Redirect,
    /// <summary>Any status other than 200.</summary>
    HttpStatus,
    /// <summary>Content-Type is not text/plain.</summary>
    ContentType,
    /// <summary>The body exceeds the size bound.</summary>
    TooLarge,
    /// <summary>The connect or total timeout ran out (including a server that drips bytes).</summary>
    Timeout,
    /// <summary>The server did not speak HTTP/1.x correctly.</summary>
    Protocol,
}

/// <summary>The outcome of one policy fetch: the body on success, otherwise the error class and a one-line message.</summary>
public sealed record MtaStsFetchResult(
    MtaStsFetchError Error,
    string Url,
    string Message,
    int? StatusCode = null,
    byte[]? Body = null,
    IPAddress? RemoteAddress = null,
    TimeSpan Elapsed = default)
{
    public bool IsSuccess => Error == MtaStsFetchError.None;

    /// <summary>Kebab-case name of the error class, stable for JSON, logs and metrics.</summary>
    public static string ErrorName(MtaStsFetchError error) => error switch
    {
        MtaStsFetchError.None => "none",
        MtaStsFetchError.DnsLookupError => "dns-error",
        MtaStsFetchError.NoAddress => "no-address",
        MtaStsFetchError.ConnectFailed => "connect-failed",
        MtaStsFetchError.TlsHandshake => "tls-handshake",
        MtaStsFetchError.CertificateInvalid => "certificate-invalid",
        MtaStsFetchError.Redirect => "redirect",
        MtaStsFetchError.HttpStatus => "http-status",
        MtaStsFetchError.ContentType => "content-type",
        MtaStsFetchError.TooLarge => "too-large",
        MtaStsFetchError.Timeout => "timeout",
        _ => "protocol",
    };
}

/// <summary>Bounds of a policy fetch. The total timeout covers everything from the address lookup to the last body byte.</summary>
public sealed record MtaStsFetchSettings
{
    /// <summary>RFC 8461 §3.3: senders may limit the policy body; 64 KiB is the bound Rampart and its peers use.</summary>
    public const int DefaultMaxBodyBytes = 64 * 1024;

    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(5);
    public TimeSpan TotalTimeout { get; init; } = TimeSpan.FromSeconds(10);
    public int MaxBodyBytes { get; init; } = DefaultMaxBodyBytes;
    public int MaxHeaderBytes { get; init; } = 16 * 1024;
    public int Port { get; init; } = 443;
}
