using System.IO.Compression;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Rampart.Core.TlsRpt;

/// <summary>
/// Writes a report as RFC 8460 §4.4 JSON, exactly: the required fields always, datetimes as <c>yyyy-MM-ddTHH:mm:ssZ</c>,
/// optional failure-detail fields only when known, policy-string and mx-host only when non-empty. What it writes reads
/// back through <see cref="TlsRptReportParser"/> without a warning and writes again byte for byte.
/// </summary>
public static class TlsRptReportWriter
{
    /// <summary>Writes <paramref name="report"/> as one JSON object into <paramref name="writer"/>.</summary>
    public static void Write(Utf8JsonWriter writer, TlsRptReport report)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(report);
        writer.WriteStartObject();
        writer.WriteString("organization-name", report.OrganizationName);
        writer.WriteStartObject("date-range");
        writer.WriteString("start-datetime", Stamp(report.StartDatetime));
        writer.WriteString("end-datetime", Stamp(report.EndDatetime));
        writer.WriteEndObject();
        writer.WriteString("contact-info", report.ContactInfo ?? "");
        writer.WriteString("report-id", report.ReportId);
        writer.WriteStartArray("policies");
        foreach (var policy in report.Policies)
        {
            writer.WriteStartObject();
            writer.WriteStartObject("policy");
            writer.WriteString("policy-type", policy.PolicyType);
            Strings(writer, "policy-string", policy.PolicyString);
            writer.WriteString("policy-domain", policy.PolicyDomain);
            Strings(writer, "mx-host", policy.MxHosts);
            writer.WriteEndObject();
            writer.WriteStartObject("summary");
            writer.WriteNumber("total-successful-session-count", policy.TotalSuccessfulSessionCount);
            writer.WriteNumber("total-failure-session-count", policy.TotalFailureSessionCount);
            writer.WriteEndObject();
            writer.WriteStartArray("failure-details");
            foreach (var detail in policy.FailureDetails)
            {
                writer.WriteStartObject();
                writer.WriteString("result-type", detail.ResultType);
                Optional(writer, "sending-mta-ip", detail.SendingMtaIp);
                Optional(writer, "receiving-mx-hostname", detail.ReceivingMxHostname);
                Optional(writer, "receiving-mx-helo", detail.ReceivingMxHelo);
                Optional(writer, "receiving-ip", detail.ReceivingIp);
                writer.WriteNumber("failed-session-count", detail.FailedSessionCount);
                Optional(writer, "additional-information", detail.AdditionalInformation);
                Optional(writer, "failure-reason-code", detail.FailureReasonCode);
                writer.WriteEndObject();
            }
            writer.WriteEndArray();
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    /// <summary>The report as UTF-8 JSON.</summary>
    public static byte[] ToJson(TlsRptReport report)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            Write(writer, report);
        }
        return buffer.ToArray();
    }

    /// <summary>The report's JSON gzip-compressed: the body of <c>application/tlsrpt+gzip</c> (RFC 8460 §5.1, §6.4).</summary>
    public static byte[] ToGzip(TlsRptReport report) => Gzip(ToJson(report));

    /// <summary>gzip of <paramref name="json"/>.</summary>
    public static byte[] Gzip(byte[] json)
    {
        ArgumentNullException.ThrowIfNull(json);
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Optimal, leaveOpen: true))
        {
            gzip.Write(json);
        }
        return buffer.ToArray();
    }

    private static string Stamp(DateTimeOffset value) =>
        value.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);

    private static void Strings(Utf8JsonWriter writer, string name, IReadOnlyList<string> values)
    {
        if (values.Count == 0)
        {
            return;
        }
        writer.WriteStartArray(name);
        foreach (var value in values)
        {
            writer.WriteStringValue(value);
        }
        writer.WriteEndArray();
    }

    private static void Optional(Utf8JsonWriter writer, string name, string? value)
    {
        if (!string.IsNullOrEmpty(value))
        {
            writer.WriteString(name, value);
        }
    }
}
