using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Rampart.Core.TlsRpt;

/// <summary>What a reader of the report's envelope (the email) knows besides the JSON: used only to fill gaps.</summary>
/// <param name="ReportDomain">The TLS-Report-Domain header.</param>
/// <param name="Submitter">The TLS-Report-Submitter header.</param>
public sealed record TlsRptEnvelopeHints(string? ReportDomain, string? Submitter);

/// <summary>A parsed report, or why the input is not one (one line naming the field and the rule).</summary>
public sealed record TlsRptParseResult(TlsRptReport? Report, string? Error)
{
    public static TlsRptParseResult Rejected(string error) => new(null, error);
}

/// <summary>
/// Reads RFC 8460 §4.4 report JSON leniently and says exactly what it bent: datetimes without a zone (read as UTC),
/// mx-host as a string, a TLSA policy-string holding one JSON-encoded array, <c>contact-info: null</c>, empty strings
/// for absent fields, the <c>receiving-mx-host-name</c> spelling, failure counts that do not add up, unknown policy and
/// result types (kept). Rejects only what cannot be a report: no report-id, no date-range, no policies, broken JSON,
/// JSON nested too deep, or more than <see cref="TlsRptReadSettings.MaxReportBytes"/>. The JSON is read as a stream.
/// </summary>
public static partial class TlsRptReportParser
{
    private static readonly ConcurrentDictionary<int, TlsRptJsonContext> s_contexts = new();

    /// <summary>Parses report JSON from <paramref name="json"/>, reading at most <see cref="TlsRptReadSettings.MaxReportBytes"/>.</summary>
    public static async Task<TlsRptParseResult> ParseAsync(
        Stream json, TlsRptReadSettings settings, TlsRptEnvelopeHints? hints = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(json);
        ArgumentNullException.ThrowIfNull(settings);
        var context = Context(settings.MaxJsonDepth);
        var bounded = new BoundedReadStream(json, settings.MaxReportBytes, leaveOpen: true);
        await using (bounded.ConfigureAwait(false))
        {
            ReportDto? dto;
            try
            {
                dto = await JsonSerializer.DeserializeAsync(bounded, context.ReportDto, cancellationToken).ConfigureAwait(false);
            }
            catch (TlsRptSizeLimitException ex)
            {
                return TlsRptParseResult.Rejected($"report JSON is larger than {Size(ex.Limit)} (the limit on one report)");
            }
            catch (JsonException ex)
            {
                return TlsRptParseResult.Rejected(JsonError(ex, settings.MaxJsonDepth));
            }
            catch (InvalidOperationException ex)
            {
                return TlsRptParseResult.Rejected("not valid JSON: " + OneLine(ex.Message));
            }
            catch (DecoderFallbackException ex)
            {
                return TlsRptParseResult.Rejected("not valid UTF-8 JSON: " + OneLine(ex.Message));
            }
            return Normalize(dto, hints);
        }
    }

    /// <summary>Parses report JSON held in memory (tests, the HTTPS receiver).</summary>
    public static TlsRptParseResult Parse(ReadOnlySpan<byte> json, TlsRptReadSettings? settings = null, TlsRptEnvelopeHints? hints = null)
    {
        settings ??= new TlsRptReadSettings();
        if (json.Length > settings.MaxReportBytes)
        {
            return TlsRptParseResult.Rejected($"report JSON is larger than {Size(settings.MaxReportBytes)} (the limit on one report)");
        }
        try
        {
            return Normalize(JsonSerializer.Deserialize(json, Context(settings.MaxJsonDepth).ReportDto), hints);
        }
        catch (JsonException ex)
        {
            return TlsRptParseResult.Rejected(JsonError(ex, settings.MaxJsonDepth));
        }
        catch (InvalidOperationException ex)
        {
            return TlsRptParseResult.Rejected("not valid JSON: " + OneLine(ex.Message));
        }
    }

    /// <summary>Parses report JSON text.</summary>
    public static TlsRptParseResult Parse(string json, TlsRptReadSettings? settings = null, TlsRptEnvelopeHints? hints = null) =>
        Parse(Encoding.UTF8.GetBytes(json), settings, hints);

    internal static string Size(long bytes) =>
        bytes % (1024 * 1024) == 0 ? $"{bytes / (1024 * 1024)} MiB" : bytes % 1024 == 0 ? $"{bytes / 1024} KiB" : $"{bytes} bytes";

