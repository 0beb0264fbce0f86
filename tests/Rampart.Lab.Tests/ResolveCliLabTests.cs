using System.Text.Json;
using Rampart.Tests.Shared;

namespace Rampart.Lab.Tests;

/// <summary><c>rampart resolve --json</c> in the lab: the JSON contract of DESIGN.md and the error classes in plain words.</summary>
[Trait("Category", "integration")]
public class ResolveCliLabTests
{
    private static async Task<(CliResult Result, JsonElement Json)> Resolve(string domain, params string[] extra)
    {
        Lab.RequireLab();
        var result = await CliRunner.RunAsync(["resolve", domain, "--json", .. extra], null, TimeSpan.FromSeconds(60));
        Assert.False(CliRunner.HasStackTrace(result), result.ToString());
        using var doc = JsonDocument.Parse(result.Stdout);
        return (result, doc.RootElement.Clone());
    }

    [Fact]
    public async Task Resolve_StsEnforce_ContractKeysAndMatchList()
    {
        var (result, json) = await Resolve("sts-enforce.test");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("sts-enforce.test", json.GetProperty("domain").GetString());
        Assert.Equal("mta-sts", json.GetProperty("policy").GetString());
        Assert.Equal("OK secure match=mx.sts-enforce.test servername=hostname", json.GetProperty("postfix").GetString());
        Assert.Equal(["mx.sts-enforce.test"], json.GetProperty("mx").EnumerateArray().Select(e => e.GetString()!));
        var steps = json.GetProperty("evidence").EnumerateArray().Select(e => e.GetProperty("step").GetString()).ToList();
        Assert.Contains("mta-sts.txt", steps);
        Assert.Contains("mta-sts.fetch", steps);
        Assert.Contains("mta-sts.policy", steps);
        Assert.Contains("mta-sts.mx-match", steps);
    }

    [Theory]
    [InlineData("sts-404.test", "http-status")]
    [InlineData("sts-redirect.test", "redirect")]
    [InlineData("sts-badtype.test", "content-type")]
    [InlineData("sts-huge.test", "too-large")]
    [InlineData("sts-badcert.test", "certificate-invalid")]
    [InlineData("sts-slow.test", "timeout")]
    public async Task Resolve_FetchErrorScenario_NamesTheErrorClassWithinTimeout(string domain, string errorClass)
    {
        var (result, json) = await Resolve(domain, "--timeout", "2");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("none", json.GetProperty("policy").GetString());
        Assert.Equal("NOTFOUND ", json.GetProperty("postfix").GetString());
        var fetch = json.GetProperty("evidence").EnumerateArray().Single(e => e.GetProperty("step").GetString() == "mta-sts.fetch");
        Assert.Equal("fail", fetch.GetProperty("outcome").GetString());
        Assert.StartsWith(errorClass + ":", fetch.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.True(result.Elapsed < TimeSpan.FromSeconds(10), result.ToString());
    }

    [Fact]
    public async Task Resolve_BadSyntax_PolicyInvalidInPlainWords()
    {
        Lab.RequireLab();
        var result = await CliRunner.RunAsync("resolve", "sts-badsyntax.test");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("line ", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("Postfix: NOTFOUND", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Resolve_Wildcard_ExpandsToOneLabelMx()
    {
        var (_, json) = await Resolve("sts-wildcard.test");

        Assert.Equal("OK secure match=mx.sts-wildcard.test servername=hostname", json.GetProperty("postfix").GetString());
    }

    [Fact]
    public async Task Resolve_ProxyVariablesSet_NoProxyUsed()
    {
        Lab.RequireLab();
        var proxy = "http://127.0.0.1:9";
        var environment = new Dictionary<string, string> { ["HTTPS_PROXY"] = proxy, ["https_proxy"] = proxy, ["ALL_PROXY"] = proxy, ["all_proxy"] = proxy };

        var result = await CliRunner.RunAsync(["resolve", "sts-enforce.test", "--json"], null, TimeSpan.FromSeconds(60), environment);

        using var json = JsonDocument.Parse(result.Stdout);
        Assert.Equal("mta-sts", json.RootElement.GetProperty("policy").GetString());
    }

    [Fact]
    public async Task Resolve_LocalOverrideWhereNoOtherPolicy_Pinned()
    {
        var file = Path.Combine(Directory.CreateTempSubdirectory("rampart-pin").FullName, "overrides");
        await File.WriteAllTextAsync(file, "# local decisions\nnosts.test encrypt\nsts-enforce.test may\n", TestContext.Current.CancellationToken);

        var (result, json) = await Resolve("nosts.test", "--overrides", file);
        var (_, sts) = await Resolve("sts-enforce.test", "--overrides", file);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("pinned", json.GetProperty("policy").GetString());
        Assert.Equal("OK encrypt", json.GetProperty("postfix").GetString());
        Assert.Equal("mta-sts", sts.GetProperty("policy").GetString());
    }

    [Fact]
    public async Task Resolve_ExpiredPolicyList_NotEnforcedWithWarning()
    {
        var file = Path.Combine(Directory.CreateTempSubdirectory("rampart-list").FullName, "policy.json");
        await File.WriteAllTextAsync(file, """
            {"version": "0.1", "timestamp": "2020-01-01T00:00:00Z", "expires": "2020-02-01T00:00:00Z",
             "policies": {"nosts.test": {"mode": "enforce", "mxs": ["mx.nosts.test"]}}}
            """, TestContext.Current.CancellationToken);

        var (result, json) = await Resolve("nosts.test", "--policy-list", file);

        Assert.Equal("none", json.GetProperty("policy").GetString());
        Assert.Contains("expired", result.Stderr, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Resolve_InvalidOverridesFile_OneLineError()
    {
        var file = Path.Combine(Directory.CreateTempSubdirectory("rampart-bad").FullName, "overrides");
        await File.WriteAllTextAsync(file, "nosts.test fingerprint\n", TestContext.Current.CancellationToken);
        Lab.RequireLab();

        var result = await CliRunner.RunAsync("resolve", "nosts.test", "--overrides", file);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains(file, result.Stderr, StringComparison.Ordinal);
        Assert.False(CliRunner.HasStackTrace(result), result.ToString());
    }
}
