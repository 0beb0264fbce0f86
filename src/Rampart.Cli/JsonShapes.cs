using System.Text.Encodings.Web;
using System.Text.Json;
using Rampart.Core.Dane;
using Rampart.Core.MtaSts;

namespace Rampart.Cli;

/// <summary>JSON shapes shared by verbs.</summary>
internal static class JsonShapes
{
    /// <summary>Writes one indented JSON document to stdout, ending with a newline (for <c>--json</c>).</summary>
    public static void WriteStdout(Action<Utf8JsonWriter> write)
    {
        using var stdout = Console.OpenStandardOutput();
        using (var w = new Utf8JsonWriter(stdout, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            write(w);
        }
        stdout.WriteByte((byte)'\n');
    }

    /// <summary>An MX host's DANE verdict as properties of the current object: host, status, tlsa_base_domain, tlsa.</summary>
    public static void WriteDaneHost(Utf8JsonWriter w, DaneHostResult host)
    {
        w.WriteString("host", host.Host);
        w.WriteString("status", DaneHostResult.StatusName(host.Status));
        w.WriteString("tlsa_base_domain", host.TlsaBaseDomain);
        w.WriteStartArray("tlsa");
        foreach (var record in host.Records)
        {
            w.WriteStringValue(record.ToString());
        }
        w.WriteEndArray();
    }

    public static void WritePolicy(Utf8JsonWriter w, MtaStsPolicy policy)
    {
        w.WriteStartObject();
        w.WriteString("version", policy.Version);
        w.WriteString("mode", MtaStsPolicy.ModeName(policy.Mode));
        w.WriteNumber("max_age", policy.MaxAge);
        w.WriteStartArray("mx");
        foreach (var pattern in policy.Mx)
        {
            w.WriteStringValue(pattern.Value);
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }
}
