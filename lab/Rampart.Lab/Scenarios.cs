using System.Globalization;
using System.Text;

namespace Rampart.Lab;

/// <summary>Which certificate a lab server presents for a host.</summary>
internal enum CertKind
{
    /// <summary>Issued by the lab intermediate for the requested name (valid).</summary>
    Lab,
    /// <summary>Self-signed, for the requested name.</summary>
    SelfSigned,
    /// <summary>Issued by the lab intermediate, but for another name.</summary>
    WrongName,
    /// <summary>Issued by the lab intermediate for the requested name, notAfter in the past.</summary>
    Expired,
}

/// <summary>How the policy host answers `GET /.well-known/mta-sts.txt` for one scenario domain.</summary>
internal sealed record PolicyBehaviour(
    int Status,
    string ContentType,
    string? Location,
    byte[] Body,
    int DripBytesPerSecond,
    bool SendContentLength,
    CertKind Cert,
    bool Wildcard);

/// <summary>One scenario folder: a test domain and its descriptor (scenario.conf).</summary>
internal sealed record Scenario(string Domain, string Directory, IReadOnlyDictionary<string, string> Settings, PolicyBehaviour? Policy);

/// <summary>
/// Reads scenario folders. The descriptor `scenario.conf` holds `key = value` lines (`#` starts a comment).
/// Keys are checked here so a typo fails `lab/up` loudly instead of silently changing a scenario.
/// </summary>
internal static class ScenarioLoader
{
    public const string DescriptorName = "scenario.conf";
    public const string DefaultPolicyFile = "policy.txt";

    // Every key a descriptor may hold. `signing` and the mx.* keys are interpreted by lab/lib (zone
    // signing, MX certificates, the receivers' host table); the policy.* keys by the policy host.
    // Later roles add their keys (mitm.*) here. The mx.* keys may carry a host suffix, see MxKey.
    private static readonly HashSet<string> s_knownKeys = new(StringComparer.Ordinal)
    {
        "signing",
        "mx.cert",
        "mx.starttls",
        "mx.listen",
        "mx.mitm",
        "policy.body",
        "policy.status",
        "policy.content_type",
        "policy.location",
        "policy.pad_to",
        "policy.drip",
        "policy.content_length",
        "policy.cert",
        "policy.wildcard",
    };

    public static IReadOnlyList<Scenario> LoadAll(string root)
    {
        if (!System.IO.Directory.Exists(root))
        {
            throw new LabException($"scenario directory {root} does not exist");
        }

        return [.. System.IO.Directory.GetDirectories(root)
            .Where(d => File.Exists(Path.Combine(d, DescriptorName)))
            .Order(StringComparer.Ordinal)
            .Select(Load)];
    }

    public static Scenario Load(string dir)
    {
        var domain = Path.GetFileName(dir.TrimEnd('/')).ToLowerInvariant();
        var path = Path.Combine(dir, DescriptorName);
        var settings = ParseDescriptor(path);
        return new Scenario(domain, dir, settings, LoadPolicy(dir, path, settings));
    }

    private static Dictionary<string, string> ParseDescriptor(string path)
    {
        var settings = new Dictionary<string, string>(StringComparer.Ordinal);
        var lineNo = 0;
        foreach (var raw in File.ReadLines(path))
        {
            lineNo++;
            var line = StripComment(raw).Trim();
            if (line.Length == 0)
            {
                continue;
            }

            var eq = line.IndexOf('=');
            if (eq <= 0)
            {
                throw new LabException($"{path}:{lineNo}: expected 'key = value'");
            }

            var key = line[..eq].Trim();
            var value = line[(eq + 1)..].Trim();
            if (!s_knownKeys.Contains(MxKey(key)))
            {
                throw new LabException($"{path}:{lineNo}: unknown key '{key}' (known: {string.Join(", ", s_knownKeys)}; mx.* keys also as mx.KEY[HOST])");
            }

            CheckValue(path, lineNo, MxKey(key), value);

            if (!settings.TryAdd(key, value))
            {
                throw new LabException($"{path}:{lineNo}: key '{key}' given twice");
            }
        }

        return settings;
    }

