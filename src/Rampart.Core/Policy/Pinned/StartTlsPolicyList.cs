using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Rampart.Core.Policy.Pinned;

/// <summary>
/// A STARTTLS Policy List (EFF STARTTLS Everywhere, <c>policy.json</c>; format in the project's RULES.md):
/// <code>
/// { "version": "0.1", "timestamp": "2026-11-01T00:00:00+00:00", "expires": "2026-11-15T00:00:00+00:00",
///   "policy-aliases": { "gmail": { "mode": "enforce", "mxs": [".mail.google.com"] } },
///   "policies": { "gmail.com": { "policy-alias": "gmail" },
///                 "example.com": { "mode": "testing", "mxs": ["mail.example.com", ".example.net"] } } }
/// </code>
/// </summary>
/// <remarks>
/// <para><b>Mapping.</b> Each domain becomes <c>secure match=&lt;mxs joined by ':'&gt; servername=hostname</c>.
/// A leading-dot entry (<c>.example.net</c>) is kept as is: the list says "arbitrarily deep subdomains can match a
/// suffix", and Postfix reads <c>.example.net</c> the same way. Domain keys match exactly (no subdomains).</para>
/// <para><b>Modes.</b> <c>mode</c> defaults to <c>testing</c> (with a warning). Testing entries are returned with
/// <see cref="PinnedPolicyMode.Testing"/>: the caller logs them and does not enforce.</para>
/// <para><b>Aliases.</b> <c>policy-alias</c> names an entry of <c>policy-aliases</c>; other fields beside it are
/// ignored (warning). An unknown alias, or a bad policy, is an error for that domain only; the other domains are kept.</para>
/// <para><b>Expiry.</b> <c>expires</c> (a date-time string, UTC when no offset is given, or epoch seconds) is
/// honoured as the list's RULES.md asks: once expired, "the MTA should fall back to opportunistic TLS, and the
/// operator should be alerted". So an expired list is <em>not enforced</em>: its entries are kept here (for
/// <c>check</c> and logs) but <see cref="PinnedPolicySet.TryGet"/> ignores them and returns a loud warning instead.
/// Enforcing a stale list would bounce mail for domains that have since changed MX; failing open matches what the
/// list's authors ask for. A list without <c>expires</c> never expires (warning); an unreadable <c>expires</c> is
/// an error and no entries are returned, since the list's lifetime cannot be honoured.</para>
/// <para><b>Limits.</b> At most <see cref="MaxBytes"/> bytes and <see cref="MaxDepth"/> levels of nesting. Comments
/// and trailing commas are tolerated. Malformed JSON gives one error with its line and byte position.
/// <c>pin</c> (SPKI pinsets) and <c>report</c> are not supported; <c>pin</c> draws a warning.</para>
/// </remarks>
public sealed partial class StartTlsPolicyList
{
    /// <summary>Largest accepted input.</summary>
    public const int MaxBytes = 50 * 1024 * 1024;

    /// <summary>Deepest accepted JSON nesting (the format needs 4).</summary>
    public const int MaxDepth = 16;

    private StartTlsPolicyList(string source)
    {
        Source = source;
    }

    /// <summary>The file name (or URL) the list came from.</summary>
    public string Source { get; }

    /// <summary>The top-level <c>version</c>, when present.</summary>
    public string? Version { get; private set; }

    /// <summary>The top-level <c>timestamp</c>, when present and readable.</summary>
    public DateTimeOffset? Timestamp { get; private set; }

    /// <summary>The top-level <c>expires</c>; null when absent (the list never expires).</summary>
    public DateTimeOffset? Expires { get; private set; }

    /// <summary>The valid domain policies, keyed exactly, in file order.</summary>
    public IReadOnlyList<PinnedPolicy> Entries { get; private set; } = [];

    public IReadOnlyList<PinnedDiagnostic> Errors { get; private set; } = [];

    public IReadOnlyList<PinnedDiagnostic> Warnings { get; private set; } = [];

    /// <summary>True when there is at least one entry to use.</summary>
    public bool IsUsable => Entries.Count > 0;

    /// <summary>True once <paramref name="now"/> is at or past <see cref="Expires"/>.</summary>
    public bool IsExpired(DateTimeOffset now) => Expires is { } expires && now >= expires;

    /// <summary>Reads a policy list. Never throws on content: problems are returned in <see cref="Errors"/>/<see cref="Warnings"/>.</summary>
    public static StartTlsPolicyList Parse(ReadOnlySpan<byte> json, string source)
    {
        ArgumentNullException.ThrowIfNull(source);
        var list = new StartTlsPolicyList(source);
        var errors = new List<PinnedDiagnostic>();
        var warnings = new List<PinnedDiagnostic>();
        try
        {
            list.ParseCore(json, errors, warnings);
        }
        finally
        {
            list.Errors = errors;
            list.Warnings = warnings;
        }

        return list;
    }

