using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Rampart.Core;
using Rampart.Core.Dane;
using Rampart.Core.Smtp;

namespace Rampart.Cli.Commands;

/// <summary>An SMTP server named by host name and port.</summary>
internal sealed record HostAndPort(string Host, int Port);

/// <summary>
/// <c>rampart tlsa verify HOST</c>: the live certificate of every address of an MX host against its DNSSEC-validated TLSA
/// records (the hardening guide's check_tlsa, done right). Also serves <c>tlsa generate --host</c> with a presented chain.
/// </summary>
internal static class TlsaVerifyCommand
{
    internal static readonly Option<double> TimeoutOption = OptionValues.Seconds("--timeout", "Limit for each SMTP conversation, in seconds.", 30);

    public static Command Create()
    {
        var host = DomainArgument.HostName("host", "The MX host name (as in the MX record).");
        var port = OptionValues.Port("--port", "SMTP port.", 25);
        var json = new Option<bool>("--json") { Description = "Write the verdict as JSON (keys: host, verified, status, tlsa_base_domain, tlsa, addresses)." };
        var command = new Command("verify",
            "Check an MX host's live certificate against its published, DNSSEC-validated TLSA records: TLSA found per RFC 7672 §2.2, " +
            "every address probed with STARTTLS and SNI set to the TLSA base domain, the chain matched as a DANE client does. " +
            "Exit 0 when every address is DANE-authenticated, 1 when not (or no usable TLSA), 2 on unusable input.")
        {
            host, port, json, TimeoutOption,
        };
        command.WithNetwork(webPki: false);
        command.SetAction((parse, ct) => Verb.RunAsync(async () =>
        {
            var name = DomainArgument.Normalized(parse.GetValue(host)!);
            var portNumber = parse.GetValue(port);
            var services = Services.Create(parse);
            services.WriteWarnings();
            var verifier = new DaneHostVerifier(new DaneHostLookup(services.Dns, portNumber), Probe(parse), services.Time, portNumber);
            var verification = await verifier.VerifyAsync(name, ct).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                WriteJson(verification);
            }
            else
            {
                WriteHuman(verification);
            }
            return verification.Verified ? ExitCodes.Ok : ExitCodes.Invalid;
        }, ct));
        return command;
    }

    private static SmtpTlsProbe Probe(ParseResult parse)
    {
        var limit = TimeSpan.FromSeconds(parse.GetValue(TimeoutOption));
        return new SmtpTlsProbe(new SmtpProbeSettings { ConnectTimeout = limit, CommandTimeout = limit, TotalTimeout = limit }, TimeProvider.System);
    }

    /// <summary>The chain a live SMTP server presents after STARTTLS (SNI = the host name), for <c>tlsa generate --host</c>.</summary>
    public static async Task<(TlsaCommand.GenerateSource? Source, string? Error)> PresentedChainAsync(ParseResult parse, HostAndPort server, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(server);
        var (host, port) = server;
        var services = Services.Create(parse);
        var addresses = await services.Dns.QueryAddressesAsync(host, ct).ConfigureAwait(false);
        if (addresses.Records.Count == 0)
        {
            return (null, $"--host {host}: no address ({addresses.Describe()})");
        }
        var result = await Probe(parse).ProbeAsync(new IPEndPoint(addresses.Records[0], port), host, ct).ConfigureAwait(false);
        if (!result.TlsEstablished)
        {
            return (null, $"--host {host}: {result.Error ?? "the server does not offer STARTTLS"}");
        }
        return (new TlsaCommand.GenerateSource($"{host}:{port} ({result.Endpoint.Address}, live)", result.PresentedChain, null) { Host = host }, null);
    }

    /// <summary>HOST or HOST:PORT (port 25 when not given), the host a host name, normalised; or what is wrong with the text.</summary>
    public static (HostAndPort? Value, string? Problem) ReadHostAndPort(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var colon = text.LastIndexOf(':');
        var (hostText, port) = colon < 0
            ? (text, 25)
            : int.TryParse(text[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var given) && given is >= 1 and <= 65535
                ? (text[..colon], given)
                : (text, (int?)null);
        return port is { } p && DomainName.TryNormalize(hostText, out var host, out _)
            ? (new HostAndPort(host, p), null)
            : (null, "is not a host name or HOST:PORT with one (e.g. mx.example.org or mx.example.org:25)");
    }

    private static void WriteHuman(DaneVerification verification)
    {
        var host = verification.Host;
        Console.WriteLine(host.Evidence.Message);
        foreach (var address in verification.Addresses)
        {
            var verdict = address.Verified ? Terminal.Paint("verified", ConsoleColor.Green) : Terminal.Paint("NOT verified", ConsoleColor.Red);
            var tls = address.Probe.Protocol is { } protocol ? $" [{protocol}, {address.Probe.CipherSuite}]" : "";
            Console.WriteLine($"  {address.Address}: {verdict}{tls}: {address.Summary}");
        }
        Console.WriteLine(verification.Verified
            ? $"Verdict: {Terminal.Paint("DANE-authenticated", ConsoleColor.Green)} at every address"
            : $"Verdict: {Terminal.Paint("not DANE-authenticated", ConsoleColor.Red)} " +
              (host.Status == DaneHostStatus.Usable ? "(the live certificate does not match the published TLSA records)" : $"({DaneHostResult.StatusName(host.Status)})"));
    }

    private static void WriteJson(DaneVerification verification)
    {
        JsonShapes.WriteStdout(w =>
        {
            var host = verification.Host;
            w.WriteStartObject();
            JsonShapes.WriteDaneHost(w, host);
            w.WriteBoolean("verified", verification.Verified);
            w.WriteString("message", host.Evidence.Message);
            w.WriteStartArray("addresses");
            foreach (var address in verification.Addresses)
            {
                w.WriteStartObject();
                w.WriteString("address", address.Address.ToString());
                w.WriteBoolean("matched", address.Verified);
                w.WriteString("record", address.Match?.Record?.ToString());
                if (address.Match?.Depth is { } depth)
                {
                    w.WriteNumber("depth", depth);
                }
                else
                {
                    w.WriteNull("depth");
                }
                w.WriteString("reason", address.Summary);
                w.WriteBoolean("starttls", address.Probe.StartTlsOffered);
                w.WriteString("tls_version", address.Probe.Protocol?.ToString());
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        });
    }
}