    private static TlsRptJsonContext Context(int maxDepth) =>
        s_contexts.GetOrAdd(maxDepth, d => new TlsRptJsonContext(new JsonSerializerOptions(TlsRptJsonContext.Default.Options) { MaxDepth = d }));

    private static string JsonError(JsonException ex, int maxDepth)
    {
        var message = OneLine(ex.Message);
        if (message.Contains("maximum configured depth", StringComparison.OrdinalIgnoreCase) ||
            ex.InnerException?.Message.Contains("maximum configured depth", StringComparison.OrdinalIgnoreCase) == true)
        {
            return $"JSON nested deeper than {maxDepth} levels (a TLS-RPT report needs 5)";
        }
        if (ex.Path is "$" && message.Contains("could not be converted", StringComparison.Ordinal))
        {
            return "not a TLS-RPT report: the JSON is not an object";
        }
        if (message.Contains("could not be converted", StringComparison.Ordinal))
        {
            return $"not a TLS-RPT report: {ex.Path} has the wrong JSON type";
        }
        return "not valid JSON" + Position(ex) + ": " + PlainJsonMessage(message);
    }

    /// <summary>Where the reader stopped, counted from 1 as an editor shows it: <c> at line 3, byte 17</c>; empty when unknown.</summary>
    private static string Position(JsonException ex) =>
        ex.LineNumber is { } line && ex.BytePositionInLine is { } column ? $" at line {line + 1}, byte {column + 1}" : "";

    /// <summary>The reader's own sentence without its trailer of "Path: $ | LineNumber: 0 | BytePositionInLine: 1." (said in plain words by <see cref="Position"/>).</summary>
    internal static string PlainJsonMessage(string message)
    {
        var cut = message.IndexOf(" Path: ", StringComparison.Ordinal) is var path and >= 0 ? path : message.IndexOf(" LineNumber: ", StringComparison.Ordinal);
        var sentence = (cut >= 0 ? message[..cut] : message).Trim().TrimEnd('.');
        return sentence.Length == 0 ? "the text ends or breaks where JSON cannot" : sentence;
    }

