using System.CommandLine;
using System.Text.Json;
using Rampart.Core.IO;
using Rampart.Core.MtaSts;

namespace Rampart.Cli.Commands;

/// <summary><c>rampart mta-sts parse FILE|- [--json]</c>: validate an MTA-STS policy file exactly as a sender would read it.</summary>
internal static class MtaStsCommand
{
    public static Command Create()
    {
        var file = new Argument<string>("file") { Description = "Policy file to validate, or - for standard input." };
        var json = new Option<bool>("--json") { Description = "Write the verdict as JSON (keys: valid, policy, errors, warnings)." };
        var parse = new Command("parse",
            "Validate an MTA-STS policy file (RFC 8461 §3.2) and list every error and warning with its line. " +
            $"Reads at most {MtaStsFetchSettings.DefaultMaxBodyBytes} bytes, as a sender does. Exit 0 valid, 1 invalid, 2 unreadable input.")
        {
            file, json,
        };
        parse.SetAction(async (result, ct) =>
        {
            var path = result.GetValue(file)!;
            var (bytes, readError) = await ReadBoundedAsync(path, MtaStsFetchSettings.DefaultMaxBodyBytes, ct).ConfigureAwait(false);
            if (readError is not null)
            {
                return Terminal.Error($"{path}: {readError}");
            }
            MtaStsParseResult verdict = bytes is null
                ? new(null, [new PolicyDiagnostic(0, $"larger than {MtaStsFetchSettings.DefaultMaxBodyBytes} bytes: senders stop reading a policy there (RFC 8461 §3.3)")], [])
                : MtaStsPolicyParser.Parse(bytes);
            if (result.GetValue(json))
            {
                WriteJson(verdict);
            }
            else
            {
                WriteHuman(path, verdict);
            }
            return verdict.IsValid ? ExitCodes.Ok : ExitCodes.Invalid;
        });
        return new Command("mta-sts", "MTA-STS policy tools.") { parse };
    }

    /// <summary>Reads up to <paramref name="max"/> bytes; null bytes (no error) when the input is larger.</summary>
    private static async Task<(byte[]? Bytes, string? Error)> ReadBoundedAsync(string path, int max, CancellationToken ct)
    {
        try
        {
            if (path != UserFile.StandardInput && UserFile.WhyNotReadable(path, long.MaxValue) is { } unreadable)
            {
                return (null, unreadable); // a FIFO would block the open, a device never end: refused first (size: below)
            }
            var stream = path == "-" ? Console.OpenStandardInput() : File.OpenRead(path);
            await using (stream.ConfigureAwait(false))
            {
                var buffer = new byte[max + 1];
                var filled = 0;
                int read;
                while (filled < buffer.Length && (read = await stream.ReadAsync(buffer.AsMemory(filled), ct).ConfigureAwait(false)) > 0)
                {
                    filled += read;
                }
                return filled > max ? (null, null) : (buffer[..filled], null);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return (null, ex is FileNotFoundException or DirectoryNotFoundException ? "no such file" : ex.Message);
        }
    }

    private static void WriteHuman(string path, MtaStsParseResult verdict)
    {
        var name = path == "-" ? "(stdin)" : path;
        if (verdict.Policy is { } policy)
        {
            Console.WriteLine($"{name}: {Terminal.Paint("valid", ConsoleColor.Green)} MTA-STS policy: version {policy.Version}, mode {MtaStsPolicy.ModeName(policy.Mode)}, max_age {policy.MaxAge} s ({policy.MaxAge / 86400.0:0.#} days)");
            foreach (var pattern in policy.Mx)
            {
                Console.WriteLine($"  mx: {pattern}");
            }
        }
        else
        {
            Console.WriteLine($"{name}: {Terminal.Paint("invalid", ConsoleColor.Red)} MTA-STS policy");
        }
        foreach (var error in verdict.Errors)
        {
            Console.WriteLine($"  {Terminal.Paint("error", ConsoleColor.Red)}   {Where(error)}{error.Message}");
        }
        foreach (var warning in verdict.Warnings)
        {
            Console.WriteLine($"  {Terminal.Paint("warning", ConsoleColor.Yellow)} {Where(warning)}{warning.Message}");
        }

        static string Where(PolicyDiagnostic d) => d.Line > 0 ? $"line {d.Line}: " : "";
    }

    private static void WriteJson(MtaStsParseResult verdict)
    {
        JsonShapes.WriteStdout(w =>
        {
            w.WriteStartObject();
            w.WriteBoolean("valid", verdict.IsValid);
            if (verdict.Policy is { } policy)
            {
                w.WritePropertyName("policy");
                JsonShapes.WritePolicy(w, policy);
            }
            else
            {
                w.WriteNull("policy");
            }
            WriteDiagnostics(w, "errors", verdict.Errors);
            WriteDiagnostics(w, "warnings", verdict.Warnings);
            w.WriteEndObject();
        });
    }

    private static void WriteDiagnostics(Utf8JsonWriter w, string name, IReadOnlyList<PolicyDiagnostic> diagnostics)
    {
        w.WriteStartArray(name);
        foreach (var d in diagnostics)
        {
            w.WriteStartObject();
            w.WriteNumber("line", d.Line);
            w.WriteString("message", d.Message);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }
}
