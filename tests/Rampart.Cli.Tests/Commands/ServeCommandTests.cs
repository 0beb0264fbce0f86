using Rampart.Tests.Shared;

namespace Rampart.Cli.Tests.Commands;

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

    /// <summary>A valid lineage for mta-sts.example.test, so startup gets as far as opening the report store.</summary>
    private async Task<string> ConfigWithCertificateAsync()
    {
        await SelfSignedLineage.WriteAsync(Path.Combine(_dir, "live", "mta-sts.example.test"), "mta-sts.example.test", TestContext.Current.CancellationToken);
        var config = Path.Combine(_dir, "publish.yml");
        await File.WriteAllTextAsync(config, $"domain: example.test\nmx: mx.example.test\nserve:\n  listen: [\"127.0.0.1:0\"]\n  certificates: {_dir}/live\n", TestContext.Current.CancellationToken);
        return config;
    }

    [Fact]
    public async Task Serve_StoreAndStateDir_Exit2OneLine()
    {
        var config = await ConfigWithCertificateAsync();

        var result = await CliRunner.RunAsync(["serve", "--config", config, "--store", Path.Combine(_dir, "r.sqlite"), "--state-dir", _dir], null, TimeSpan.FromSeconds(60));

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--store and --state-dir both say where the reports are kept", result.Stderr, StringComparison.Ordinal);
        Assert.False(CliRunner.HasStackTrace(result), result.ToString());
    }

    [Fact]
    public async Task Serve_StorePostgresUnreachable_Exit2NamingTheServerNotThePassword()
    {
        var config = await ConfigWithCertificateAsync();

        var result = await CliRunner.RunAsync(["serve", "--config", config, "--store", "postgres://rampart:s3cret@127.0.0.1:1/reports?connect_timeout=2"], null, TimeSpan.FromSeconds(60));

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("127.0.0.1", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", result.Stderr + result.Stdout, StringComparison.Ordinal);
        Assert.False(CliRunner.HasStackTrace(result), result.ToString());
    }

    [Theory]
    [InlineData(new[] { "--dashboard", "/dashboard" }, "", "serve: the dashboard at /dashboard needs a credential, as the serve listener is public")]
    [InlineData(new string[0], "  dashboard:\n    path: /ops\n", "serve: the dashboard at /ops needs a credential")]
    [InlineData(new[] { "--dashboard", "/", "--dashboard-token-file", "TOKEN" }, "", "serve.dashboard.path (--dashboard): '/' must be an absolute URL path other than /")]
    [InlineData(new[] { "--dashboard", "/.well-known", "--dashboard-token-file", "TOKEN" }, "", "/.well-known would hide /.well-known/mta-sts.txt")]
    [InlineData(new[] { "--dashboard-token-file", "TOKEN" }, "  report_path: /dashboard/tlsrpt\n", "/dashboard would hide /dashboard/tlsrpt")]
    [InlineData(new string[0], "  dashboard: {token_file: TOKEN, basic_user: ops}\n", "serve.dashboard: give token_file or basic_user/password_hash, not both")]
    [InlineData(new string[0], "  dashboard: {path: ops, token_file: TOKEN}\n", "'ops' must be an absolute URL path other than /")]
    public async Task Serve_DashboardWithoutCredentialOrWithABadPath_Exit2OneLine(string[] options, string serveYaml, string message)
    {
        var config = await ConfigWithCertificateAsync();
        var token = Path.Combine(_dir, "token");
        await File.WriteAllTextAsync(token, "0123456789abcdef0123456789abcdef\n", TestContext.Current.CancellationToken);
        await File.AppendAllTextAsync(config, serveYaml.Replace("TOKEN", token, StringComparison.Ordinal), TestContext.Current.CancellationToken);

        var result = await CliRunner.RunAsync(["serve", "--config", config, "--state-dir", _dir, .. options.Select(o => o == "TOKEN" ? token : o)], null, TimeSpan.FromSeconds(60));

        Assert.Equal(2, result.ExitCode);
        Assert.Contains(message, Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)), StringComparison.Ordinal);
        Assert.False(CliRunner.HasStackTrace(result), result.ToString());
    }
}