    /// <summary>Reads a policy list from text (UTF-8 encoded first).</summary>
    public static StartTlsPolicyList Parse(string json, string source)
    {
        ArgumentNullException.ThrowIfNull(json);
        if (json.Length > MaxBytes)
        {
            var list = new StartTlsPolicyList(source ?? throw new ArgumentNullException(nameof(source)));
            list.Errors = [new(source, 0, null, $"the policy list is larger than {MaxBytes} bytes; nothing was read")];
            return list;
        }

        return Parse(Encoding.UTF8.GetBytes(json), source);
    }

    private void ParseCore(ReadOnlySpan<byte> json, List<PinnedDiagnostic> errors, List<PinnedDiagnostic> warnings)
    {
        void Error(string? key, string message) => errors.Add(new(Source, 0, key, message));
        void Warn(string? key, string message) => warnings.Add(new(Source, 0, key, message));

        if (json.Length > MaxBytes)
        {
            Error(null, $"the policy list is larger than {MaxBytes} bytes; nothing was read");
            return;
        }

        if (json.StartsWith("\uFEFF"u8))
        {
            json = json[3..];
        }

        JsonDocument document;
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions
            {
                MaxDepth = MaxDepth,
                CommentHandling = JsonCommentHandling.Skip,
                AllowTrailingCommas = true,
            });
            document = JsonDocument.ParseValue(ref reader);
            try
            {
                if (reader.Read())
                {
                    document.Dispose();
                    Error(null, "unexpected data after the JSON value");
                    return;
                }
            }
            catch (JsonException ex)
            {
                document.Dispose();
                errors.Add(Malformed(ex));
                return;
            }
        }
        catch (JsonException ex)
        {
            errors.Add(Malformed(ex));
            return;
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                Error(null, $"the policy list must be a JSON object, not {Kind(root)}");
                return;
            }

            if (root.TryGetProperty("version", out var version))
            {
                Version = version.ValueKind == JsonValueKind.String ? version.GetString() : version.GetRawText();
            }
            else
            {
                Warn("version", "no 'version'");
            }

            if (root.TryGetProperty("timestamp", out var timestamp))
            {
                if (TryReadTime(timestamp, out var time))
                {
                    Timestamp = time;
                }
                else
                {
                    Warn("timestamp", $"'timestamp' {Show(timestamp)} is not a date-time or epoch seconds; ignored");
                }
            }

            if (root.TryGetProperty("expires", out var expires))
            {
                if (!TryReadTime(expires, out var time))
                {
                    Error("expires", $"'expires' {Show(expires)} is not a date-time (yyyy-MM-ddTHH:mm:ss[+zz:zz]) or epoch seconds; the list cannot be honoured, so no policy is used");
                    return;
                }

                Expires = time;
            }
            else
            {
                Warn("expires", "no 'expires': the list is treated as never expiring; lists must be refreshed at least every 48 hours");
            }

            var aliases = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
            if (root.TryGetProperty("policy-aliases", out var aliasObject))
            {
                if (aliasObject.ValueKind != JsonValueKind.Object)
                {
                    Error("policy-aliases", $"'policy-aliases' must be an object, not {Kind(aliasObject)}");
                }
                else
                {
                    foreach (var alias in aliasObject.EnumerateObject())
                    {
                        if (!aliases.TryAdd(alias.Name, alias.Value))
                        {
                            Warn($"policy-aliases.{alias.Name}", $"alias '{PinnedSyntax.Printable(alias.Name)}' is defined twice; the first is used");
                        }
                    }
                }
            }

            if (!root.TryGetProperty("policies", out var policies))
            {
                Error("policies", "no 'policies' object");
                return;
            }

            if (policies.ValueKind != JsonValueKind.Object)
            {
                Error("policies", $"'policies' must be an object, not {Kind(policies)}");
                return;
            }

            var entries = new List<PinnedPolicy>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in policies.EnumerateObject())
            {
                string path = "policies." + PinnedSyntax.Printable(property.Name);
                if (!PinnedSyntax.TryParseDomainKey(property.Name, allowSuffix: false, out string? domain, out string? keyError))
                {
                    Error(path, $"key: {keyError}");
                    continue;
                }

                if (!seen.Add(domain))
                {
                    Warn(path, $"'{domain}' is listed twice; the first policy is used");
                    continue;
                }

                var entry = ReadPolicy(domain, path, property.Value, aliases, Error, Warn);
                if (entry is not null)
                {
                    entries.Add(entry);
                }
            }

            Entries = entries;
        }
    }

    private PinnedPolicy? ReadPolicy(string domain, string path, JsonElement policy, Dictionary<string, JsonElement> aliases,
        Action<string?, string> error, Action<string?, string> warn)
    {
        if (policy.ValueKind != JsonValueKind.Object)
        {
            error(path, $"the policy for '{domain}' must be an object, not {Kind(policy)}");
            return null;
        }

        string where = path;
        if (policy.TryGetProperty("policy-alias", out var aliasName))
        {
            if (aliasName.ValueKind != JsonValueKind.String)
            {
                error(path, $"'policy-alias' must be a string, not {Kind(aliasName)}");
                return null;
            }

            string name = aliasName.GetString()!;
            if (!aliases.TryGetValue(name, out var aliased))
            {
                error(path, $"unknown policy-alias '{PinnedSyntax.Printable(name)}' (not in 'policy-aliases'); '{domain}' has no policy");
                return null;
            }

            if (policy.EnumerateObject().Any(p => p.Name != "policy-alias"))
            {
                warn(path, $"'{domain}' sets 'policy-alias' and other fields; the other fields are ignored");
            }

            where = "policy-aliases." + PinnedSyntax.Printable(name);
            if (aliased.ValueKind == JsonValueKind.Object && aliased.TryGetProperty("policy-alias", out _))
            {
                error(path, $"alias '{PinnedSyntax.Printable(name)}' itself names a 'policy-alias'; aliases cannot be chained");
                return null;
            }

            policy = aliased;
            if (policy.ValueKind != JsonValueKind.Object)
            {
                error(path, $"alias '{PinnedSyntax.Printable(name)}' must be an object, not {Kind(policy)}");
                return null;
            }
        }

        var mode = PinnedPolicyMode.Testing;
        if (policy.TryGetProperty("mode", out var modeValue))
        {
            switch (modeValue.ValueKind == JsonValueKind.String ? modeValue.GetString() : null)
            {
                case "enforce":
                    mode = PinnedPolicyMode.Enforce;
                    break;
                case "testing":
                    break;
                default:
                    error(path, $"'mode' {Show(modeValue)} (in {where}) is neither \"enforce\" nor \"testing\"");
                    return null;
            }
        }
        else
        {
            warn(path, $"no 'mode' (in {where}); 'testing' is assumed, so the policy is not enforced");
        }

        if (policy.TryGetProperty("pin", out _))
        {
            warn(path, $"'pin' (in {where}) is not supported: SPKI pins are not checked, only the mx names");
        }

        if (!policy.TryGetProperty("mxs", out var mxs) || mxs.ValueKind != JsonValueKind.Array || mxs.GetArrayLength() == 0)
        {
            error(path, $"'mxs' (in {where}) must be a non-empty array of host names or '.suffix' names");
            return null;
        }

        var match = new List<string>();
        bool ok = true;
        foreach (var mx in mxs.EnumerateArray())
        {
            if (mx.ValueKind != JsonValueKind.String)
            {
                error(path, $"an 'mxs' item (in {where}) is {Kind(mx)}, not a string");
                ok = false;
                continue;
            }

            if (!PinnedSyntax.TryParseNamePattern(mx.GetString()!, out string? pattern, out string? reason))
            {
                error(path, $"'mxs' (in {where}): {reason}");
                ok = false;
                continue;
            }

            if (!match.Contains(pattern))
            {
                match.Add(pattern);
            }
        }

        if (!ok)
        {
            return null;
        }

        return new PinnedPolicy(domain, TlsRequirement.Secure(match), mode, new PinnedPolicySource(PinnedPolicyOrigin.PolicyList, Source, 0, path), Expires);
    }

    private PinnedDiagnostic Malformed(JsonException ex)
    {
        int line = ex.LineNumber is { } l ? (int)Math.Min(int.MaxValue - 1, l) + 1 : 0;
        string position = ex.BytePositionInLine is { } b ? $", byte {b + 1} of the line" : "";
        string reason = ex.Message;
        int cut = reason.IndexOf(" Path:", StringComparison.Ordinal);
        if (cut < 0)
        {
            cut = reason.IndexOf(" LineNumber:", StringComparison.Ordinal);
        }

        if (cut > 0)
        {
            reason = reason[..cut];
        }

        return new PinnedDiagnostic(Source, line, null, $"malformed JSON at line {line}{position}: {PinnedSyntax.Printable(reason, 300)}");
    }

    /// <summary>RULES.md: epoch seconds, or a date-time string (UTC when no offset is given).</summary>
    private static bool TryReadTime(JsonElement value, out DateTimeOffset time)
    {
        time = default;
        if (value.ValueKind == JsonValueKind.Number)
        {
            if (!value.TryGetDouble(out double seconds) || double.IsNaN(seconds)
                || seconds <= -62_135_596_800d || seconds >= 253_402_300_799d)
            {
                return false;
            }

            time = DateTimeOffset.UnixEpoch.AddTicks((long)(seconds * TimeSpan.TicksPerSecond));
            return true;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            return false;
        }

        string text = value.GetString()!;
        return IsoDateTime().IsMatch(text)
            && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out time);
    }

    private static string Kind(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => "null",
    };

    private static string Show(JsonElement element) => PinnedSyntax.Printable(element.GetRawText());

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?([Zz]|[+-]\d{2}(:?\d{2})?)?)?$", RegexOptions.CultureInvariant)]
    private static partial Regex IsoDateTime();
}
