using Rampart.Tests.Shared;

namespace Rampart.Cli.Tests;

/// <summary><c>rampart serve</c> startup faults: one line naming the file, exit 2, no crash.</summary>
public sealed class ServeCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("rampart-serve-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Serve_MissingCertificate_Exit2NamingTheFile()
    {
        var config = Path.Combine(_dir, "publish.yml");
        await File.WriteAllTextAsync(config, $"domain: example.test\nmx: mx.example.test\nserve:\n  listen: [\"127.0.0.1:0\"]\n  certificates: {_dir}/live\n", TestContext.Current.CancellationToken);

        var result = await CliRunner.RunAsync(["serve", "--config", config, "--no-reports"], null, TimeSpan.FromSeconds(60));

        Assert.Equal(2, result.ExitCode);
        Assert.Contains($"{_dir}/live/mta-sts.example.test/fullchain.pem", result.Stderr, StringComparison.Ordinal);
        Assert.False(CliRunner.HasStackTrace(result), result.ToString());
    }

    [Fact]
    public async Task Serve_UnreadableKey_Exit2NamingTheFile()
    {
        var lineage = Path.Combine(_dir, "live", "mta-sts.example.test");
        Directory.CreateDirectory(lineage);
        await File.WriteAllTextAsync(Path.Combine(lineage, "fullchain.pem"), "not a certificate", TestContext.Current.CancellationToken);
        await File.WriteAllTextAsync(Path.Combine(lineage, "privkey.pem"), "not a key", TestContext.Current.CancellationToken);
        var config = Path.Combine(_dir, "publish.yml");
        await File.WriteAllTextAsync(config, $"domain: example.test\nmx: mx.example.test\nserve:\n  certificates: {_dir}/live\n", TestContext.Current.CancellationToken);

        var result = await CliRunner.RunAsync(["serve", "--config", config, "--no-reports", "--check"], null, TimeSpan.FromSeconds(60));

        Assert.Equal(2, result.ExitCode);
        Assert.Contains(Path.Combine(lineage, "fullchain.pem"), result.Stderr, StringComparison.Ordinal);
        Assert.False(CliRunner.HasStackTrace(result), result.ToString());
    }

    [Fact]
    public async Task Serve_NoConfig_Exit2()
    {
        var result = await CliRunner.RunAsync("serve");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--config", result.Stderr, StringComparison.Ordinal);
    }
}
