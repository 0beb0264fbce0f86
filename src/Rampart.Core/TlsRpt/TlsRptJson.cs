using System.Buffers;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Rampart.Core.TlsRpt;

// The wire shape of RFC 8460 §4.4, read leniently: every scalar accepts a string, a number, null or the wrong type
// (read as absent), and policy-string / mx-host accept a string or an array. Lists stay with the default converters so
// System.Text.Json reads them incrementally (a report with 100,000 failure-details is never buffered as one token).

internal sealed class ReportDto
{
    [JsonPropertyName("organization-name"), JsonConverter(typeof(LenientStringConverter))]
    public string? OrganizationName { get; set; }

    [JsonPropertyName("date-range")]
    public DateRangeDto? DateRange { get; set; }

    [JsonPropertyName("contact-info"), JsonConverter(typeof(LenientStringConverter))]
    public string? ContactInfo { get; set; }

    [JsonPropertyName("report-id"), JsonConverter(typeof(LenientStringConverter))]
    public string? ReportId { get; set; }

    [JsonPropertyName("policies")]
    public List<PolicyEntryDto?>? Policies { get; set; }
}

internal sealed class DateRangeDto
{
    [JsonPropertyName("start-datetime"), JsonConverter(typeof(LenientStringConverter))]
    public string? Start { get; set; }

    [JsonPropertyName("end-datetime"), JsonConverter(typeof(LenientStringConverter))]
    public string? End { get; set; }
}

internal sealed class PolicyEntryDto
{
    [JsonPropertyName("policy")]
    public PolicyDto? Policy { get; set; }

    [JsonPropertyName("summary")]
    public SummaryDto? Summary { get; set; }

    [JsonPropertyName("failure-details")]
    public List<FailureDetailDto?>? FailureDetails { get; set; }
}

internal sealed class PolicyDto
{
    [JsonPropertyName("policy-type"), JsonConverter(typeof(LenientStringConverter))]
    public string? PolicyType { get; set; }

    [JsonPropertyName("policy-string"), JsonConverter(typeof(LenientStringListConverter))]
    public LenientStringList? PolicyString { get; set; }

    [JsonPropertyName("policy-domain"), JsonConverter(typeof(LenientStringConverter))]
    public string? PolicyDomain { get; set; }

    [JsonPropertyName("mx-host"), JsonConverter(typeof(LenientStringListConverter))]
    public LenientStringList? MxHost { get; set; }
}

internal sealed class SummaryDto
{
    [JsonPropertyName("total-successful-session-count"), JsonConverter(typeof(LenientCountConverter))]
    public LenientCount? Successful { get; set; }

    [JsonPropertyName("total-failure-session-count"), JsonConverter(typeof(LenientCountConverter))]
    public LenientCount? Failed { get; set; }
}

internal sealed class FailureDetailDto
{
    [JsonPropertyName("result-type"), JsonConverter(typeof(LenientStringConverter))]
    public string? ResultType { get; set; }

    [JsonPropertyName("sending-mta-ip"), JsonConverter(typeof(LenientStringConverter))]
    public string? SendingMtaIp { get; set; }

    [JsonPropertyName("receiving-mx-hostname"), JsonConverter(typeof(LenientStringConverter))]
    public string? ReceivingMxHostname { get; set; }

    /// <summary>The misspelling some senders (SocketLabs) use.</summary>
    [JsonPropertyName("receiving-mx-host-name"), JsonConverter(typeof(LenientStringConverter))]
    public string? ReceivingMxHostNameMisspelt { get; set; }

    [JsonPropertyName("receiving-mx-helo"), JsonConverter(typeof(LenientStringConverter))]
    public string? ReceivingMxHelo { get; set; }

    [JsonPropertyName("receiving-ip"), JsonConverter(typeof(LenientStringConverter))]
    public string? ReceivingIp { get; set; }

    [JsonPropertyName("failed-session-count"), JsonConverter(typeof(LenientCountConverter))]
    public LenientCount? FailedSessionCount { get; set; }

