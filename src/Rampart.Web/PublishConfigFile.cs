using System.Globalization;
using System.Net;
using Rampart.Core;
using Rampart.Core.Publish;
using Rampart.Hosting;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Rampart.Web;

/// <summary>The <c>serve:</c> section of the publish YAML, validated.</summary>
internal sealed record ServeSettings(
    IReadOnlyList<IPEndPoint> Listen,
    string Certificates,
    string ReportPath,
    long ReportMaxBytes,
    string? StateDir)
{
    public const long DefaultReportMaxBytes = 1 << 20;
}

/// <summary>The publish YAML: every domain (for <c>publish</c> and <c>serve</c>) and the serve section.</summary>
internal sealed record PublishConfig(string Source, IReadOnlyList<PublishDomain> Domains, ServeSettings Serve);

/// <summary>
/// Reads the publish YAML. Either one domain at the top level (<c>domain:</c>, <c>mx:</c>, …) or a <c>domains:</c> list,
/// plus an optional <c>serve:</c> section. Unknown keys are errors (a typo must not silently drop a setting); all
/// errors are collected and reported as one <see cref="RampartException"/> naming the file, line and key.
/// </summary>
internal static class PublishConfigFile
{
    private static readonly string[] s_domainKeys = ["domain", "mx", "mode", "max_age", "tlsrpt", "tlsa", "policy_host", "cert_name"];
    private static readonly string[] s_tlsaKeys = ["host", "cert", "next", "dane_ta", "port"];
    private static readonly string[] s_serveKeys = ["listen", "certificates", "report_path", "report_max_bytes", "state_dir"];

    public static PublishConfig Load(string path)
    {
        string text;
        try
        {
            if (Directory.Exists(path))
            {
                throw new RampartException($"{path}: is a directory, not a publish YAML file");
            }
            text = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new RampartException($"{path}: cannot be read ({(ex is FileNotFoundException or DirectoryNotFoundException ? "no such file" : ex.Message)})", ex);
        }
        return Parse(text, path);
    }

    public static PublishConfig Parse(string yaml, string source)
    {
        var errors = new List<string>();
        var stream = new YamlStream();
        var parser = new Parser(new StringReader(yaml));
        try
        {
            stream.Load(new YamlAliasGuard(parser));
        }
        catch (YamlException ex)
        {
            throw new RampartException($"{source}:{ex.Start.Line}: invalid YAML: {ex.Message.ReplaceLineEndings(" ")}", ex);
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException)
        {
            // YamlDotNet throws these instead of a YamlException for some malformed input (found by fuzz/run).
            var line = parser.Current?.End.Line ?? 1;
            throw new RampartException($"{source}:{line}: invalid YAML: unreadable after this point ({ex.Message.Split(" (Parameter ", 2)[0].ReplaceLineEndings(" ").TrimEnd('.')})", ex);
        }
        if (stream.Documents.Count != 1 || stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            throw new RampartException($"{source}: expected one YAML mapping with domains: (or domain:) and serve:");
        }
        var domainNodes = new List<(YamlMappingNode Node, string Where)>();
        YamlMappingNode? serveNode = null;
        var topLevelDomain = new YamlMappingNode();
        foreach (var (keyNode, value) in root.Children)
        {
            var key = Scalar(keyNode);
            switch (key)
            {
                case "domains" when value is YamlSequenceNode list:
                    var i = 0;
                    foreach (var item in list)
                    {
                        if (item is YamlMappingNode map)
                        {
                            domainNodes.Add((map, $"domains[{i}]"));
                        }
                        else
                        {
                            errors.Add($"{source}:{item.Start.Line}: domains[{i}]: must be a mapping (domain: …, mx: …)");
                        }
                        i++;
                    }
                    break;
                case "domains":
                    errors.Add($"{source}:{value.Start.Line}: domains: must be a list of domains");
                    break;
                case "serve" when value is YamlMappingNode map:
                    serveNode = map;
                    break;
                case "serve":
                    errors.Add($"{source}:{value.Start.Line}: serve: must be a mapping (listen: …, certificates: …)");
                    break;
                case { } k when s_domainKeys.Contains(k):
                    topLevelDomain.Add(keyNode, value);
                    break;
                default:
                    errors.Add($"{source}:{keyNode.Start.Line}: unknown key '{key}' (known: domains, serve, {string.Join(", ", s_domainKeys)})");
                    break;
            }
        }
        if (topLevelDomain.Children.Count > 0)
        {
            domainNodes.Insert(0, (topLevelDomain, "domain"));
        }
        var domains = new List<PublishDomain>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (node, where) in domainNodes)
        {
            var options = ReadDomain(node, where, source, errors);
            if (PublishDomain.TryFrom(options, $"{source}: {where}", out var domain, out var domainErrors))
            {
                if (seen.Add(domain.Domain))
                {
                    domains.Add(domain);
                }
                else
                {
                    errors.Add($"{source}: {where}: domain {domain.Domain} is listed twice");
                }
            }
            errors.AddRange(domainErrors);
        }
        if (domainNodes.Count == 0)
        {
            errors.Add($"{source}: no domain: give domain: (one domain) or domains: (a list)");
        }
        var serve = ReadServe(serveNode, source, errors);
        if (errors.Count > 0)
        {
            throw new RampartException(errors.Count == 1 ? errors[0] : $"{errors.Count} errors: " + string.Join("; ", errors));
        }
        return new PublishConfig(source, domains, serve);
    }

