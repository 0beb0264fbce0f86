using System.Text.Json;
using Rampart.Tests.Shared;

namespace Rampart.Cli.Tests.Commands;

/// <summary><c>rampart publish</c> offline (no DNS): outputs, files, exit codes and one-line errors.</summary>
public sealed class PublishCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("rampart-publish-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Config(string yaml)
    {
        var path = Path.Combine(_dir, "publish.yml");
        File.WriteAllText(path, yaml);
        return path;
    }

    [Fact]
    public async Task Publish_Offline_WritesPolicyAndRecordsThatParseBack()
    {
        var config = Config("domains:\n  - domain: example.test\n    mx: [mx.example.test]\n    mode: testing\n    tlsrpt: mailto:r@example.test\n    policy_host: 192.0.2.7\n");
        var output = Path.Combine(_dir, "out");

        var result = await CliRunner.RunAsync("publish", "--config", config, "--offline", "--out", output);

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("_mta-sts.example.test. IN TXT \"v=STSv1; id=", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("mta-sts.example.test. IN A 192.0.2.7", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("_smtp._tls.example.test. IN TXT \"v=TLSRPTv1; rua=mailto:r@example.test\"", result.Stdout, StringComparison.Ordinal);
        var policy = Path.Combine(output, "example.test", "mta-sts.txt");
        Assert.Equal("version: STSv1\r\nmode: testing\r\nmx: mx.example.test\r\nmax_age: 86400\r\n", await File.ReadAllTextAsync(policy, TestContext.Current.CancellationToken));
        Assert.True(File.Exists(Path.Combine(output, "example.test", "records.zone")));
        var parse = await CliRunner.RunAsync("mta-sts", "parse", policy);
        Assert.Equal(0, parse.ExitCode);
    }

    [Fact]
    public async Task Publish_Json_ContractKeys()
    {
        var config = Config("domain: example.test\nmx: mx.example.test\n");

        var result = await CliRunner.RunAsync("publish", "--config", config, "--offline", "--json", "--mode", "enforce");

        Assert.Equal(0, result.ExitCode);
        var domain = JsonDocument.Parse(result.Stdout).RootElement.GetProperty("domains")[0];
        Assert.Equal("example.test", domain.GetProperty("domain").GetString());
        Assert.True(domain.GetProperty("ready").GetBoolean());
        Assert.Equal("enforce", domain.GetProperty("policy").GetProperty("mode").GetString());
        Assert.Equal(32, domain.GetProperty("policy").GetProperty("id").GetString()!.Length);
        Assert.Contains(domain.GetProperty("records").EnumerateArray(), r => r.GetProperty("type").GetString() == "TXT");
        Assert.Equal(JsonValueKind.Array, domain.GetProperty("warnings").ValueKind);
    }

    [Theory]
    [InlineData("domain: example.test\nmx: 192.0.2.1\n", "mx[0] '192.0.2.1'")]
    [InlineData("domain: example.test\nmx: mx.example.test\ntlsa:\n  - cert: /nonexistent.pem\n", "certificate file /nonexistent.pem: no such file")]
    [InlineData("domain: example.test\nmx: mx.example.test\nbogus: 1\n", "unknown key 'bogus'")]
    public async Task Publish_BadInput_Exit2OneLine(string yaml, string expected)
    {
        var result = await CliRunner.RunAsync("publish", "--config", Config(yaml), "--offline");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains(expected, result.Stderr, StringComparison.Ordinal);
        Assert.Single(result.Stderr.Trim().Split('\n'));
        Assert.False(CliRunner.HasStackTrace(result), result.ToString());
    }

    [Fact]
    public async Task Publish_BadModeOption_Exit2()
    {
        var result = await CliRunner.RunAsync("publish", "--config", Config("domain: example.test\nmx: mx.example.test\n"), "--offline", "--mode", "strict");

        Assert.Equal(2, result.ExitCode);
        Assert.Equal("rampart publish: --mode: 'strict' is not a policy mode: give testing, enforce, none", result.Stderr.Trim());
    }
}
