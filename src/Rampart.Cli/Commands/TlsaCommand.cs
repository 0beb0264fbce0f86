using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Rampart.Core.Dane;
using Rampart.Core.Dns;
using Rampart.Core.IO;

namespace Rampart.Cli.Commands;

/// <summary>
/// <c>rampart tlsa generate</c> (zone-file TLSA lines for a certificate, chain or key) and <c>rampart tlsa match</c>
/// (does a chain, leaf first, match these TLSA records, as a DANE SMTP client would judge it). Input problems are
/// exit 2 with one line on stderr; option values are checked while parsing (<see cref="OptionValues"/>).
/// </summary>
internal static class TlsaCommand
{
    public static Command Create() =>
        new("tlsa", "TLSA (DANE, RFC 6698/7671/7672) record tools: generate records to publish, match a chain against records.")
        {
            CreateGenerate(),
            CreateMatch(),
            TlsaVerifyCommand.Create(),
        };

    /// <summary>What <c>generate</c> works from: certificates (leaf first) or, failing those, a bare public key (DER SPKI).</summary>
    internal sealed record GenerateSource(string Origin, IReadOnlyList<X509Certificate2> Certificates, byte[]? PublicKey)
    {
        /// <summary>The host a live source was taken from, the default record name.</summary>
        public string? Host { get; init; }
    }

    internal sealed record GenerateSettings(TlsaUsage Usage, TlsaSelector Selector, TlsaMatchingType MatchingType, string? Name, int Port);