    private static PublishDomainOptions ReadDomain(YamlMappingNode node, string where, string source, List<string> errors)
    {
        var options = new PublishDomainOptions();
        foreach (var (keyNode, value) in node.Children)
        {
            var key = Scalar(keyNode);
            var at = $"{source}:{value.Start.Line}: {where}.{key}";
            switch (key)
            {
                case "domain": options.Domain = ScalarValue(value, at, errors); break;
                case "mode": options.Mode = ScalarValue(value, at, errors); break;
                case "max_age": options.MaxAge = ScalarValue(value, at, errors); break;
                case "policy_host": options.PolicyHost = ScalarValue(value, at, errors); break;
                case "cert_name": options.CertName = ScalarValue(value, at, errors); break;
                case "mx": options.Mx.AddRange(List(value, at, errors)); break;
                case "tlsrpt": options.TlsRpt.AddRange(List(value, at, errors)); break;
                case "tlsa":
                    if (value is not YamlSequenceNode entries)
                    {
                        errors.Add($"{at}: must be a list of entries (- cert: FILE)");
                        break;
                    }
                    var i = 0;
                    foreach (var entry in entries)
                    {
                        options.Tlsa.Add(ReadTlsa(entry, $"{where}.tlsa[{i++}]", source, errors));
                    }
                    break;
                default:
                    errors.Add($"{source}:{keyNode.Start.Line}: {where}: unknown key '{key}' (known: {string.Join(", ", s_domainKeys)})");
                    break;
            }
        }
        return options;
    }

    private static PublishTlsaOptions ReadTlsa(YamlNode node, string where, string source, List<string> errors)
    {
        var options = new PublishTlsaOptions();
        if (node is not YamlMappingNode map)
        {
            errors.Add($"{source}:{node.Start.Line}: {where}: must be a mapping (cert: FILE, next: FILE, dane_ta: true)");
            return options;
        }
        foreach (var (keyNode, value) in map.Children)
        {
            var key = Scalar(keyNode);
            var at = $"{source}:{value.Start.Line}: {where}.{key}";
            switch (key)
            {
                case "host": options.Host = ScalarValue(value, at, errors); break;
                case "cert": options.Cert = ScalarValue(value, at, errors); break;
                case "next": options.Next = ScalarValue(value, at, errors); break;
                case "port": options.Port = ScalarValue(value, at, errors); break;
                case "dane_ta":
                    var flag = ScalarValue(value, at, errors);
                    if (flag is "true" or "yes")
                    {
                        options.DaneTa = true;
                    }
                    else if (flag is not ("false" or "no" or null))
                    {
                        errors.Add($"{at} '{flag}': must be true or false");
                    }
                    break;
                default:
                    errors.Add($"{source}:{keyNode.Start.Line}: {where}: unknown key '{key}' (known: {string.Join(", ", s_tlsaKeys)})");
                    break;
            }
        }
        return options;
    }

