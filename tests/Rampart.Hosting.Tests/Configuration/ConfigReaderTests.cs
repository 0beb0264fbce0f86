using Rampart.Hosting.Configuration;

namespace Rampart.Hosting.Tests.Configuration;

public sealed class ConfigReaderTests
{
    private const string Source = "/etc/rampart/rampart.yml";

    private sealed record Zone(bool Strict, TimeSpan Timeout);

    private sealed record Sample(int Port, string? Name, Zone Zone, IReadOnlyList<string> Extra, int Threads);

    private static readonly ConfigSection<Zone> s_zone = new ConfigSection<Zone>()
        .Key("strict_testing", ConfigTypes.Bool, "false", "", (z, v) => z with { Strict = v })
        .Key("timeout", ConfigTypes.Seconds(allowZero: false, max: 600), "4", "", (z, v) => z with { Timeout = v });

    private static readonly ConfigSection<Sample> s_sample = new ConfigSection<Sample>()
        .Key("port", ConfigTypes.Port, "8461", "", (s, v) => s with { Port = v })
        .Key("name", ConfigTypes.Text, "", "", (s, v) => s with { Name = v })
        .Section("default_zone", s_zone, "", s => s.Zone, (s, v) => s with { Zone = v })
        .Ignored("threads", ConfigTypes.Int(1, 1024), "not supported (Rampart sizes its own pool)", (s, v) => s with { Threads = v })
        .Key("cache", "mapping", "", "", (_, _, s) => s);

    private static readonly Sample s_defaults = new(8461, null, new Zone(false, TimeSpan.FromSeconds(4)), [], 0);

    private static (Sample Value, ConfigReader Reader) Read(string yaml)
    {
        var reader = new ConfigReader(Source);
        var root = reader.Parse(yaml, "port: ...");
        return (root is null ? s_defaults : s_sample.Read(reader, root, "", s_defaults), reader);
    }

    [Fact]
    public void Read_UnknownKeyInSection_ErrorNamesFileLineSectionAndNearest()
    {
        var (_, reader) = Read("port: 1\n\n\n\n\n\n\n\n\n\ndefault_zone:\n  strict_tseting: true\n");

        Assert.Equal("/etc/rampart/rampart.yml:12: unknown key 'strict_tseting' in 'default_zone' (did you mean 'strict_testing'?)", Assert.Single(reader.Errors));
    }

    [Fact]
    public void Read_UnknownTopLevelKey_ErrorWithNearest()
    {
        var (_, reader) = Read("port: 1\ncahce: {}\n");

        Assert.Equal($"{Source}:2: unknown key 'cahce' (did you mean 'cache'?)", Assert.Single(reader.Errors));
    }

    [Fact]
    public void Read_UnknownKeyNothingNear_ErrorListsKnownKeys()
    {
        var (_, reader) = Read("default_zone:\n  colour: blue\n");

        Assert.Equal($"{Source}:2: unknown key 'colour' in 'default_zone' (known keys: strict_testing, timeout)", Assert.Single(reader.Errors));
    }

    [Fact]
    public void Read_IgnoredKey_WarningSaysIgnoredAndWhyValueStillChecked()
    {
        var (value, reader) = Read("threads: 4\n");

        Assert.Empty(reader.Errors);
        Assert.Equal($"{Source}:1: threads: not supported (Rampart sizes its own pool), ignored", Assert.Single(reader.Warnings));
        Assert.Equal(4, value.Threads);
        Assert.Equal($"{Source}:1: threads: 'many' is not a whole number", Assert.Single(Read("threads: many\n").Reader.Errors));
    }

