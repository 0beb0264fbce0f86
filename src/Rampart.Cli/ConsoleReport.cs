using System.Globalization;
using System.Text.Json;
using Rampart.Core.Check;

namespace Rampart.Cli;

/// <summary>
/// The output pieces the verbs share: the colour of a word by what it means (failure red, warning yellow, ok green,
/// note grey) and the severity and verdict labels for human lines; findings, advice, lists, counts and UTC time
/// stamps for JSON.
/// </summary>
internal static class ConsoleReport
{
    /// <summary>A word that means something failed or was refused (red on a terminal).</summary>
    public static string Failure(string text) => Terminal.Paint(text, ConsoleColor.Red);

    /// <summary>A word that means a warning (yellow on a terminal).</summary>
    public static string Warning(string text) => Terminal.Paint(text, ConsoleColor.Yellow);

    /// <summary>A word that means all is well (green on a terminal).</summary>
    public static string Ok(string text) => Terminal.Paint(text, ConsoleColor.Green);

    /// <summary>A side note or a reference (grey on a terminal).</summary>
    public static string Note(string text) => Terminal.Paint(text, ConsoleColor.Gray);

    /// <summary>A finding's severity, padded to one width: ok, info, warning, FAILURE.</summary>
    public static string Label(CheckSeverity severity) => severity switch
    {
        CheckSeverity.Ok => Ok("ok     "),
        CheckSeverity.Info => Terminal.Paint("info   ", ConsoleColor.Cyan),
        CheckSeverity.Warning => Warning("warning"),
        _ => Failure("FAILURE"),
    };

    /// <summary>A domain's verdict: FAILURE, WARNING or OK.</summary>
    public static string Verdict(CheckStatus status) => status switch
    {
        CheckStatus.Failure => Failure("FAILURE"),
        CheckStatus.Warning => Warning("WARNING"),
        _ => Ok("OK"),
    };

    /// <summary>A piece of advice's severity by its wire name: FAIL (failure), warn (warning), info (anything else).</summary>
    public static string AdviceLabel(string severity) => severity switch
    {
        "failure" => Failure("FAIL"),
        "warning" => Warning("warn"),
        _ => Note("info"),
    };

    /// <summary>
    /// A finding's properties in the current JSON object: id, severity, subject, message, fix, reference (the
    /// DESIGN.md finding shape), then docs (the docs/checks.md section), records (zone-file lines to publish, often
    /// none) and detail (what the one-sentence fix leaves out, often empty); the caller may add more.
    /// </summary>
    public static void WriteFinding(Utf8JsonWriter w, CheckFinding finding)
    {
        w.WriteString("id", finding.Id);
        w.WriteString("severity", CheckFinding.SeverityName(finding.Severity));
        w.WriteString("subject", finding.Subject);
        w.WriteString("message", finding.Message);
        w.WriteString("fix", finding.Fix);
        w.WriteString("reference", finding.Reference);
        w.WriteString("docs", CheckDocs.Anchor(finding.Id));
        WriteStrings(w, "records", finding.Records);
        w.WriteString("detail", finding.Detail);
    }

    /// <summary>A piece of advice as a JSON object: id, severity, message, fix.</summary>
    public static void WriteAdvice(Utf8JsonWriter w, string id, string severity, string message, string fix)
    {
        w.WriteStartObject();
        w.WriteString("id", id);
        w.WriteString("severity", severity);
        w.WriteString("message", message);
        w.WriteString("fix", fix);
        w.WriteEndObject();
    }

    /// <summary>A JSON array of strings, as property <paramref name="name"/>.</summary>
    public static void WriteStrings(Utf8JsonWriter w, string name, IEnumerable<string> items)
    {
        w.WriteStartArray(name);
        foreach (var item in items)
        {
            w.WriteStringValue(item);
        }
        w.WriteEndArray();
    }

    /// <summary>A JSON object of counts by key, as property <paramref name="name"/>, in the dictionary's order.</summary>
    public static void WriteCounts(Utf8JsonWriter w, string name, IReadOnlyDictionary<string, long> counts)
    {
        w.WriteStartObject(name);
        foreach (var (key, value) in counts)
        {
            w.WriteNumber(key, value);
        }
        w.WriteEndObject();
    }

    /// <summary>A time in UTC to the second, ISO 8601 with Z (2025-06-01T12:00:00Z).</summary>
    public static string Stamp(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