    /// <summary>
    /// `mx.cert[mx2] = …` sets mx.cert for one MX host of the scenario only (HOST relative to the
    /// domain, `@` for the apex, or the full host name); returns the key without the suffix.
    /// </summary>
    private static string MxKey(string key)
    {
        var open = key.IndexOf('[', StringComparison.Ordinal);
        return open > 3 && key.StartsWith("mx.", StringComparison.Ordinal) && key.EndsWith(']') && key.Length > open + 2
            && !key[(open + 1)..^1].Any(c => c is '[' or ']' || char.IsWhiteSpace(c))
            ? key[..open]
            : key;
    }

    // Values interpreted by lab/lib are checked here too, so a typo fails before anything is signed.
    private static readonly Dictionary<string, string[]> s_allowedValues = new(StringComparer.Ordinal)
    {
        ["signing"] = ["signed", "unsigned", "rsasha256", "p384", "ed25519", "nsec3", "bogus", "stripped", "expired", "expiring"],
        ["mx.cert"] = ["good", "wrongname", "expired", "selfsigned"],
        ["mx.starttls"] = ["yes", "no"],
        ["mx.listen"] = ["yes", "no"],
        ["mx.mitm"] = ["yes", "no"],
    };

    private static void CheckValue(string path, int lineNo, string key, string value)
    {
        if (s_allowedValues.TryGetValue(key, out var allowed) && !allowed.Contains(value, StringComparer.Ordinal))
        {
            throw new LabException($"{path}:{lineNo}: {key} = '{value}' is not one of {string.Join("|", allowed)}");
        }
    }

    // `#` starts a comment at the start of a line or after whitespace (so URLs with fragments survive).
    private static string StripComment(string line)
    {
        for (var i = 0; i < line.Length; i++)
        {
            if (line[i] == '#' && (i == 0 || char.IsWhiteSpace(line[i - 1])))
            {
                return line[..i];
            }
        }

        return line;
    }

    private static PolicyBehaviour? LoadPolicy(string dir, string path, Dictionary<string, string> s)
    {
        var bodyFile = s.GetValueOrDefault("policy.body", DefaultPolicyFile);
        var bodyPath = Path.Combine(dir, bodyFile);
        var anyPolicyKey = s.Keys.Any(k => k.StartsWith("policy.", StringComparison.Ordinal));
        if (!anyPolicyKey && !File.Exists(bodyPath))
        {
            return null; // this domain has no policy host
        }

        var status = Int(path, s, "policy.status", 200, 100, 599);
        byte[] body;
        if (File.Exists(bodyPath))
        {
            body = File.ReadAllBytes(bodyPath);
        }
        else if (s.ContainsKey("policy.body"))
        {
            throw new LabException($"{path}: policy.body file {bodyPath} does not exist");
        }
        else
        {
            body = Encoding.ASCII.GetBytes($"status {status}\n");
        }

        var padTo = Int(path, s, "policy.pad_to", 0, 0, 64 * 1024 * 1024);
        if (padTo > body.Length)
        {
            body = Pad(body, padTo);
        }

        var location = s.GetValueOrDefault("policy.location");
        if (status is >= 300 and < 400 && string.IsNullOrEmpty(location))
        {
            throw new LabException($"{path}: policy.status {status} needs policy.location");
        }

        return new PolicyBehaviour(
            status,
            s.GetValueOrDefault("policy.content_type", "text/plain"),
            string.IsNullOrEmpty(location) ? null : location,
            body,
            Int(path, s, "policy.drip", 0, 0, 1 << 20),
            Bool(path, s, "policy.content_length", true),
            Cert(path, s.GetValueOrDefault("policy.cert", "lab")),
            Bool(path, s, "policy.wildcard", false));
    }