    [Theory]
    [InlineData("port: abc", "port: 'abc' is not a port number (1-65535)")]
    [InlineData("port: 0", "port: '0' is not a port number (1-65535)")]
    [InlineData("port: 65536", "port: '65536' is not a port number (1-65535)")]
    [InlineData("port: [1]", "port: 'a list' is not a port number (1-65535)")]
    [InlineData("name: [a, b]", "name: must be text, not a list")]
    [InlineData("default_zone: strict", "default_zone: must be a mapping of keys, not 'strict'")]
    [InlineData("default_zone:\n  strict_testing: 'false'", "default_zone.strict_testing: 'false' is quoted text, not a boolean (write true or false without quotes)")]
    [InlineData("default_zone:\n  timeout: 601", "default_zone.timeout: '601' is more than 600 seconds")]
    [InlineData("default_zone:\n  timeout: 0", "default_zone.timeout: '0' must be a number of seconds greater than 0")]
    public void Read_WrongType_ErrorInTheUsersTerms(string yaml, string expected)
    {
        var error = Assert.Single(Read(yaml + "\n").Reader.Errors);

        Assert.Matches(@"^/etc/rampart/rampart\.yml:\d+: ", error);
        Assert.EndsWith(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_SeveralMistakes_AllCollectedInFileOrderEachWithItsLine()
    {
        var (value, reader) = Read("port: abc\ndefault_zone:\n  timeout: soon\n  strict_testing: maybe\nnaem: x\n");

        Assert.Equal(
            [
                $"{Source}:1: port: 'abc' is not a port number (1-65535)",
                $"{Source}:3: default_zone.timeout: 'soon' is not a number",
                $"{Source}:4: default_zone.strict_testing: 'maybe' is not a boolean (true or false)",
                $"{Source}:5: unknown key 'naem' (did you mean 'name'?)",
            ],
            reader.Errors);
        Assert.Equal(s_defaults with { Extra = value.Extra }, value);
    }

    [Fact]
    public void Read_BlockMappingOfWrongType_LineOfItsKey()
    {
        var (_, reader) = Read("port: 1\nname:\n  first: a\n");

        Assert.Equal($"{Source}:2: name: must be text, not a mapping", Assert.Single(reader.Errors));
    }

    [Fact]
    public void Read_KeyWithoutValue_KeepsDefault()
    {
        var (value, reader) = Read("port:\ndefault_zone:\nname: ~\n");

        Assert.Empty(reader.Errors);
        Assert.Equal(s_defaults, value with { Extra = s_defaults.Extra });
    }

    [Theory]
    [InlineData("yes", true)]
    [InlineData("On", true)]
    [InlineData("TRUE", true)]
    [InlineData("no", false)]
    [InlineData("off", false)]
    [InlineData("False", false)]
    public void Read_Yaml11Booleans_Accepted(string text, bool expected)
    {
        Assert.Equal(expected, Read($"default_zone:\n  strict_testing: {text}\n").Value.Zone.Strict);
    }

    [Theory]
    [InlineData("0x2710", 10_000)]
    [InlineData("10_000", 10_000)]
    [InlineData("'9999'", 9999)]
    [InlineData("020", 16)]
    public void Read_Yaml11Integers_Accepted(string text, int expected)
    {
        Assert.Equal(expected, Read($"port: {text}\n").Value.Port);
    }

    [Fact]
    public void Parse_SyntaxError_LineAndColumnWithoutYamlDotNetMarks()
    {
        var reader = new ConfigReader(Source);

        Assert.Null(reader.Parse("port: 1\ndefault_zone:\n  timeout: [4\n", "port: ..."));
        var error = Assert.Single(reader.Errors);
        Assert.Matches(@"^/etc/rampart/rampart\.yml:\d+:\d+: invalid YAML: \S", error);
        Assert.DoesNotContain("Idx", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_BadIndentation_ReportsLine()
    {
        var reader = new ConfigReader(Source);

        reader.Parse("default_zone:\n  strict_testing: true\n timeout: 4\n", "port: ...");
        Assert.StartsWith($"{Source}:3:", Assert.Single(reader.Errors), StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_DuplicateKey_ErrorAtTheSecond()
    {
        var reader = new ConfigReader(Source);

        reader.Parse("port: 1\nport: 2\n", "port: ...");
        Assert.StartsWith($"{Source}:2:", Assert.Single(reader.Errors), StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_TwoDocuments_Error()
    {
        var reader = new ConfigReader(Source);

        reader.Parse("port: 1\n---\nport: 2\n", "port: ...");
        Assert.Equal($"{Source}:3:1: invalid YAML: expected one document, found 2", Assert.Single(reader.Errors));
    }

    [Theory]
    [InlineData("[1, 2]", "not a list")]
    [InlineData("just text", "not 'just text'")]
    public void Parse_RootNotAMapping_Error(string yaml, string expected)
    {
        var reader = new ConfigReader(Source);

        reader.Parse(yaml, "port: ...");
        Assert.Equal($"{Source}:1: the file must be a mapping of keys (port: ...), {expected}", Assert.Single(reader.Errors));
    }

    [Theory]
    [InlineData("")]
    [InlineData("# only a comment\n")]
    [InlineData("---\n")]
    [InlineData("~\n")]
    public void Parse_EmptyDocument_EmptyMapping(string yaml)
    {
        var reader = new ConfigReader(Source);

        Assert.Empty(Assert.IsType<YamlDotNet.RepresentationModel.YamlMappingNode>(reader.Parse(yaml, "port: ...")).Children);
        Assert.True(reader.Succeeded);
    }

    [Fact]
    public void ReadFile_MissingOrDirectory_OneLineNamingIt()
    {
        var dir = Directory.CreateTempSubdirectory("rampart-cfg");
        try
        {
            var missing = Path.Combine(dir.FullName, "none.yml");
            Assert.Null(ConfigReader.ReadFile(missing, "configuration file", out var missingError));
            Assert.Equal($"{missing}: no such file (the configuration file)", missingError);
            Assert.Null(ConfigReader.ReadFile(dir.FullName, "configuration file", out var dirError));
            Assert.Equal($"{dir.FullName}: is a directory; give a regular file (the configuration file)", dirError);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Theory]
    [InlineData("127.0.0.1:443", true)]
    [InlineData("[::]:443", true)]
    [InlineData("127.0.0.1:0", true)]
    [InlineData("::1:443", false)]
    [InlineData("nowhere", false)]
    [InlineData("127.0.0.1", false)]
    public void TryEndPoint_IpColonPort(string text, bool expected)
    {
        Assert.Equal(expected, ConfigReader.TryEndPoint(text, out _));
    }
}
