using System.Diagnostics.CodeAnalysis;

namespace Rampart.Core.TlsRpt;

/// <summary>
/// A TLS-RPT policy record at <c>_smtp._tls.&lt;domain&gt;</c> (RFC 8460 §3), e.g.
/// <c>v=TLSRPTv1; rua=mailto:tlsrpt@example.org,https://reports.example.org/tlsrpt</c>.
/// </summary>
/// <remarks>
/// <code>
/// tlsrpt-record  = tlsrpt-version 1*(field-delim tlsrpt-field) [field-delim]
/// tlsrpt-version = %s"v=TLSRPTv1"
/// tlsrpt-rua     = %s"rua=" tlsrpt-uri *(*WSP "," *WSP tlsrpt-uri)
/// tlsrpt-uri     = URI   ; mailto: or https:, commas and semicolons percent-encoded
/// field-delim    = *WSP ";" *WSP
/// </code>
/// Unknown fields (extensions) are ignored. Every problem is collected, not just the first.
/// </remarks>
public sealed record TlsRptRecord(IReadOnlyList<Uri> Rua, string Text)
{
    public const string Version = "TLSRPTv1";

    /// <summary>True when the record begins with <c>v=TLSRPTv1</c> as a whole field: only those take part in discovery.</summary>
    public static bool IsTlsRptV1(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var first = text.Split(';', 2)[0].Trim();
        var eq = first.IndexOf('=', StringComparison.Ordinal);
        return eq > 0 && first[..eq].Trim() == "v" && first[(eq + 1)..].Trim() == Version;
    }

    /// <summary>Parses one record; <paramref name="errors"/> lists every problem (empty on success).</summary>
    public static bool TryParse(string text, [NotNullWhen(true)] out TlsRptRecord? record, out IReadOnlyList<string> errors)
    {
        ArgumentNullException.ThrowIfNull(text);
        var problems = new List<string>();
        var fields = text.Split(';');
        if (!IsTlsRptV1(text))
        {
            problems.Add($"the record must begin with 'v={Version}' (RFC 8460 §3)");
        }
        var rua = new List<Uri>();
        var sawRua = false;
        foreach (var raw in fields.Skip(1))
        {
            var field = raw.Trim(' ', '\t');
            if (field.Length == 0)
            {
                continue;
            }
            var eq = field.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                problems.Add($"field '{field}' is not 'name=value' (RFC 8460 §3)");
                continue;
            }
            var name = field[..eq].Trim();
            var value = field[(eq + 1)..].Trim();
            if (name == "v")
            {
                problems.Add("field 'v' given more than once (RFC 8460 §3)");
            }
            else if (name == "rua")
            {
                if (sawRua)
                {
                    problems.Add("field 'rua' given more than once (RFC 8460 §3)");
                    continue;
                }
                sawRua = true;
                foreach (var item in value.Split(','))
                {
                    if (TryParseUri(item.Trim(' ', '\t'), out var uri, out var error))
                    {
                        rua.Add(uri);
                    }
                    else
                    {
                        problems.Add(error);
                    }
                }
            }
        }
        if (!sawRua)
        {
            problems.Add("missing required field 'rua' (RFC 8460 §3)");
        }
        errors = problems;
        record = problems.Count == 0 ? new TlsRptRecord(rua, text) : null;
        return record is not null;
    }

    /// <summary>One rua URI: <c>mailto:</c> with an addr-spec, or <c>https://</c> with a host (RFC 8460 §3).</summary>
    internal static bool TryParseUri(string text, [NotNullWhen(true)] out Uri? uri, [NotNullWhen(false)] out string? error)
    {
        uri = null;
        error = null;
        if (text.Length == 0)
        {
            error = "rua has an empty URI (RFC 8460 §3)";
            return false;
        }
        if (!Uri.TryCreate(text, UriKind.Absolute, out var parsed))
        {
            error = $"rua URI '{text}' is not an absolute URI (RFC 8460 §3)";
            return false;
        }
        if (parsed.Scheme == "mailto")
        {
            var address = text["mailto:".Length..].Split('?', 2)[0];
            var at = address.LastIndexOf('@');
            if (at <= 0 || at == address.Length - 1 || address.Contains(' ', StringComparison.Ordinal))
            {
                error = $"rua URI '{text}' is not mailto:local@domain (RFC 8460 §3)";
                return false;
            }
        }
        else if (parsed.Scheme == "https")
        {
            if (string.IsNullOrEmpty(parsed.Host))
            {
                error = $"rua URI '{text}' has no host (RFC 8460 §3)";
                return false;
            }
        }
        else
        {
            error = $"rua URI '{text}' uses scheme '{parsed.Scheme}'; only mailto: and https: are defined (RFC 8460 §3)";
            return false;
        }
        uri = parsed;
        return true;
    }
}