    private static ServeSettings ReadServe(YamlMappingNode? node, string source, List<string> errors)
    {
        var listen = new List<IPEndPoint>();
        string certificates = "/etc/letsencrypt/live";
        var reportPath = "/tlsrpt";
        var maxBytes = ServeSettings.DefaultReportMaxBytes;
        string? stateDir = null;
        foreach (var (keyNode, value) in node?.Children ?? new YamlMappingNode().Children)
        {
            var key = Scalar(keyNode);
            var at = $"{source}:{value.Start.Line}: serve.{key}";
            switch (key)
            {
                case "listen":
                    foreach (var item in List(value, at, errors))
                    {
                        if (TryEndPoint(item, out var endPoint))
                        {
                            listen.Add(endPoint);
                        }
                        else
                        {
                            errors.Add($"{at} '{item}': must be IP:PORT ([IPv6]:PORT)");
                        }
                    }
                    break;
                case "certificates": certificates = ScalarValue(value, at, errors) ?? certificates; break;
                case "state_dir": stateDir = ScalarValue(value, at, errors); break;
                case "report_path":
                    reportPath = ScalarValue(value, at, errors) ?? reportPath;
                    if (!reportPath.StartsWith('/') || reportPath == MtaStsWellKnown)
                    {
                        errors.Add($"{at} '{reportPath}': must be an absolute path other than {MtaStsWellKnown}");
                    }
                    break;
                case "report_max_bytes":
                    var text = ScalarValue(value, at, errors);
                    if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out maxBytes) || maxBytes is < 1024 or > 64L << 20)
                    {
                        errors.Add($"{at} '{text}': must be a byte count from 1024 to {64L << 20}");
                    }
                    break;
                default:
                    errors.Add($"{source}:{keyNode.Start.Line}: serve: unknown key '{key}' (known: {string.Join(", ", s_serveKeys)})");
                    break;
            }
        }
        if (listen.Count == 0)
        {
            listen.Add(new IPEndPoint(IPAddress.IPv6Any, 443));
        }
        return new ServeSettings(listen, certificates, reportPath, maxBytes, stateDir);
    }

    internal const string MtaStsWellKnown = "/.well-known/mta-sts.txt";

    /// <summary>IP:PORT or [IPv6]:PORT.</summary>
    public static bool TryEndPoint(string text, out IPEndPoint endPoint) =>
        IPEndPoint.TryParse(text, out endPoint!) && (text.Contains("]:", StringComparison.Ordinal) || text.Count(c => c == ':') == 1);

    private static string Scalar(YamlNode node) => node is YamlScalarNode scalar ? scalar.Value ?? "" : node.ToString();

    private static string? ScalarValue(YamlNode node, string at, List<string> errors)
    {
        if (node is YamlScalarNode scalar)
        {
            return string.IsNullOrEmpty(scalar.Value) || scalar.Value == "~" ? null : scalar.Value;
        }
        errors.Add($"{at}: must be a single value");
        return null;
    }

    private static IEnumerable<string> List(YamlNode node, string at, List<string> errors)
    {
        switch (node)
        {
            case YamlScalarNode scalar when !string.IsNullOrEmpty(scalar.Value):
                return [scalar.Value];
            case YamlSequenceNode sequence:
                var values = new List<string>();
                foreach (var item in sequence)
                {
                    if (item is YamlScalarNode { Value: { Length: > 0 } v })
                    {
                        values.Add(v);
                    }
                    else
                    {
                        errors.Add($"{at}: every item must be a single value");
                    }
                }
                return values;
            default:
                errors.Add($"{at}: must be a value or a list of values");
                return [];
        }
    }
}