    [JsonPropertyName("additional-information"), JsonConverter(typeof(LenientStringConverter))]
    public string? AdditionalInformation { get; set; }

    [JsonPropertyName("failure-reason-code"), JsonConverter(typeof(LenientStringConverter))]
    public string? FailureReasonCode { get; set; }
}

/// <summary>A string list and whether the sender gave a bare string instead of an array.</summary>
internal sealed record LenientStringList(List<string> Items, bool WasString);

/// <summary>A count; <see cref="Value"/> is null when the value was not a usable non-negative integer (<see cref="Raw"/> says what it was).</summary>
internal sealed record LenientCount(long? Value, string Raw);

/// <summary>Strings as they are; numbers and booleans as their text; null, objects and arrays as absent.</summary>
internal sealed class LenientStringConverter : JsonConverter<string?>
{
    public override bool HandleNull => true;

    public override string? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.String:
                return reader.GetString();
            case JsonTokenType.Number:
                return System.Text.Encoding.UTF8.GetString(reader.HasValueSequence ? reader.ValueSequence.ToArray() : reader.ValueSpan);
            case JsonTokenType.True:
                return "true";
            case JsonTokenType.False:
                return "false";
            case JsonTokenType.StartObject or JsonTokenType.StartArray:
                reader.Skip();
                return null;
            default:
                return null;
        }
    }

    public override void Write(Utf8JsonWriter writer, string? value, JsonSerializerOptions options) => writer.WriteStringValue(value);
}

/// <summary>An array of strings (non-string items as their text, nulls dropped) or one bare string.</summary>
internal sealed class LenientStringListConverter : JsonConverter<LenientStringList?>
{
    private static readonly LenientStringConverter s_item = new();

    public override bool HandleNull => true;

    public override LenientStringList? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.StartArray:
                var items = new List<string>();
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (s_item.Read(ref reader, typeof(string), options) is { } item)
                    {
                        items.Add(item);
                    }
                }
                return new LenientStringList(items, WasString: false);
            case JsonTokenType.String:
                return new LenientStringList([reader.GetString()!], WasString: true);
            case JsonTokenType.StartObject:
                reader.Skip();
                return null;
            default:
                return null;
        }
    }

    public override void Write(Utf8JsonWriter writer, LenientStringList? value, JsonSerializerOptions options) => throw new NotSupportedException();
}

/// <summary>A session count: an integer, or a string holding one; anything else is kept as text for the warning.</summary>
internal sealed class LenientCountConverter : JsonConverter<LenientCount?>
{
    public override bool HandleNull => true;

    public override LenientCount? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.Number:
                var text = System.Text.Encoding.UTF8.GetString(reader.HasValueSequence ? reader.ValueSequence.ToArray() : reader.ValueSpan);
                return new LenientCount(reader.TryGetInt64(out var n) && n >= 0 ? n : null, text);
            case JsonTokenType.String:
                var s = reader.GetString() ?? "";
                return new LenientCount(long.TryParse(s.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) ? parsed : null, '"' + s + '"');
            case JsonTokenType.StartObject or JsonTokenType.StartArray:
                reader.Skip();
                return new LenientCount(null, "a JSON " + (reader.TokenType == JsonTokenType.EndObject ? "object" : "array"));
            case JsonTokenType.Null:
                return null;
            default:
                return new LenientCount(null, reader.TokenType == JsonTokenType.True ? "true" : "false");
        }
    }

    public override void Write(Utf8JsonWriter writer, LenientCount? value, JsonSerializerOptions options) => throw new NotSupportedException();
}

[JsonSourceGenerationOptions(
    AllowTrailingCommas = true,
    ReadCommentHandling = JsonCommentHandling.Skip,
    PropertyNameCaseInsensitive = false)]
[JsonSerializable(typeof(ReportDto))]
[JsonSerializable(typeof(List<string>))]
internal sealed partial class TlsRptJsonContext : JsonSerializerContext;