    private static Command CreateGenerate()
    {
        var cert = new Option<string?>("--cert")
        {
            Description = "PEM (or DER) file: a certificate, a chain leaf first, a PUBLIC KEY, or a private key (only its public key is used).",
            HelpName = "FILE",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var usage = OptionValues.Choice("--usage", "Certificate usage: 3 = DANE-EE (the server's own key; default), 2 = DANE-TA (the top CA of the chain).",
            3, "certificate usage", (2, "DANE-TA"), (3, "DANE-EE"));
        var selector = OptionValues.Choice("--selector", "Selector: 1 = public key (default; survives renewals with the same key), 0 = whole certificate.",
            1, "selector", (0, "whole certificate"), (1, "public key"));
        var matching = OptionValues.Choice("--matching", "Matching type: 1 = SHA-256 (default), 2 = SHA-512, 0 = full data.",
            1, "matching type", (0, "full data"), (1, "SHA-256"), (2, "SHA-512"));
        var name = OptionValues.Name("--name", "Host the record is for (the MX host name). Default: the certificate's first DNS name.", "HOST", DnsName.TryNormalize);
        var port = OptionValues.Port("--port", "TCP port of the service (default 25, SMTP).", 25);
        var host = OptionValues.Value("--host", "Take the certificate live from this SMTP server via STARTTLS (HOST[:PORT], default port 25), instead of --cert.",
            "HOST[:PORT]", TlsaVerifyCommand.ReadHostAndPort);
        var command = new Command("generate",
            "Print TLSA records ready to paste into a zone file, with a comment naming the certificate and its expiry. " +
            "Exit 0 on success, 2 on unusable input.")
        {
            cert, host, usage, selector, matching, name, port, TlsaVerifyCommand.TimeoutOption,
        };
        command.WithNetwork(webPki: false);
        command.SetAction(async (parse, ct) =>
        {
            var settings = Settings(parse, usage, selector, matching, name, port);
            var path = parse.GetValue(cert);
            if (parse.GetValue(host) is { } live)
            {
                if (!string.IsNullOrWhiteSpace(path))
                {
                    return Terminal.Error("tlsa generate: give either --cert FILE or --host HOST, not both");
                }
                return await Verb.RunAsync(async () =>
                {
                    var (liveSource, liveError) = await TlsaVerifyCommand.PresentedChainAsync(parse, live, ct).ConfigureAwait(false);
                    return liveSource is null ? Terminal.Error(liveError!) : Generate(liveSource, settings with { Name = settings.Name ?? liveSource.Host });
                }, ct).ConfigureAwait(false);
            }
            if (string.IsNullOrWhiteSpace(path))
            {
                return Terminal.Error("tlsa generate: give the certificate with --cert FILE or a live server with --host HOST");
            }
            if (ReadBundle(path, "--cert", out var bundle) is { } readError)
            {
                return readError;
            }
            var source = new GenerateSource(path, bundle!.Certificates, bundle.Certificates.Count == 0 ? bundle.PublicKeys[0] : null);
            return Generate(source, settings);
        });
        return command;
    }

    private static GenerateSettings Settings(ParseResult parse, Option<int> usage, Option<int> selector, Option<int> matching, Option<string?> name, Option<int> port) =>
        new((TlsaUsage)parse.GetValue(usage), (TlsaSelector)parse.GetValue(selector), (TlsaMatchingType)parse.GetValue(matching),
            parse.GetValue(name), parse.GetValue(port));

    /// <summary>
    /// Prints the zone-file lines for one source. Takes the certificates themselves, so a live source (a STARTTLS probe)
    /// can feed it the presented chain just as <c>--cert</c> feeds it a file.
    /// </summary>
    internal static int Generate(GenerateSource source, GenerateSettings settings)
    {
        if (source.Certificates.Count == 0)
        {
            return GenerateFromKey(source, settings);
        }
        var leaf = source.Certificates[0];
        var target = leaf;
        if (settings.Usage == TlsaUsage.DaneTa)
        {
            target = source.Certificates[^1];
            var keyOnly = settings is { Selector: TlsaSelector.Spki, MatchingType: TlsaMatchingType.Full };
            if (source.Certificates.Count > 1)
            {
                if (!TlsaGenerator.IsCa(target))
                {
                    return Terminal.Error($"{source.Origin}: --usage 2: the top certificate of the chain ('{target.Subject}') is not a CA certificate");
                }
                Console.Error.WriteLine($"rampart: --usage 2: using the top certificate of the chain, '{target.Subject}', as the trust anchor");
            }
            else if (IsSelfSigned(target) && !keyOnly)
            {
                if (!TlsaGenerator.IsCa(target))
                {
                    return Terminal.Error($"{source.Origin}: '{target.Subject}' is a self-signed end-entity certificate: a DANE-TA record for it " +
                                          "authenticates only as '2 1 0' (--selector 1 --matching 0); or use --usage 3");
                }
                Console.Error.WriteLine("rampart: note: if this is the server's own self-signed certificate, only '2 1 0' authenticates it " +
                                        "(a DANE-TA record matching the leaf itself fails, RFC 7672 §3.1.2)");
            }
            else if (!IsSelfSigned(target) && !TlsaGenerator.IsCa(target))
            {
                return Terminal.Error($"{source.Origin}: --usage 2 needs the CA certificate: '{target.Subject}' is an end-entity certificate, and a " +
                                      "DANE-TA record for the leaf itself never authenticates (RFC 7672 §3.1.2); give the chain, leaf first, or use --usage 3");
            }
        }
        string host;
        if (settings.Name is { } name)
        {
            host = name;
        }
        else if (DaneNames.CertificateNames(leaf).FirstOrDefault(n => !n.Contains('*', StringComparison.Ordinal)) is { } first
                 && DnsName.TryNormalize(first, out var normalized, out _))
        {
            host = normalized;
            Console.Error.WriteLine($"rampart: no --name: using the certificate's first DNS name, {host}; publish the record at the MX host's name");
        }
        else
        {
            return Terminal.Error($"{source.Origin}: the certificate names no usable host ({string.Join(", ", DaneNames.CertificateNames(leaf))}); give --name HOST");
        }
        var record = TlsaAssociation.For(target, settings.Usage, settings.Selector, settings.MatchingType);
        Console.WriteLine($"; {Describe(record)} of {target.Subject}, expires {target.NotAfter.ToUniversalTime():u}");
        Console.WriteLine(TlsaGenerator.ZoneLine(host, settings.Port, record));
        return ExitCodes.Ok;
    }

    private static int GenerateFromKey(GenerateSource source, GenerateSettings settings)
    {
        if (settings.Selector != TlsaSelector.Spki)
        {
            return Terminal.Error($"{source.Origin}: holds a key, not a certificate: --selector 0 needs a certificate; use --selector 1");
        }
        if (settings.Name is not { } host)
        {
            return Terminal.Error($"{source.Origin}: holds a key, not a certificate, so the host is unknown: give --name HOST");
        }
        var record = TlsaAssociation.ForPublicKey(source.PublicKey!, settings.Usage, settings.MatchingType);
        Console.WriteLine($"; {Describe(record)} from {Path.GetFileName(source.Origin)} (a bare key: no subject, no expiry)");
        Console.WriteLine(TlsaGenerator.ZoneLine(host, settings.Port, record));
        return ExitCodes.Ok;
    }

    private static string Describe(TlsaRecord record)
    {
        var usage = record.Usage == TlsaUsage.DaneTa ? "DANE-TA" : "DANE-EE";
        var selected = record.Selector == TlsaSelector.Cert ? "certificate" : "public key";
        var how = record.MatchingType switch
        {
            TlsaMatchingType.Sha256 => $"SHA-256 of the {selected}",
            TlsaMatchingType.Sha512 => $"SHA-512 of the {selected}",
            _ => $"the full {selected}",
        };
        return $"{(byte)record.Usage} {(byte)record.Selector} {(byte)record.MatchingType} ({usage}): {how}";
    }

    private static bool IsSelfSigned(X509Certificate2 certificate) =>
        certificate.SubjectName.RawData.AsSpan().SequenceEqual(certificate.IssuerName.RawData);

    private static Command CreateMatch()
    {
        var chain = new Option<string?>("--chain")
        {
            Description = "PEM file with the certificate chain as the server sends it, leaf first.",
            HelpName = "PEMFILE",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var tlsa = new Option<string[]>("--tlsa")
        {
            Description = "A TLSA record in presentation form, quoted: \"3 1 1 HEX\". Repeat for an RRset.",
            HelpName = "U S M HEX",
            Arity = ArgumentArity.ZeroOrMore,
            AllowMultipleArgumentsPerToken = true,
        };
        var name = OptionValues.Names("--name",
            "Reference name for DANE-TA: the TLSA base domain first, then the MX host or next-hop domain. Repeatable; needed for usage 2.", "HOST", DnsName.TryNormalize);
        var json = new Option<bool>("--json") { Description = "Write the verdict as JSON (keys: matched, usable, record, depth, reason)." };
        var command = new Command("match",
            "Judge a certificate chain against TLSA records offline, as a DANE SMTP client does (RFC 7672 §3): usable records, " +
            "digest agility, DANE-EE without name or date checks, DANE-TA with chain, dates and name. Exit 0 match, 1 no match, 2 unusable input.")
        {
            chain, tlsa, name, json,
        };
        command.SetAction(parse =>
        {
            var path = parse.GetValue(chain);
            if (string.IsNullOrWhiteSpace(path))
            {
                return Terminal.Error("tlsa match: give the chain with --chain PEMFILE (leaf first)");
            }
            var texts = parse.GetValue(tlsa) ?? [];
            if (texts.Length == 0)
            {
                return Terminal.Error("tlsa match: give at least one record with --tlsa \"U S M HEX\"");
            }
            var records = new List<TlsaRecord>();
            foreach (var text in texts)
            {
                if (!TlsaRecord.TryParse(text, out var record, out var error))
                {
                    return Terminal.Error($"--tlsa: {OneLine(error)}");
                }
                records.Add(record);
            }
            var names = (parse.GetValue(name) ?? []).ToList();
            if (names.Count == 0 && records.Any(r => r is { Usage: TlsaUsage.DaneTa, IsUsable: true }))
            {
                return Terminal.Error("tlsa match: --name HOST is needed with DANE-TA (usage 2) records: the leaf's names must match the TLSA base domain (RFC 7672 §3.2.3)");
            }
            if (ReadBundle(path, "--chain", out var bundle) is { } readError)
            {
                return readError;
            }
            if (bundle!.Certificates.Count == 0)
            {
                return Terminal.Error($"--chain {path}: holds a key but no certificate; a chain is certificates, leaf first");
            }
            var result = DaneMatcher.Match(records, bundle.Certificates, new DaneMatchOptions(names, TimeProvider.System.GetUtcNow()));
            if (parse.GetValue(json))
            {
                WriteJson(result);
            }
            else
            {
                WriteHuman(result, parse.GetValue(GlobalOptions.Verbose));
            }
            return result.Matched ? ExitCodes.Ok : ExitCodes.Invalid;
        });
        return command;
    }

    private static void WriteHuman(DaneMatchResult result, bool verbose)
    {
        var verdict = result.Matched
            ? $"{Terminal.Paint("match", ConsoleColor.Green)}: {result.Record} at depth {result.Depth}{(result.Depth == 0 ? " (leaf)" : "")}"
            : $"{Terminal.Paint("no match", ConsoleColor.Red)} ({result.Usable} usable record{(result.Usable == 1 ? "" : "s")})";
        Console.WriteLine(verdict);
        Console.WriteLine($"  {result.Reason}");
        if (verbose)
        {
            foreach (var detail in result.Details)
            {
                Console.Error.WriteLine($"rampart:   {detail}");
            }
        }
    }

    private static void WriteJson(DaneMatchResult result)
    {
        JsonShapes.WriteStdout(w =>
        {
            w.WriteStartObject();
            w.WriteBoolean("matched", result.Matched);
            w.WriteNumber("usable", result.Usable);
            if (result.Record is { } record)
            {
                w.WriteString("record", record.ToString());
            }
            else
            {
                w.WriteNull("record");
            }
            if (result.Depth is { } depth)
            {
                w.WriteNumber("depth", depth);
            }
            else
            {
                w.WriteNull("depth");
            }
            w.WriteString("reason", result.Reason);
            w.WriteEndObject();
        });
    }

    /// <summary>
    /// Reads a PEM/DER file into a bundle (with <see cref="UserFile"/>'s one bounded read: a device or FIFO is refused
    /// before it is opened, and no more than the bound is read whatever the file's size said); on failure writes one
    /// line naming the option and the file and returns exit code 2.
    /// </summary>
    private static int? ReadBundle(string path, string option, out PemBundle? bundle)
    {
        bundle = null;
        byte[] content;
        try
        {
            content = UserFile.ReadAllBytes(path, option, UserFile.Limits.Pem);
        }
        catch (UserFileException ex)
        {
            return Terminal.Error(ex.Message);
        }
        return PemBundle.TryRead(content, out bundle, out var error) ? null : Terminal.Error($"{option} {path}: {error}");
    }

    private static string OneLine(string text) => text.ReplaceLineEndings(" ");
}
