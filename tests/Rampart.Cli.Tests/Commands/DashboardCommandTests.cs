using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Rampart.Tests.Shared;

namespace Rampart.Cli.Tests.Commands;

/// <summary>
/// <c>rampart dashboard</c>'s exposure rules, through the real executable: an address other than loopback without TLS
/// and a credential is refused at start (one line, exit 2, nothing bound); with a credential, a request without it or
/// with a wrong one gets 401 and the right one 200; only GET and HEAD are answered; ten wrong ones from an address get it
/// 429 with Retry-After.
/// </summary>
public sealed class DashboardCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("rampart-dashboard-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("0.0.0.0", new string[0], "without TLS (--tls-cert, --tls-key) and a credential")]
    [InlineData("[::]", new string[0], "without TLS (--tls-cert, --tls-key) and a credential")]
    [InlineData("192.0.2.1", new[] { "--basic-user", "ops", "--password-hash", "HASH" }, "without TLS (--tls-cert, --tls-key);")]
    public async Task Dashboard_NotLoopbackWithoutTlsOrCredential_RefusedAtStart(string address, string[] extra, string missing)
    {
        var hash = (await CliRunner.RunAsync(["dashboard", "--hash-password"], "s3cret-pass\n"u8.ToArray(), TimeSpan.FromSeconds(60))).Stdout.Trim();
        var args = new List<string> { "dashboard", "--state-dir", _dir, "--listen", $"{address}:19501" };
        args.AddRange(extra.Select(a => a == "HASH" ? hash : a));

        var result = await CliRunner.RunAsync(args, null, TimeSpan.FromSeconds(60));

        Assert.Equal(2, result.ExitCode);
        var line = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains($"refusing to listen on {address}:19501 (not loopback) {missing}", line, StringComparison.Ordinal);
        Assert.False(CliRunner.HasStackTrace(result), result.ToString());
    }

    [Theory]
    [InlineData("--max-credential-failures", "0")]
    [InlineData("--credential-failure-window", "86401")]
    [InlineData("--credential-failure-addresses", "many")]
    public async Task Dashboard_BadCredentialLimit_OneLineNamingTheOption(string option, string value)
    {
        var result = await CliRunner.RunAsync(["dashboard", "--state-dir", _dir, option, value], null, TimeSpan.FromSeconds(60));

        Assert.NotEqual(0, result.ExitCode);
        var line = Assert.Single(result.Stderr.Trim().Split('\n'));
        Assert.Contains($"{option}: '{value}'", line, StringComparison.Ordinal);
        Assert.False(CliRunner.HasStackTrace(result), result.ToString());
    }

    [Fact]
    public async Task Dashboard_CredentialLimitsAsOptions_TwoWrongThen429ForTheWindowGiven()
    {
        var (server, http) = await StartWithTokenAsync("--max-credential-failures", "2", "--credential-failure-window", "7200");
        await using var serverScope = server;
        using var httpScope = http;

        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(http, HttpMethod.Get, "/", "Bearer guess-1")).StatusCode);
        var afterOne = await SendAsync(http, HttpMethod.Get, "/", "Bearer 0123456789abcdef0123456789abcdef");
        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(http, HttpMethod.Get, "/", "Bearer guess-2")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(http, HttpMethod.Get, "/", "Bearer guess-3")).StatusCode);
        var limited = await SendAsync(http, HttpMethod.Get, "/", "Bearer 0123456789abcdef0123456789abcdef");

        Assert.Equal(HttpStatusCode.OK, afterOne.StatusCode); // the right credential forgets the first wrong one
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.InRange(limited.Headers.RetryAfter?.Delta ?? TimeSpan.Zero, TimeSpan.FromMinutes(100), TimeSpan.FromHours(2)); // beyond the default 10 minutes
        Assert.Equal(0, await server.StopAsync());
    }

    [Fact]
    public async Task Dashboard_BadPasswordHash_OneLine()
    {
        var result = await CliRunner.RunAsync(["dashboard", "--state-dir", _dir, "--basic-user", "ops", "--password-hash", "plaintext"], null, TimeSpan.FromSeconds(60));

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("password hash: not pbkdf2-sha256$ITERATIONS$SALT$HASH", result.Stderr, StringComparison.Ordinal);
        Assert.False(CliRunner.HasStackTrace(result), result.ToString());
    }

    [Fact]
    public async Task Dashboard_Token_WrongOrMissing401_Right200_NoStateChangingMethods()
    {
        var (server, http) = await StartWithTokenAsync();
        await using var serverScope = server;
        using var httpScope = http;

        using var none = await http.GetAsync("/", Ct);
        Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        Assert.Equal("Bearer", none.Headers.WwwAuthenticate.Single().Scheme);
        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(http, HttpMethod.Get, "/", "Bearer 0123456789abcdef0123456789abcdeX")).StatusCode);
        var ok = await SendAsync(http, HttpMethod.Get, "/", "Bearer 0123456789abcdef0123456789abcdef");
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        var csp = string.Join(";", ok.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("default-src 'none'", csp, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-inline", csp, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, (await SendAsync(http, HttpMethod.Post, "/", "Bearer 0123456789abcdef0123456789abcdef")).StatusCode);
        for (var i = 0; i < 10; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(http, HttpMethod.Get, "/", $"Bearer guess-{i}")).StatusCode);
        }
        var limited = await SendAsync(http, HttpMethod.Get, "/", "Bearer 0123456789abcdef0123456789abcdef");
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.InRange(limited.Headers.RetryAfter?.Delta ?? TimeSpan.Zero, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(10));
        Assert.Equal(0, await server.StopAsync());
    }

    [Fact]
    public async Task Dashboard_BasicAuth_WrongPassword401_Right200()
    {
        var hash = (await CliRunner.RunAsync(["dashboard", "--hash-password"], "correct horse\n"u8.ToArray(), TimeSpan.FromSeconds(60))).Stdout.Trim();
        Assert.StartsWith("pbkdf2-sha256$", hash, StringComparison.Ordinal);
        Assert.DoesNotContain("correct horse", hash, StringComparison.Ordinal);
        var port = LoopbackPort.Free();
        await using var server = RampartProcess.Start(["dashboard", "--state-dir", _dir, "--listen", $"127.0.0.1:{port}", "--basic-user", "ops", "--password-hash", hash]);
        await server.WaitForLineAsync(l => l.StartsWith("rampart dashboard on", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };

        var wrong = await SendAsync(http, HttpMethod.Get, "/monitored", Basic("ops", "wrong horse"));
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Equal("Basic", wrong.Headers.WwwAuthenticate.Single().Scheme);
        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(http, HttpMethod.Get, "/monitored", Basic("root", "correct horse"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(http, HttpMethod.Get, "/monitored", Basic("ops", "correct horse"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(http, HttpMethod.Get, "/style.css", Basic("ops", "correct horse"))).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await SendAsync(http, HttpMethod.Get, "/?days=abc", Basic("ops", "correct horse"))).StatusCode);
    }

    private static string Basic(string user, string password) => "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}"));

    /// <summary>A dashboard on a free loopback port behind the token 0123456789abcdef0123456789abcdef, started, and a client for it.</summary>
    private async Task<(RampartProcess Server, HttpClient Http)> StartWithTokenAsync(params string[] extra)
    {
        var tokenFile = Path.Combine(_dir, "token");
        await File.WriteAllTextAsync(tokenFile, "0123456789abcdef0123456789abcdef\n", Ct);
        var port = LoopbackPort.Free();
        var server = RampartProcess.Start(["dashboard", "--state-dir", _dir, "--listen", $"127.0.0.1:{port}", "--token-file", tokenFile, .. extra]);
        await server.WaitForLineAsync(l => l.StartsWith("rampart dashboard on", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
        return (server, new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") });
    }

    private static async Task<HttpResponseMessage> SendAsync(HttpClient http, HttpMethod method, string path, string authorization)
    {
        using var request = new HttpRequestMessage(method, path);
        request.Headers.TryAddWithoutValidation("Authorization", authorization);
        return await http.SendAsync(request, Ct);
    }
}
