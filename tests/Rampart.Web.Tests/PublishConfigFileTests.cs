using Rampart.Core;
using Rampart.Core.MtaSts;
using Rampart.Web.Dashboard;

namespace Rampart.Web.Tests;

public class PublishConfigFileTests
{
    [Fact]
    public void Parse_TopLevelDomain_Defaults()
    {
        var config = PublishConfigFile.Parse("domain: Example.TEST.\nmx: mx.example.test\n", "t.yml");

        var domain = Assert.Single(config.Domains);
        Assert.Equal("example.test", domain.Domain);
        Assert.Equal(MtaStsMode.Testing, domain.Mode);
        Assert.Equal(86_400, domain.MaxAge);
        Assert.Equal("mta-sts.example.test", domain.CertName);
        Assert.Equal(443, Assert.Single(config.Serve.Listen).Port);
    }

    [Fact]
    public void Parse_UnknownKey_ErrorNamesKeyAndLine()
    {
        var ex = Assert.Throws<RampartException>(() => PublishConfigFile.Parse("domain: example.test\nmx: mx.example.test\nmax-age: 5\n", "t.yml"));

        Assert.Contains("t.yml:3", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'max-age'", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("domains:\n  - domain: example.test\n    mx: 192.0.2.1\n", "domains[0].mx[0] '192.0.2.1'")]
    [InlineData("domains:\n  - domain: example.test\n    mx: mx.example.test\n    mode: enforse\n", "domains[0].mode 'enforse'")]
    [InlineData("domains:\n  - domain: example.test\n    mx: mx.example.test\n    max_age: forever\n", "domains[0].max_age 'forever'")]
    [InlineData("domains:\n  - domain: example.test\n", "domains[0].mx: at least one")]
    [InlineData("domains:\n  - domain: example.test\n    mx: mx.example.test\n    tlsrpt: http://x.test/r\n", "domains[0].tlsrpt[0]")]
    [InlineData("domain: example.test\nmx: mx.example.test\nserve:\n  listen: nowhere\n", "t.yml:4: serve.listen: 'nowhere' is not IP:PORT")]
    [InlineData("domains:\n  - domain: a.test\n    mx: mx.a.test\n  - domain: a.test\n    mx: mx.a.test\n", "listed twice")]
    [InlineData("domain: [unclosed\n", "invalid YAML")]
    [InlineData("domain: example.test\nmx: mx.example.test\nserve:\n  dashboard:\n    max_credential_failures: 0\n", "t.yml:5: serve.dashboard.max_credential_failures: ")]
    [InlineData("domain: example.test\nmx: mx.example.test\nserve:\n  dashboard:\n    credential_failure_window: 86401\n", "t.yml:5: serve.dashboard.credential_failure_window: ")]
    [InlineData("domain: example.test\nmx: mx.example.test\nserve:\n  dashboard:\n    credential_failure_addresses: 15\n", "t.yml:5: serve.dashboard.credential_failure_addresses: ")]
    [InlineData("domain: example.test\nmx: mx.example.test\nserve:\n  dashboard:\n    credential_failure_window: 10m\n", "t.yml:5: serve.dashboard.credential_failure_window: '10m' is not a whole number")]
    public void Parse_BadValue_OneErrorNamingTheKey(string yaml, string expected)
    {
        var ex = Assert.Throws<RampartException>(() => PublishConfigFile.Parse(yaml, "t.yml"));

        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', ex.Message);
    }

    /// <summary>The publish file shares the daemon's rule: an unknown key names its line and the key meant, in any section.</summary>
    [Fact]
    public void Parse_UnknownKeysEverywhere_NearestKeyAndLineForEach()
    {
        var ex = Assert.Throws<RampartException>(() => PublishConfigFile.Parse(
            "domains:\n  - domain: example.test\n    mx: mx.example.test\n    tlsa:\n      - cert: /c.pem\n        dane-ta: true\nserve:\n  certificate: /etc/x\n", "t.yml"));

        Assert.Equal(
            "2 errors: t.yml:6: unknown key 'dane-ta' in 'domains[0].tlsa[0]' (did you mean 'dane_ta'?); " +
            "t.yml:8: unknown key 'certificate' in 'serve' (did you mean 'certificates'?)",
            ex.Message);
    }

    [Fact]
    public void Parse_SeveralMistakes_AllCollectedEachWithFileAndLine()
    {
        var ex = Assert.Throws<RampartException>(() => PublishConfigFile.Parse(
            "domains:\n  - domain: example.test\n    mx: mx.example.test\n    mode: enforse\nserve:\n  report_max_bytes: lots\n  listen: [127.0.0.1:443, nowhere]\n", "t.yml"));

        Assert.StartsWith("3 errors: ", ex.Message, StringComparison.Ordinal);
        Assert.Contains("t.yml:6: serve.report_max_bytes: 'lots' is not a whole number", ex.Message, StringComparison.Ordinal);
        Assert.Contains("t.yml:7: serve.listen: 'nowhere' is not IP:PORT ([IPv6]:PORT)", ex.Message, StringComparison.Ordinal);
        Assert.Contains("t.yml:2: domains[0].mode 'enforse': must be testing, enforce or none", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_ServeSection_EveryKeyRead()
    {
        var config = PublishConfigFile.Parse(
            "domain: example.test\nmx: mx.example.test\nserve:\n  listen: ['127.0.0.1:8443', '[::1]:8443']\n  certificates: /etc/certs\n" +
            "  report_path: /reports\n  report_max_bytes: 2048\n  state_dir: /var/lib/x\n", "t.yml");

        Assert.Equal(["127.0.0.1:8443", "[::1]:8443"], config.Serve.Listen.Select(e => e.ToString()));
        Assert.Equal(new ServeSettings(config.Serve.Listen, "/etc/certs", "/reports", 2048, "/var/lib/x"), config.Serve);
    }

    [Fact]
    public void Parse_DashboardCredentialLimits_ReadOrDefault()
    {
        var set = PublishConfigFile.Parse(
            "domain: example.test\nmx: mx.example.test\nserve:\n  dashboard:\n    token_file: /etc/t\n    max_credential_failures: 3\n" +
            "    credential_failure_window: 3600\n    credential_failure_addresses: 100000\n", "t.yml");
        var unset = PublishConfigFile.Parse("domain: example.test\nmx: mx.example.test\nserve:\n  dashboard:\n    token_file: /etc/t\n", "t.yml");

        Assert.Equal(new CredentialFailureLimits(3, TimeSpan.FromHours(1), 100_000), set.Serve.Dashboard!.FailureLimits);
        Assert.Equal(CredentialFailureLimits.Default, unset.Serve.Dashboard!.FailureLimits);
        Assert.Equal(new CredentialFailureLimits(10, TimeSpan.FromMinutes(10), 4096), CredentialFailureLimits.Default);
    }

    // Inputs found by fuzz/run (publish-config, daemon-config) on which YamlDotNet throws InvalidOperationException or
    // ArgumentException, not YamlException: Parse used to let them escape instead of its documented RampartException.
    [Theory]
    [InlineData("domain: [uneV\nsclo")]
    [InlineData(" :\0\uFFFD\uFFFD\uFFFD")]
    [InlineData("ioPt1 * *:\x18::::2: !:8foo: !!m]oa")]
    public void Parse_YamlTheLibraryCannotRead_RampartException(string yaml)
    {
        var ex = Assert.Throws<RampartException>(() => PublishConfigFile.Parse(yaml, "t.yml"));

        Assert.Matches(@"^t\.yml:\d+(:\d+)?: invalid YAML: \S", ex.Message);
        Assert.DoesNotContain('\n', ex.Message);
    }

    [Fact]
    public void Parse_ForwardAliasUsedAsKeys_RampartExceptionNotStackOverflow()
    {
        // Found by fuzz/run (publish-config): the process died of a stack overflow in YamlDotNet.
        var ex = Assert.Throws<RampartException>(() => PublishConfigFile.Parse("a: {*x, *x}\nb: &x 1\n", "t.yml"));

        Assert.StartsWith("t.yml:1:", ex.Message, StringComparison.Ordinal);
        Assert.Contains("alias *x comes before any anchor &x", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_MissingFile_NamesIt()
    {
        var ex = Assert.Throws<RampartException>(() => PublishConfigFile.Load("/nonexistent/publish.yml"));

        Assert.Contains("/nonexistent/publish.yml", ex.Message, StringComparison.Ordinal);
    }
}