    internal static string OneLine(string text) => DisplayText.Sanitize(string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries)).Trim(), 500);

    private static TlsRptParseResult Normalize(ReportDto? dto, TlsRptEnvelopeHints? hints)
    {
        if (dto is null)
        {
            return TlsRptParseResult.Rejected("not a TLS-RPT report: the JSON is null");
        }
        if (dto.ReportId is null && dto.DateRange is null && dto.Policies is null)
        {
            return TlsRptParseResult.Rejected("not a TLS-RPT report: no report-id, date-range or policies (RFC 8460 §4.4)");
        }
        var warnings = new Warnings();
        var reportId = Blank(dto.ReportId);
        if (reportId is null)
        {
            return TlsRptParseResult.Rejected("report-id is missing or empty (RFC 8460 §4.4: it names the report)");
        }
        var organization = Blank(dto.OrganizationName);
        if (organization is null)
        {
            organization = Blank(hints?.Submitter) ?? Blank(dto.ContactInfo);
            if (organization is null)
            {
                return TlsRptParseResult.Rejected("organization-name is missing or empty (RFC 8460 §4.4)");
            }
            warnings.Add($"organization-name is missing; using '{organization}' from {(Blank(hints?.Submitter) is null ? "contact-info" : "the TLS-Report-Submitter header")}");
        }
        if (dto.DateRange is null)
        {
            return TlsRptParseResult.Rejected("date-range is missing (RFC 8460 §4.4)");
        }
        if (!TryDate(dto.DateRange.Start, "start-datetime", warnings, out var start, out var startError))
        {
            return TlsRptParseResult.Rejected(startError);
        }
        if (!TryDate(dto.DateRange.End, "end-datetime", warnings, out var end, out var endError))
        {
            return TlsRptParseResult.Rejected(endError);
        }
        if (end < start)
        {
            warnings.Add($"date-range ends ({end:O}) before it starts ({start:O}); kept as sent");
        }
        if (dto.ContactInfo is { } contact && Blank(contact) is null)
        {
            warnings.Add("contact-info is an empty string; read as absent");
        }
        if (dto.Policies is null)
        {
            return TlsRptParseResult.Rejected("policies is missing (RFC 8460 §4.4)");
        }
        if (dto.Policies.Count == 0)
        {
            warnings.Add("policies is empty: the report counts no sessions");
        }

        var policies = new List<TlsRptPolicyResult>(dto.Policies.Count);
        foreach (var entry in dto.Policies)
        {
            if (entry is null)
            {
                warnings.Add("a policies entry is null; skipped");
                continue;
            }
            policies.Add(Policy(entry, policies.Count + 1, warnings));
        }
        // A policy without policy-domain (seen from Google for no-policy-found) takes the domain the report is about.
        if (policies.Any(p => p.PolicyDomain.Length == 0))
        {
            var known = policies.Select(p => p.PolicyDomain).Where(d => d.Length > 0).Distinct(StringComparer.Ordinal).ToList();
            var fill = known.Count == 1 ? known[0] : Domain(hints?.ReportDomain) ?? "";
            warnings.Add(fill.Length > 0
                ? $"policy-domain is missing; using '{fill}' from {(known.Count == 1 ? "the report's other policies" : "the TLS-Report-Domain header")}"
                : "policy-domain is missing and nothing else names the domain; kept as unknown");
            for (var i = 0; i < policies.Count; i++)
            {
                if (policies[i].PolicyDomain.Length == 0)
                {
                    policies[i] = policies[i] with { PolicyDomain = fill };
                }
            }
        }
        return new TlsRptParseResult(
            new TlsRptReport(organization, start, end, Blank(dto.ContactInfo), reportId, policies) { Warnings = warnings.ToList() }, null);
    }

    private static TlsRptPolicyResult Policy(PolicyEntryDto entry, int index, Warnings warnings)
    {
        var policy = entry.Policy;
        if (policy is null)
        {
            warnings.Add($"policy {index} has no policy object; its counts are kept");
        }
        var type = Blank(policy?.PolicyType)?.ToLowerInvariant() ?? "";
        if (type.Length == 0)
        {
            warnings.Add($"policy {index} has no policy-type");
        }
        else if (!TlsRptPolicyTypes.IsKnown(type))
        {
            warnings.Add($"unknown policy-type '{type}' kept (RFC 8460 defines tlsa, sts, no-policy-found)");
        }

        var strings = policy?.PolicyString?.Items ?? [];
        if (policy?.PolicyString is { WasString: true })
        {
            warnings.Add("policy-string is a string, not an array; read as one line");
        }
        if (strings.Count == 1 && strings[0].TrimStart().StartsWith('['))
        {
            try
            {
                if (JsonSerializer.Deserialize(strings[0], TlsRptJsonContext.Default.ListString) is { } unpacked)
                {
                    strings = unpacked;
                    warnings.Add($"{(type.Length > 0 ? type : "a")} policy-string holds one JSON-encoded array; unpacked into {unpacked.Count} entries");
                }
            }
            catch (JsonException)
            {
                // Not JSON after all: keep the line as it is.
            }
        }

        var domain = Domain(policy?.PolicyDomain) ?? "";

        var mx = new List<string>();
        if (policy?.MxHost is { } mxHost)
        {
            if (mxHost.WasString)
            {
                warnings.Add("mx-host is a string, not an array (RFC 8460 before errata 6241); read as one entry");
            }
            foreach (var raw in mxHost.Items)
            {
                var host = raw.Trim();
                if (MxPrefix().Match(host) is { Success: true } prefixed)
                {
                    warnings.Add("mx-host entries carry an 'mx:' prefix; removed");
                    host = prefixed.Groups[1].Value;
                }
                if (Domain(host) is { } name)
                {
                    mx.Add(name);
                }
            }
        }

        long successful = 0, failed = 0;
        if (entry.Summary is null)
        {
            warnings.Add($"policy {index} has no summary; its session counts read as 0");
        }
        else
        {
            successful = Count(entry.Summary.Successful, "total-successful-session-count", warnings);
            failed = Count(entry.Summary.Failed, "total-failure-session-count", warnings);
        }

        var details = new List<TlsRptFailureDetail>(entry.FailureDetails?.Count ?? 0);
        long detailSum = 0;
        foreach (var d in entry.FailureDetails ?? [])
        {
            if (d is null)
            {
                warnings.Add("a failure-details entry is null; skipped");
                continue;
            }
            var resultType = Blank(d.ResultType)?.ToLowerInvariant();
            if (resultType is null)
            {
                warnings.Add("a failure-details entry has no result-type; counted as 'unspecified'");
                resultType = "unspecified";
            }
            else if (!TlsRptResultTypes.IsKnown(resultType))
            {
                warnings.Add($"unknown result-type '{resultType}' kept");
            }
            var mxName = Blank(d.ReceivingMxHostname);
            if (mxName is null && Blank(d.ReceivingMxHostNameMisspelt) is { } misspelt)
            {
                warnings.Add("failure-details use 'receiving-mx-host-name'; read as receiving-mx-hostname");
                mxName = misspelt;
            }
            if (IsEmptyString(d.SendingMtaIp) || IsEmptyString(d.ReceivingIp) || IsEmptyString(d.ReceivingMxHostname) ||
                IsEmptyString(d.AdditionalInformation) || IsEmptyString(d.FailureReasonCode) || IsEmptyString(d.ReceivingMxHelo))
            {
                warnings.Add("failure-details hold empty strings; read as absent");
            }
            long count;
            if (d.FailedSessionCount is null)
            {
                warnings.Add("a failure-details entry has no failed-session-count; read as 0");
                count = 0;
            }
            else
            {
                count = Count(d.FailedSessionCount, "failed-session-count", warnings);
            }
            detailSum += count;
            details.Add(new TlsRptFailureDetail(
                resultType, Blank(d.SendingMtaIp), Domain(mxName), Blank(d.ReceivingMxHelo), Blank(d.ReceivingIp), count,
                Blank(d.AdditionalInformation), Blank(d.FailureReasonCode)));
        }
        if (details.Count > 0 && detailSum != failed)
        {
            warnings.Add($"policy {index}{(domain.Length > 0 ? $" ({domain})" : "")}: failure-details add up to {detailSum} sessions but " +
                         $"total-failure-session-count is {failed}; both kept as sent");
        }
        return new TlsRptPolicyResult(type, strings, domain, mx, successful, failed, details);
    }

    /// <summary>
    /// The largest session count believed: more than a sender makes to one policy domain in a day (ten million a
    /// second). A count above it is read as 0, so the sums over a report's policies and over stored reports cannot
    /// overflow (two counts near 2^63 made <see cref="TlsRptReport.TotalFailed"/> throw; found writing the tlsrpt-json fuzz target).
    /// </summary>
    public const long MaxSessionCount = 1_000_000_000_000;

    private static long Count(LenientCount? count, string field, Warnings warnings)
    {
        switch (count)
        {
            case null:
                if (field != "failed-session-count")
                {
                    warnings.Add($"{field} is missing; read as 0");
                }
                return 0;
            case { Value: > MaxSessionCount }:
                warnings.Add($"{field} {count.Raw} is more sessions than a report can hold (at most {MaxSessionCount}); read as 0");
                return 0;
            case { Value: { } value }:
                if (count.Raw.StartsWith('"'))
                {
                    warnings.Add($"{field} is a string ({count.Raw}); read as {value}");
                }
                return value;
            default:
                warnings.Add($"{field} {count.Raw} is not a non-negative integer; read as 0");
                return 0;
        }
    }

    private static bool TryDate(string? text, string field, Warnings warnings, out DateTimeOffset value, out string error)
    {
        value = default;
        error = "";
        var trimmed = Blank(text);
        if (trimmed is null)
        {
            error = $"date-range.{field} is missing (RFC 8460 §4.4)";
            return false;
        }
        var hasZone = ZoneSuffix().IsMatch(trimmed);
        if (!DateTimeOffset.TryParse(trimmed, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out value))
        {
            error = $"date-range.{field} '{Truncate(trimmed, 40)}' is not an RFC 3339 date-time";
            return false;
        }
        value = value.ToUniversalTime();
        if (!hasZone)
        {
            warnings.Add("date-range datetimes have no time zone (not RFC 3339); read as UTC");
        }
        return true;
    }

    private static string Truncate(string text, int max) => text.Length <= max ? text : text[..max] + "…";

    private static bool IsEmptyString(string? value) => value is not null && value.Trim().Length == 0;

    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    /// <summary>A domain or host name in lower case without the trailing dot; null when empty.</summary>
    internal static string? Domain(string? value) => Blank(value)?.TrimEnd('.').ToLowerInvariant() is { Length: > 0 } d ? d : null;

    [GeneratedRegex(@"(?:Z|[+-]\d\d:?\d\d)$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex ZoneSuffix();

    [GeneratedRegex(@"^mx:\s*(\S+)$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex MxPrefix();

    /// <summary>Warnings in first-seen order, each once (100,000 failure details with one quirk give one line).</summary>
    private sealed class Warnings
    {
        private readonly List<string> _list = [];
        private readonly HashSet<string> _seen = new(StringComparer.Ordinal);

        public void Add(string warning)
        {
            if (_list.Count < 100 && _seen.Add(warning))
            {
                _list.Add(warning);
            }
        }

        public List<string> ToList() => _list;
    }
}
