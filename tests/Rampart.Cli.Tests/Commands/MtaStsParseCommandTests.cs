using System.Text;
using System.Text.Json;
using Rampart.Tests.Shared;

namespace Rampart.Cli.Tests.Commands;

/// <summary><c>rampart mta-sts parse</c> gives a clear verdict on any input and never a stack trace.</summary>
public sealed class MtaStsParseCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("rampart-parse").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string File(string name, byte[] content)
    {
        var path = Path.Combine(_dir, name);
        System.IO.File.WriteAllBytes(path, content);
        return path;
    }

    private static void NoStackTrace(CliResult result) => Assert.False(CliRunner.HasStackTrace(result), result.ToString());

    [Fact]
    public async Task Parse_ValidPolicyJson_ContractKeys()
    {
        var path = File("good.txt", Encoding.ASCII.GetBytes("version: STSv1\r\nmode: enforce\r\nmx: mx.example.org\r\nmx: *.backup.example.org\r\nmax_age: 604800\r\n"));

        var result = await CliRunner.RunAsync("mta-sts", "parse", path, "--json");

        Assert.Equal(0, result.ExitCode);
        using var json = JsonDocument.Parse(result.Stdout);
        var root = json.RootElement;
        Assert.True(root.GetProperty("valid").GetBoolean());
        var policy = root.GetProperty("policy");
        Assert.Equal("STSv1", policy.GetProperty("version").GetString());
        Assert.Equal("enforce", policy.GetProperty("mode").GetString());
        Assert.Equal(604800, policy.GetProperty("max_age").GetInt64());
        Assert.Equal(["mx.example.org", "*.backup.example.org"], policy.GetProperty("mx").EnumerateArray().Select(e => e.GetString()!));
        Assert.Equal(0, root.GetProperty("errors").GetArrayLength());
        Assert.Equal(0, root.GetProperty("warnings").GetArrayLength());
    }

    [Fact]
    public async Task Parse_InvalidPolicyJson_ErrorsWithLines()
    {
        var path = File("bad.txt", Encoding.ASCII.GetBytes("version: STSv1\nmode: enforse\nmx: 192.0.2.1\nmax_age: 86400\n"));

        var result = await CliRunner.RunAsync("mta-sts", "parse", path, "--json");

        Assert.Equal(1, result.ExitCode);
        using var json = JsonDocument.Parse(result.Stdout);
        Assert.False(json.RootElement.GetProperty("valid").GetBoolean());
        Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty("policy").ValueKind);
        var lines = json.RootElement.GetProperty("errors").EnumerateArray().Select(e => e.GetProperty("line").GetInt32()).ToList();
        Assert.Contains(2, lines);
        Assert.Contains(3, lines);
    }

    [Fact]
    public async Task Parse_DuplicateKey_WarningAndFirstValueWins()
    {
        var path = File("dup.txt", Encoding.ASCII.GetBytes("version: STSv1\nmode: testing\nmode: enforce\nmx: mx.example.org\nmax_age: 86400\n"));

        var result = await CliRunner.RunAsync("mta-sts", "parse", path, "--json");

        Assert.Equal(0, result.ExitCode);
        using var json = JsonDocument.Parse(result.Stdout);
        Assert.Equal("testing", json.RootElement.GetProperty("policy").GetProperty("mode").GetString());
        Assert.Contains(json.RootElement.GetProperty("warnings").EnumerateArray(), w => w.GetProperty("line").GetInt32() == 3);
    }

    [Fact]
    public async Task Parse_Stdin_Read()
    {
        var result = await CliRunner.RunAsync(["mta-sts", "parse", "-"], Encoding.ASCII.GetBytes("version: STSv1\nmode: none\nmax_age: 86400\n"));

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("valid", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Parse_BinaryGarbage_InvalidWithoutStackTrace()
    {
        var garbage = new byte[4096];
        new Random(7).NextBytes(garbage);

        var result = await CliRunner.RunAsync("mta-sts", "parse", File("garbage.bin", garbage));

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("invalid", result.Stdout, StringComparison.Ordinal);
        NoStackTrace(result);
    }

    [Fact]
    public async Task Parse_TenMegabytes_InvalidBoundedRead()
    {
        var big = Encoding.ASCII.GetBytes("version: STSv1\nmode: enforce\nmx: mx.example.org\nmax_age: 86400\n" + new string('#', 10 * 1024 * 1024));

        var result = await CliRunner.RunAsync("mta-sts", "parse", File("big.txt", big), "--json");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("65536", result.Stdout, StringComparison.Ordinal);
        NoStackTrace(result);
    }

    [Fact]
    public async Task Parse_EmptyFile_InvalidMissingVersion()
    {
        var result = await CliRunner.RunAsync("mta-sts", "parse", File("empty.txt", []));

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("version", result.Stdout, StringComparison.Ordinal);
        NoStackTrace(result);
    }

    [Fact]
    public async Task Parse_Directory_InputErrorNamingIt()
    {
        var result = await CliRunner.RunAsync("mta-sts", "parse", _dir);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("directory", result.Stderr, StringComparison.Ordinal);
        Assert.Contains(_dir, result.Stderr, StringComparison.Ordinal);
        NoStackTrace(result);
    }

    [Fact]
    public async Task Parse_MissingFile_InputError()
    {
        var result = await CliRunner.RunAsync("mta-sts", "parse", Path.Combine(_dir, "absent.txt"));

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("no such file", result.Stderr, StringComparison.Ordinal);
        NoStackTrace(result);
    }

    [Fact]
    public async Task Resolve_BadResolverOption_OneLineError()
    {
        var result = await CliRunner.RunAsync("resolve", "example.org", "--resolver", "not-an-ip");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("not-an-ip", result.Stderr, StringComparison.Ordinal);
        Assert.Single(result.Stderr.Trim().Split('\n'));
        NoStackTrace(result);
    }

    [Fact]
    public async Task Resolve_MissingCaFile_OneLineError()
    {
        var result = await CliRunner.RunAsync("resolve", "example.org", "--resolver", "127.0.0.1:9", "--ca-file", Path.Combine(_dir, "none.pem"));

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("none.pem", result.Stderr, StringComparison.Ordinal);
        NoStackTrace(result);
    }
}
