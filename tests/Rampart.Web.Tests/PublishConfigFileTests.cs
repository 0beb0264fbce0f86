using Rampart.Core;
using Rampart.Core.MtaSts;

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
    [InlineData("domain: example.test\nmx: mx.example.test\nserve:\n  listen: nowhere\n", "serve.listen 'nowhere'")]
    [InlineData("domains:\n  - domain: a.test\n    mx: mx.a.test\n  - domain: a.test\n    mx: mx.a.test\n", "listed twice")]
    [InlineData("domain: [unclosed\n", "invalid YAML")]
    public void Parse_BadValue_OneErrorNamingTheKey(string yaml, string expected)
    {
        var ex = Assert.Throws<RampartException>(() => PublishConfigFile.Parse(yaml, "t.yml"));

        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', ex.Message);
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

        Assert.Matches(@"^t\.yml:\d+: invalid YAML: \S", ex.Message);
        Assert.DoesNotContain('\n', ex.Message);
    }

    [Fact]
    public void Parse_ForwardAliasUsedAsKeys_RampartExceptionNotStackOverflow()
    {
        // Found by fuzz/run (publish-config): the process died of a stack overflow in YamlDotNet.
        var ex = Assert.Throws<RampartException>(() => PublishConfigFile.Parse("a: {*x, *x}\nb: &x 1\n", "t.yml"));

        Assert.StartsWith("t.yml:1: invalid YAML:", ex.Message, StringComparison.Ordinal);
        Assert.Contains("alias *x comes before any anchor &x", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_MissingFile_NamesIt()
    {
        var ex = Assert.Throws<RampartException>(() => PublishConfigFile.Load("/nonexistent/publish.yml"));

        Assert.Contains("/nonexistent/publish.yml", ex.Message, StringComparison.Ordinal);
    }
}
