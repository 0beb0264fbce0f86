using System.Text.Json;
using Rampart.Tests.Shared;

namespace Rampart.Lab.Tests;

/// <summary>Every DANE row of LAB.md through <c>rampart resolve --json</c> in the lab (real NSD + validating Unbound).</summary>
[Trait("Category", "integration")]
public class DaneScenarioTests
{
    private static async Task<JsonElement> Resolve(string domain)
    {
        Lab.RequireLab();
        var result = await CliRunner.RunAsync(["resolve", domain, "--json"], null, TimeSpan.FromSeconds(60));
        Assert.False(CliRunner.HasStackTrace(result), result.ToString());
        using var doc = JsonDocument.Parse(result.Stdout);
        return doc.RootElement.Clone();
    }

    [Theory]
    [InlineData("dane.test", "dane-only", "OK dane-only")]
    [InlineData("dane-ta.test", "dane-only", "OK dane-only")]
    [InlineData("dane-ta-badname.test", "dane-only", "OK dane-only")]
    [InlineData("dane-mismatch.test", "dane-only", "OK dane-only")]
    [InlineData("dane-unusable.test", "dane", "OK dane")]
    [InlineData("dane-partial.test", "dane", "OK dane")]
    [InlineData("dane-cname.test", "dane-only", "OK dane-only")]
    [InlineData("rrsig-expiring.test", "dane-only", "OK dane-only")]
    [InlineData("dane-rsa.test", "dane-only", "OK dane-only")]
    [InlineData("dane-p384.test", "dane-only", "OK dane-only")]
    [InlineData("dane-ed25519.test", "dane-only", "OK dane-only")]
    [InlineData("dane-nsec3.test", "dane-only", "OK dane-only")]
    [InlineData("nostarttls.test", "none", "NOTFOUND ")]
    public async Task Resolve_DaneRow_ExpectedPolicy(string domain, string policy, string postfix)
    {
        var json = await Resolve(domain);

        Assert.Equal(policy, json.GetProperty("policy").GetString());
        Assert.Equal(postfix, json.GetProperty("postfix").GetString());
    }

    [Theory]
    [InlineData("bogus.test")]
    [InlineData("stripped.test")]
    [InlineData("expired.test")]
    public async Task Resolve_BrokenDnssec_TempFailNeverNone(string domain)
    {
        var json = await Resolve(domain);

        Assert.Equal("tempfail", json.GetProperty("policy").GetString());
        Assert.StartsWith("TEMP ", json.GetProperty("postfix").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Resolve_DaneAndMtaSts_DaneWinsWithoutFetchingThePolicy()
    {
        var json = await Resolve("dane.test");

        var steps = json.GetProperty("evidence").EnumerateArray().Select(e => e.GetProperty("step").GetString()).ToList();
        Assert.DoesNotContain("mta-sts.fetch", steps);
        var host = json.GetProperty("dane").EnumerateArray().Single();
        Assert.Equal("usable", host.GetProperty("status").GetString());
        Assert.Equal("mx.dane.test", host.GetProperty("tlsa_base_domain").GetString());
    }

    [Fact]
    public async Task Resolve_CnameMx_TlsaBaseIsTheExpandedName()
    {
        var json = await Resolve("dane-cname.test");

        var host = json.GetProperty("dane").EnumerateArray().Single();
        Assert.Equal("mx.dane-cname.test", host.GetProperty("host").GetString());
        Assert.Equal("mail.dane-target.test", host.GetProperty("tlsa_base_domain").GetString());
    }

    [Fact]
    public async Task Resolve_PartialDane_PerHostVerdicts()
    {
        var json = await Resolve("dane-partial.test");

        var statuses = json.GetProperty("dane").EnumerateArray()
            .ToDictionary(h => h.GetProperty("host").GetString()!, h => h.GetProperty("status").GetString());
        Assert.Equal("usable", statuses["mx1.dane-partial.test"]);
        Assert.Equal("no-tlsa", statuses["mx2.dane-partial.test"]);
    }

    [Fact]
    public async Task Resolve_Unusable_ExplainsWhy()
    {
        var json = await Resolve("dane-unusable.test");

        var host = json.GetProperty("dane").EnumerateArray().Single();
        Assert.Equal("all-unusable", host.GetProperty("status").GetString());
    }
}
