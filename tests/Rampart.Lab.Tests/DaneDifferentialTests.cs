using System.Text.Json;
using Rampart.Tests.Shared;

namespace Rampart.Lab.Tests;

/// <summary>
/// Differential test: for the lab's DANE hosts, Rampart's live verdict (<c>rampart tlsa verify</c>) agrees with Postfix's
/// <c>posttls-finger -l dane</c> and with <c>openssl s_client -dane_tlsa_domain … -dane_tlsa_rrdata …</c> (both from apt).
/// </summary>
[Trait("Category", "integration")]
public class DaneDifferentialTests
{
    [Theory]
    [InlineData("dane.test", "mx.dane.test", true)]
    [InlineData("dane-ta.test", "mx.dane-ta.test", true)]
    [InlineData("dane-ta-badname.test", "mx.dane-ta-badname.test", false)]
    [InlineData("dane-mismatch.test", "mx.dane-mismatch.test", false)]
    [InlineData("dane-cname.test", "mx.dane-cname.test", true)]
    [InlineData("dane-rsa.test", "mx.dane-rsa.test", true)]
    [InlineData("dane-p384.test", "mx.dane-p384.test", true)]
    [InlineData("dane-ed25519.test", "mx.dane-ed25519.test", true)]
    [InlineData("dane-nsec3.test", "mx.dane-nsec3.test", true)]
    [InlineData("rrsig-expiring.test", "mx.rrsig-expiring.test", true)]
    public async Task Verdict_AgreesWithPostfixAndOpenssl(string domain, string mx, bool expected)
    {
        Lab.RequireLab();
        var ours = await CliRunner.RunAsync(["tlsa", "verify", mx, "--json", "--timeout", "10"], null, TimeSpan.FromSeconds(60));
        Assert.False(CliRunner.HasStackTrace(ours), ours.ToString());
        using var json = JsonDocument.Parse(ours.Stdout);
        var rampart = json.RootElement.GetProperty("verified").GetBoolean();
        var baseDomain = json.RootElement.GetProperty("tlsa_base_domain").GetString()!;
        var address = json.RootElement.GetProperty("addresses")[0].GetProperty("address").GetString()!;

        var postfix = await PosttlsFingerVerifies(domain);
        var openssl = await OpensslVerifies(address, baseDomain);

        Assert.True(rampart == postfix && rampart == openssl,
            $"{mx}: rampart={rampart} posttls-finger={postfix} openssl={openssl}\n{ours.Stdout}");
        Assert.Equal(expected, rampart);
    }

    [Theory]
    [InlineData("mx.dane.test", 0)]
    [InlineData("mx.dane-mismatch.test", 1)]
    [InlineData("mx.bogus.test", 1)]
    [InlineData("mx.nostarttls.test", 1)]
    public async Task TlsaVerify_ExitCode(string mx, int exitCode)
    {
        Lab.RequireLab();

        var result = await CliRunner.RunAsync(["tlsa", "verify", mx, "--timeout", "10"], null, TimeSpan.FromSeconds(60));

        Assert.Equal(exitCode, result.ExitCode);
        Assert.False(CliRunner.HasStackTrace(result), result.ToString());
    }

    [Fact]
    public async Task TlsaGenerateLive_EqualsThePublishedRecord()
    {
        Lab.RequireLab();

        var generated = await CliRunner.RunAsync(["tlsa", "generate", "--host", "mx.dane.test"], null, TimeSpan.FromSeconds(60));
        var (_, dig) = await Tool("dig", "bind9-dnsutils", ["+short", "_25._tcp.mx.dane.test", "TLSA"]);

        Assert.Equal(0, generated.ExitCode);
        var published = dig.Trim().Split(' ', 4);
        var expected = $"_25._tcp.mx.dane.test. IN TLSA 3 1 1 {published[3].Replace(" ", "", StringComparison.Ordinal).ToUpperInvariant()}";
        Assert.Contains(expected, generated.Stdout.Split('\n').Select(l => l.Trim()));
    }

    private static async Task<bool> PosttlsFingerVerifies(string domain)
    {
        var (_, output) = await Tool("posttls-finger", "postfix",
            ["-c", "-l", "dane", "-o", "smtp_dns_support_level=dnssec", "-o", "smtp_host_lookup=dns", domain]);
        return output.Contains("Verified TLS connection established", StringComparison.Ordinal);
    }

    private static async Task<bool> OpensslVerifies(string address, string baseDomain)
    {
        var (_, dig) = await Tool("dig", "bind9-dnsutils", ["+short", $"_25._tcp.{baseDomain}", "TLSA"]);
        var records = dig.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(line => line.Split(' ', 4))
            .Where(f => f.Length == 4)
            .Select(f => $"{f[0]} {f[1]} {f[2]} {f[3].Replace(" ", "", StringComparison.Ordinal)}")
            .ToList();
        Assert.NotEmpty(records);
        var args = new List<string> { "s_client", "-brief", "-starttls", "smtp", "-connect", $"{address}:25", "-servername", baseDomain, "-dane_tlsa_domain", baseDomain };
        foreach (var record in records)
        {
            args.Add("-dane_tlsa_rrdata");
            args.Add(record);
        }
        var (_, output) = await Tool("openssl", "openssl", [.. args]);
        return output.Contains("Verification: OK", StringComparison.Ordinal);
    }

    private static async Task<(int ExitCode, string Output)> Tool(string command, string package, string[] args)
    {
        try
        {
            return await Lab.RunAsync(command, args, TimeSpan.FromSeconds(30));
        }
        catch (System.ComponentModel.Win32Exception)
        {
            Assert.Fail($"{command} is missing: install the Debian package {package} (./test.sh does)");
            throw;
        }
    }
}
