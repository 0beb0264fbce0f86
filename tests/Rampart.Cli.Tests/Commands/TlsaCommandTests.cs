using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Rampart.Cli.Tests.Support;
using Rampart.Tests.Shared;

namespace Rampart.Cli.Tests.Commands;

/// <summary><c>rampart tlsa generate|match</c>: zone lines, verdicts, the JSON contract, and one clear line for bad input.</summary>
public sealed class TlsaCommandTests : IDisposable
{
    private static readonly DateTimeOffset s_now = DateTimeOffset.UtcNow;
    private static readonly X509Certificate2 s_root = Issue("CN=Cli Root", null, ca: true);
    private static readonly X509Certificate2 s_intermediate = Issue("CN=Cli Intermediate", s_root, ca: true);
    private static readonly X509Certificate2 s_leaf = Issue("CN=mx.example.com", s_intermediate, names: ["mx.example.com"]);

    private readonly string _dir = Directory.CreateTempSubdirectory("rampart-tlsa").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Certificates valid around the real clock, since the CLI verifies at the system time.</summary>
    private static X509Certificate2 Issue(string subject, X509Certificate2? issuer, bool ca = false, string[]? names = null)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(ca, false, 0, true));
        if (names is not null)
        {
            var san = new SubjectAlternativeNameBuilder();
            foreach (var name in names)
            {
                san.AddDnsName(name);
            }
            request.CertificateExtensions.Add(san.Build());
        }
        var (notBefore, notAfter) = ca ? (s_now.AddYears(-1), s_now.AddYears(5)) : (s_now.AddDays(-10), s_now.AddDays(80));
        if (issuer is null)
        {
            return request.CreateSelfSigned(notBefore, notAfter);
        }
        using var cert = request.Create(issuer, notBefore, notAfter, RandomNumberGenerator.GetBytes(10));
        return cert.CopyWithPrivateKey(key);
    }

    private static string Spki256(X509Certificate2 cert) => Convert.ToHexString(SHA256.HashData(cert.PublicKey.ExportSubjectPublicKeyInfo()));

    private string Write(string name, string content)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, content);
        return path;
    }

    private string Pem(params X509Certificate2[] chain) => Write($"chain-{Guid.NewGuid():N}.pem", string.Concat(chain.Select(c => c.ExportCertificatePem() + "\n")));

    private static void InputError(CliResult result, string expected)
    {
        Assert.Equal(2, result.ExitCode);
        Assert.False(CliRunner.HasStackTrace(result), result.ToString());
        Assert.Equal("", result.Stdout);
        var line = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Matches("^rampart( tlsa (generate|match|verify))?: ", line);
        Assert.Contains(expected, line, StringComparison.Ordinal);
    }

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    // generate

    [Fact]
    public async Task Generate_LeafDefaults_SpkiSha256LineNamedAfterCertificate()
    {
        var result = await CliRunner.RunAsync("tlsa", "generate", "--cert", Pem(s_leaf));

        Assert.Equal(0, result.ExitCode);
        var lines = Lines(result.Stdout);
        Assert.Equal(2, lines.Length);
        Assert.StartsWith("; 3 1 1", lines[0], StringComparison.Ordinal);
        Assert.Contains("CN=mx.example.com", lines[0], StringComparison.Ordinal);
        Assert.Contains("expires " + s_leaf.NotAfter.ToUniversalTime().ToString("u", null), lines[0], StringComparison.Ordinal);
        Assert.Equal($"_25._tcp.mx.example.com. IN TLSA 3 1 1 {Spki256(s_leaf)}", lines[1]);
        Assert.Contains("no --name", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Generate_NamePortSelectorMatching_Used()
    {
        var result = await CliRunner.RunAsync("tlsa", "generate", "--cert", Pem(s_leaf), "--name", "Mail.Example.ORG.", "--port", "465", "--selector", "0", "--matching", "2");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal($"_465._tcp.mail.example.org. IN TLSA 3 0 2 {Convert.ToHexString(SHA512.HashData(s_leaf.RawData))}", Lines(result.Stdout)[1]);
        Assert.Equal("", result.Stderr);
    }

    [Fact]
    public async Task Generate_ChainUsage2_TopCaCertificateSaid()
    {
        var result = await CliRunner.RunAsync("tlsa", "generate", "--cert", Pem(s_leaf, s_intermediate, s_root), "--usage", "2");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal($"_25._tcp.mx.example.com. IN TLSA 2 1 1 {Spki256(s_root)}", Lines(result.Stdout)[1]);
        Assert.Contains("CN=Cli Root", Lines(result.Stdout)[0], StringComparison.Ordinal);
        Assert.Contains("top certificate of the chain", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Generate_LeafOnlyUsage2_InputError()
    {
        InputError(await CliRunner.RunAsync("tlsa", "generate", "--cert", Pem(s_leaf), "--usage", "2"), "end-entity");
    }

    [Fact]
    public async Task Generate_PublicKeyPem_NeedsNameAndSelector1()
    {
        var key = Write("key.pub", s_leaf.GetECDsaPublicKey()!.ExportSubjectPublicKeyInfoPem());

        var ok = await CliRunner.RunAsync("tlsa", "generate", "--cert", key, "--name", "mx.example.com");

        Assert.Equal(0, ok.ExitCode);
        Assert.Equal($"_25._tcp.mx.example.com. IN TLSA 3 1 1 {Spki256(s_leaf)}", Lines(ok.Stdout)[1]);
        InputError(await CliRunner.RunAsync("tlsa", "generate", "--cert", key), "--name HOST");
        InputError(await CliRunner.RunAsync("tlsa", "generate", "--cert", key, "--name", "mx.example.com", "--selector", "0"), "--selector 0 needs a certificate");
    }

    [Fact]
    public async Task Generate_PrivateKeyPem_SameRecordAsCertificate()
    {
        var key = Write("key.pem", s_leaf.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());

        var result = await CliRunner.RunAsync("tlsa", "generate", "--cert", key, "--name", "mx.example.com", "--matching", "0");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal($"_25._tcp.mx.example.com. IN TLSA 3 1 0 {Convert.ToHexString(s_leaf.PublicKey.ExportSubjectPublicKeyInfo())}", Lines(result.Stdout)[1]);
    }

    [Theory]
    [InlineData("--usage", "1", "--usage: '1' is not a certificate usage: give 2 (DANE-TA) or 3 (DANE-EE)")]
    [InlineData("--selector", "2", "--selector: '2' is not a selector: give 0 (whole certificate) or 1 (public key)")]
    [InlineData("--matching", "sha256", "--matching: 'sha256' is not a matching type: give 0 (full data) or 1 (SHA-256) or 2 (SHA-512)")]
    [InlineData("--port", "0", "--port: '0' is not a port: give a number from 1 to 65535")]
    [InlineData("--name", "bad..name", "rampart tlsa generate: --name: 'bad..name' is not a domain name: it has an empty label")]
    public async Task Generate_BadOption_InputError(string option, string value, string expected)
    {
        InputError(await CliRunner.RunAsync("tlsa", "generate", "--cert", Pem(s_leaf), option, value), expected);
    }

    [Fact]
    public async Task Generate_GarbageOrEmptyOrMissing_InputErrorNamingFile()
    {
        var garbage = Write("garbage.pem", "this is not a certificate\n");
        var empty = Write("empty.pem", "");

        InputError(await CliRunner.RunAsync("tlsa", "generate", "--cert", garbage), "garbage.pem: is neither PEM");
        InputError(await CliRunner.RunAsync("tlsa", "generate", "--cert", empty), "empty.pem: is empty");
        InputError(await CliRunner.RunAsync("tlsa", "generate", "--cert", Path.Combine(_dir, "nope.pem")), "nope.pem: no such file");
        InputError(await CliRunner.RunAsync("tlsa", "generate"), "--cert FILE");
    }

    /// <summary>The option is named with the file, as every other file option does ("--overrides FILE: …").</summary>
    [Fact]
    public async Task CertOrChainUnusable_LineNamesTheOption()
    {
        var missing = Path.Combine(_dir, "nope.pem");
        var key = Write("key.pem", s_leaf.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());

        InputError(await CliRunner.RunAsync("tlsa", "generate", "--cert", missing), $"rampart: --cert {missing}: no such file");
        InputError(await CliRunner.RunAsync("tlsa", "match", "--chain", missing, "--tlsa", "3 1 1 " + new string('a', 64)), $"rampart: --chain {missing}: no such file");
        InputError(await CliRunner.RunAsync("tlsa", "match", "--chain", key, "--tlsa", "3 1 1 " + new string('a', 64)), $"rampart: --chain {key}: holds a key but no certificate");
    }

    /// <summary>
    /// A file whose size said one thing and whose read gives more (a /proc file says 0 bytes) is read only up to the
    /// bound: the one bounded read, not a size check followed by an unbounded read of the whole.
    /// </summary>
    [Fact]
    public async Task Cert_ReadGivesMoreThanTheBound_RefusedAtTheBound()
    {
        const string Grows = "/proc/kallsyms"; // stat says 0 bytes; reading gives several MiB
        ProcFile.SkipUnlessItReadsMoreThan(Grows, 4 << 20);

        InputError(await CliRunner.RunAsync("tlsa", "generate", "--cert", Grows), $"rampart: --cert {Grows}: larger than 4 MiB, the most Rampart reads for it");
    }

    [Fact]
    public async Task Generate_ThenMatch_RoundTrip()
    {
        var chain = Pem(s_leaf, s_intermediate);
        var generated = await CliRunner.RunAsync("tlsa", "generate", "--cert", chain, "--selector", "0", "--matching", "2");
        var record = Lines(generated.Stdout)[1].Split(" IN TLSA ")[1];

        var result = await CliRunner.RunAsync("tlsa", "match", "--chain", chain, "--tlsa", record);

        Assert.Equal(0, result.ExitCode);
        Assert.StartsWith($"match: {record} at depth 0", result.Stdout, StringComparison.Ordinal);
    }

    // match

    [Fact]
    public async Task Match_DaneEeJson_ContractKeysAndExit0()
    {
        var result = await CliRunner.RunAsync("tlsa", "match", "--chain", Pem(s_leaf, s_intermediate), "--tlsa", $"3 1 1 {Spki256(s_leaf).ToLowerInvariant()}", "--json");

        Assert.Equal(0, result.ExitCode);
        using var json = JsonDocument.Parse(result.Stdout);
        var root = json.RootElement;
        Assert.Equal(["matched", "usable", "record", "depth", "reason"], root.EnumerateObject().Select(p => p.Name));
        Assert.True(root.GetProperty("matched").GetBoolean());
        Assert.Equal(1, root.GetProperty("usable").GetInt32());
        Assert.Equal($"3 1 1 {Spki256(s_leaf)}", root.GetProperty("record").GetString());
        Assert.Equal(0, root.GetProperty("depth").GetInt32());
        Assert.Contains("DANE-EE", root.GetProperty("reason").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Match_NoMatchJson_NullsAndExit1()
    {
        var result = await CliRunner.RunAsync("tlsa", "match", "--chain", Pem(s_leaf, s_intermediate), "--tlsa", $"3 1 1 {Spki256(s_root)}", "--json");

        Assert.Equal(1, result.ExitCode);
        using var json = JsonDocument.Parse(result.Stdout);
        var root = json.RootElement;
        Assert.False(root.GetProperty("matched").GetBoolean());
        Assert.Equal(1, root.GetProperty("usable").GetInt32());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("record").ValueKind);
        Assert.Equal(JsonValueKind.Null, root.GetProperty("depth").ValueKind);
        Assert.StartsWith("no usable record matched", root.GetProperty("reason").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Match_DaneTaWithName_Exit0Depth1()
    {
        var result = await CliRunner.RunAsync("tlsa", "match", "--chain", Pem(s_leaf, s_intermediate), "--tlsa", $"2 1 1 {Spki256(s_intermediate)}",
            "--name", "mx.example.com", "--json");

        Assert.Equal(0, result.ExitCode);
        using var json = JsonDocument.Parse(result.Stdout);
        Assert.Equal(1, json.RootElement.GetProperty("depth").GetInt32());
    }

    [Fact]
    public async Task Match_DaneTaOtherName_Exit1()
    {
        var result = await CliRunner.RunAsync("tlsa", "match", "--chain", Pem(s_leaf, s_intermediate), "--tlsa", $"2 1 1 {Spki256(s_intermediate)}",
            "--name", "example.net");

        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith("no match", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("do not cover example.net", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Match_DaneTaWithoutName_InputError()
    {
        InputError(await CliRunner.RunAsync("tlsa", "match", "--chain", Pem(s_leaf, s_intermediate), "--tlsa", $"2 1 1 {Spki256(s_intermediate)}"),
            "--name HOST is needed");
    }

    [Fact]
    public async Task Match_OnlyPkixRecords_Exit1Unauthenticated()
    {
        var result = await CliRunner.RunAsync("tlsa", "match", "--chain", Pem(s_leaf), "--tlsa", $"1 1 1 {Spki256(s_leaf)}", "--json");

        Assert.Equal(1, result.ExitCode);
        using var json = JsonDocument.Parse(result.Stdout);
        Assert.Equal(0, json.RootElement.GetProperty("usable").GetInt32());
        Assert.Contains("unauthenticated", json.RootElement.GetProperty("reason").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Match_SeveralRecordsInOneOption_AllRead()
    {
        var result = await CliRunner.RunAsync("tlsa", "match", "--chain", Pem(s_leaf), "--tlsa", $"3 1 1 {Spki256(s_root)}", $"3 0 1 {Convert.ToHexString(SHA256.HashData(s_leaf.RawData))}");

        Assert.Equal(0, result.ExitCode);
        Assert.StartsWith("match: 3 0 1", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("DANE-EE skips name and date checks", Lines(result.Stdout)[1], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("3 1 1")]
    [InlineData("3 1 1 XYZ")]
    [InlineData("3 1 1 ABC")]
    [InlineData("x 1 1 AB")]
    [InlineData("3 1 256 AB")]
    [InlineData("")]
    public async Task Match_MalformedTlsa_InputError(string record)
    {
        InputError(await CliRunner.RunAsync("tlsa", "match", "--chain", Pem(s_leaf), "--tlsa", record), "--tlsa: TLSA record");
    }

    [Fact]
    public async Task Match_GarbageEmptyOrKeyOnlyChain_InputErrorNamingFile()
    {
        var tlsa = $"3 1 1 {Spki256(s_leaf)}";
        var garbage = Write("garbage.pem", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
        var empty = Write("empty.pem", "\n");
        var key = Write("key.pem", s_leaf.GetECDsaPublicKey()!.ExportSubjectPublicKeyInfoPem());

        InputError(await CliRunner.RunAsync("tlsa", "match", "--chain", garbage, "--tlsa", tlsa), "garbage.pem: PEM block 1 (CERTIFICATE) is not a valid X.509 certificate");
        InputError(await CliRunner.RunAsync("tlsa", "match", "--chain", empty, "--tlsa", tlsa), "empty.pem: is empty");
        InputError(await CliRunner.RunAsync("tlsa", "match", "--chain", key, "--tlsa", tlsa), "key.pem: holds a key but no certificate");
        InputError(await CliRunner.RunAsync("tlsa", "match", "--chain", _dir, "--tlsa", tlsa), "is a directory");
    }

    [Fact]
    public async Task Match_MissingOptionsOrUnknownArgument_InputError()
    {
        var chain = Pem(s_leaf);

        InputError(await CliRunner.RunAsync("tlsa", "match", "--tlsa", "3 1 1 AB"), "--chain PEMFILE");
        InputError(await CliRunner.RunAsync("tlsa", "match", "--chain", chain), "--tlsa");
        InputError(await CliRunner.RunAsync("tlsa", "match", "--chain", chain, "--tlsa"), "--tlsa");
        InputError(await CliRunner.RunAsync("tlsa", "match", "--chain", chain, "--tlsa", "3 1 1 AB", "--frobnicate"), "--frobnicate");
    }
}
