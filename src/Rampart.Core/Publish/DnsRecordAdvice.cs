using System.Text;

namespace Rampart.Core.Publish;

/// <summary>
/// One DNS record to publish: owner name (absolute, no trailing dot), type, presentation-form data and why. A record
/// that is advice only (the operator picks the address) has <see cref="IsAdvice"/> set and is rendered as a comment.
/// </summary>
public sealed record DnsRecordAdvice(string Name, string Type, string Data, string Comment, bool IsAdvice = false)
{
    /// <summary>A BIND zone-file line (absolute owner name, class IN, the zone's default TTL).</summary>
    public string ZoneLine => (IsAdvice ? "; " : "") + $"{Name}. IN {Type} {Data}";

    /// <summary>TXT presentation data: the value split into quoted character-strings of at most 255 bytes (RFC 1035 §3.3.14).</summary>
    public static string TxtData(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var parts = new List<string>();
        for (var start = 0; start < value.Length || parts.Count == 0; start += 255)
        {
            var chunk = value.Substring(start, Math.Min(255, value.Length - start));
            parts.Add('"' + chunk.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + '"');
        }
        return string.Join(' ', parts);
    }

    /// <summary>Joins TXT character-strings back to the value (what a resolver hands a TXT consumer).</summary>
    public static string TxtValue(string data)
    {
        ArgumentNullException.ThrowIfNull(data);
        var value = new StringBuilder();
        var inQuotes = false;
        for (var i = 0; i < data.Length; i++)
        {
            var c = data[i];
            if (c == '"')
            {
                inQuotes = !inQuotes;
            }
            else if (inQuotes && c == '\\' && i + 1 < data.Length)
            {
                value.Append(data[++i]);
            }
            else if (inQuotes)
            {
                value.Append(c);
            }
        }
        return value.ToString();
    }
}