    /// <summary>
    /// Appends ignorable `x-pad: aaa…` lines (unknown keys, ignored by a policy parser) until the body
    /// is at least <paramref name="size"/> bytes, keeping the body's own line ending.
    /// </summary>
    private static byte[] Pad(byte[] body, int size)
    {
        var text = Encoding.UTF8.GetString(body);
        var eol = text.Contains("\r\n", StringComparison.Ordinal) ? "\r\n" : "\n";
        var sb = new StringBuilder(text, size + 128);
        if (sb.Length > 0 && !text.EndsWith('\n'))
        {
            sb.Append(eol);
        }

        while (sb.Length < size)
        {
            var room = size - sb.Length - "x-pad: ".Length - eol.Length;
            sb.Append("x-pad: ").Append('a', Math.Clamp(room, 1, 90)).Append(eol);
        }

        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    private static int Int(string path, Dictionary<string, string> s, string key, int dflt, int min, int max)
    {
        if (!s.TryGetValue(key, out var v))
        {
            return dflt;
        }

        return int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max
            ? n
            : throw new LabException($"{path}: {key} = '{v}' is not a number in {min}..{max}");
    }

    private static bool Bool(string path, Dictionary<string, string> s, string key, bool dflt) =>
        !s.TryGetValue(key, out var v) ? dflt : v switch
        {
            "yes" or "true" => true,
            "no" or "false" => false,
            _ => throw new LabException($"{path}: {key} = '{v}' is not yes/no"),
        };

    private static CertKind Cert(string path, string v) => v switch
    {
        "lab" => CertKind.Lab,
        "selfsigned" => CertKind.SelfSigned,
        "wrongname" => CertKind.WrongName,
        "expired" => CertKind.Expired,
        _ => throw new LabException($"{path}: policy.cert = '{v}' is not lab|selfsigned|wrongname|expired"),
    };
}

/// <summary>The scenarios one policy host serves, indexed by domain.</summary>
internal sealed class ScenarioSet
{
    private readonly Dictionary<string, PolicyBehaviour> _byDomain = new(StringComparer.Ordinal);

    public ScenarioSet(IEnumerable<Scenario> scenarios)
    {
        foreach (var s in scenarios)
        {
            if (s.Policy is not null)
            {
                _byDomain[s.Domain] = s.Policy;
            }
        }
    }

    public int Count => _byDomain.Count;

    /// <summary>
    /// The behaviour for a host name `mta-sts.&lt;domain&gt;`: the scenario of that domain, or a
    /// `policy.wildcard = yes` scenario one label above it.
    /// </summary>
    public PolicyBehaviour? ForHost(string? host)
    {
        const string prefix = "mta-sts.";
        if (host is null || !host.StartsWith(prefix, StringComparison.Ordinal))
        {
            return null;
        }

        var domain = host[prefix.Length..];
        if (_byDomain.TryGetValue(domain, out var exact))
        {
            return exact;
        }

        var dot = domain.IndexOf('.', StringComparison.Ordinal);
        return dot > 0 && _byDomain.TryGetValue(domain[(dot + 1)..], out var parent) && parent.Wildcard ? parent : null;
    }
}

internal static class ScenariosCommand
{
    public static int Run(CommandLine options)
    {
        var all = ScenarioLoader.LoadAll(options.Required("dir"));
        foreach (var s in all)
        {
            var p = s.Policy;
            var mx = string.Concat(s.Settings.Where(kv => kv.Key.StartsWith("mx.", StringComparison.Ordinal))
                .OrderBy(kv => kv.Key, StringComparer.Ordinal)
                .Select(kv => $" {kv.Key}={kv.Value}"));
            Console.WriteLine((p is null
                ? $"{s.Domain}: signing={s.Settings.GetValueOrDefault("signing", "signed")} policy=none"
                : $"{s.Domain}: signing={s.Settings.GetValueOrDefault("signing", "signed")} policy={p.Status} {p.ContentType} {p.Body.Length}B cert={p.Cert}"
                  + (p.Location is null ? "" : $" location={p.Location}")
                  + (p.DripBytesPerSecond > 0 ? $" drip={p.DripBytesPerSecond}B/s" : "")
                  + (p.SendContentLength ? "" : " no-content-length")
                  + (p.Wildcard ? " wildcard" : "")) + mx);
        }

        return 0;
    }
}
