using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Rampart.Cli.Tests.Support;
using Rampart.Core.Tests.Servers;
using Rampart.Tests.Shared;

namespace Rampart.Cli.Tests.Commands;

/// <summary>
/// <c>rampart check --watch</c> offline: bad domain files and options are one line and exit 2; <c>--once</c> twice
/// against a scripted resolver that fails every domain's lookups (SERVFAIL) but answers for the top-level domains, as
/// a working resolver does for a broken zone, shows findings appearing then persisting (the SQLite history survives the
/// restart); with the resolver silent, a round judges no domain; a webhook is POSTed to a real HTTP listener and a dead
/// webhook never stops the round; the long-running monitor serves /metrics and stops cleanly on SIGTERM.
/// </summary>
public sealed class CheckWatchTests : IAsyncDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("rampart-watch-cli-").FullName;
    private readonly ScriptedDnsServer _dns;
    private volatile bool _resolverDown;

    public CheckWatchTests() => _dns = ScriptedDnsServer.Start(q =>
        _resolverDown ? ScriptedReply.Silence
        : q.Name.Contains('.', StringComparison.Ordinal) ? ScriptedReply.WithRcode(2) // the domains' zones are broken
        : ScriptedReply.NxDomain()); // the resolver's probe of a top-level domain is answered

    private string Resolver => _dns.Endpoint.ToString();

    private string State => Path.Combine(_dir, "state");

    public async ValueTask DisposeAsync()
    {
        await _dns.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private string DomainsFile(string text)
    {
        var path = Path.Combine(_dir, "domains.txt");
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void WebhookBody_IsUnescapedUtf8_StillValidJson()
    {
        var finding = new Rampart.Core.Check.CheckFinding("mta-sts.fetch.failed", Rampart.Core.Check.CheckSeverity.Failure, "mta-sts.example.org",
            "the host's <title> said 'moved' § 4", "Serve the policy at https://mta-sts.example.org/ — no redirect", "RFC 8461 §3.3");
        var at = new DateTimeOffset(2026, 12, 7, 8, 0, 0, TimeSpan.Zero);
        var result = new Rampart.Core.Check.DomainWatchResult(new Rampart.Core.Check.DomainCheckReport("example.org", [finding]),
            [new Rampart.Core.Check.RememberedFinding(finding, at)], [], []);

        var body = System.Text.Encoding.UTF8.GetString(Rampart.Cli.Commands.CheckWatch.WebhookBody(result));

        Assert.Contains("the host's <title> said 'moved' § 4", body, StringComparison.Ordinal);
        Assert.Contains("RFC 8461 §3.3", body, StringComparison.Ordinal);
        Assert.DoesNotContain("\\u", body, StringComparison.Ordinal);
        using var doc = System.Text.Json.JsonDocument.Parse(body);
        Assert.Equal(finding.Message, doc.RootElement.GetProperty("appeared")[0].GetProperty("message").GetString());
    }

    [Theory]
    [InlineData("example.org\nbad domain!\n", ":2: 'bad domain!': one domain per line")]
    [InlineData("# only a comment\n\n   \n", ": no domains")]
    [InlineData("example.org\n\n# c\nexa_mple..org  # trailing comment\n", ":4: 'exa_mple..org'")]
    public async Task Watch_BadFile_OneLineNamingFileAndLineExit3(string content, string rule)
    {
        var file = DomainsFile(content);

        var result = await CliRunner.RunAsync("check", "--watch", file, "--once", "--state-dir", State);

        Assert.Equal(3, result.ExitCode);
        Assert.False(CliRunner.HasStackTrace(result), result.ToString());
        var line = Assert.Single(result.Stderr.Trim().Split('\n'));
        Assert.StartsWith($"rampart: --watch {file}", line, StringComparison.Ordinal);
        Assert.Contains(rule, line, StringComparison.Ordinal);
        Assert.Empty(result.Stdout);
        Assert.False(Directory.Exists(State), "nothing is created for a bad file");
    }

    [Theory]
    [InlineData("--interval=5", "rampart check: --interval: '5' is not a time such as 90s, 15m, 1h or 1d")]
    [InlineData("--interval=5s", "rampart check: --interval: '5s' must be from 10s to 7d")]
    [InlineData("--interval=8d", "rampart check: --interval: '8d' must be from 10s to 7d")]
    [InlineData("--metrics=localhost", "rampart check: --metrics: 'localhost' is not an address: give IP:PORT or [IPv6]:PORT, e.g. 127.0.0.1:9462")]
    [InlineData("--webhook=ftp://x.example/", "rampart check: --webhook: 'ftp://x.example/' is not an http:// or https:// URL")]
    [InlineData("--webhook=/relative", "rampart check: --webhook: '/relative' is not an http:// or https:// URL")]
    [InlineData("--json", "give no domain arguments and no --json")]
    [InlineData("example.net", "give no domain arguments and no --json")]
    public async Task Watch_BadOption_OneLineExit3(string bad, string named)
    {
        var file = DomainsFile("example.org\n");

        var result = await CliRunner.RunAsync("check", "--watch", file, "--once", "--state-dir", State, bad);

        Assert.Equal(3, result.ExitCode);
        Assert.False(CliRunner.HasStackTrace(result), result.ToString());
        Assert.Contains(named, Assert.Single(result.Stderr.Trim().Split('\n')), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Watch_MissingFile_OneLineExit3()
    {
        var missing = Path.Combine(_dir, "nope.txt");

        var result = await CliRunner.RunAsync("check", "--watch", missing);

        Assert.Equal(3, result.ExitCode);
        Assert.StartsWith($"rampart: --watch {missing}: no such file", Assert.Single(result.Stderr.Trim().Split('\n')), StringComparison.Ordinal);
    }

    /// <summary>A domains file whose read gives more than its size said (and more than the bound) is refused at the bound, not read whole.</summary>
    [Fact]
    public async Task Watch_FileReadsMoreThanTheBound_OneLineExit3()
    {
        const string Grows = "/proc/kpageflags"; // stat says 0 bytes; reading gives 8 bytes per page of memory
        ProcFile.SkipUnlessItReadsMoreThan(Grows, 16 << 20);

        var result = await CliRunner.RunAsync(["check", "--watch", Grows, "--once", "--state-dir", State], null, TimeSpan.FromSeconds(60));

        Assert.Equal(3, result.ExitCode);
        Assert.Equal($"rampart: --watch {Grows}: larger than 16 MiB, the most Rampart reads for it", result.Stderr.Trim());
    }

    [Theory]
    [InlineData("--once")]
    [InlineData("--interval=1h")]
    [InlineData("--webhook=http://127.0.0.1:1/")]
    [InlineData("--testing-limit=30")]
    public async Task WatchOptionsWithoutWatch_OneLineExit3(string option)
    {
        var result = await CliRunner.RunAsync("check", "example.org", option);

        Assert.Equal(3, result.ExitCode);
        Assert.Contains("need --watch FILE", Assert.Single(result.Stderr.Trim().Split('\n')), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("3651")]
    public async Task TestingLimitOutOfRange_OneLineExit3(string days)
    {
        var result = await CliRunner.RunAsync("check", "--watch", DomainsFile("example.org\n"), "--testing-limit", days);

        Assert.Equal(3, result.ExitCode);
        Assert.Equal($"rampart check: --testing-limit: '{days}' must be from 1 to 3650 days", result.Stderr.Trim());
    }

    [Fact]
    public async Task Once_Twice_AppearThenPersistAcrossRestart()
    {
        var file = DomainsFile("# watched\nexample.org\n\nexample.net # second\nEXAMPLE.org\n");
        string[] args = ["check", "--watch", file, "--once", "--state-dir", State, "--resolver", Resolver, "--timeout", "1"];

        var first = await CliRunner.RunAsync(args, null, TimeSpan.FromSeconds(60));
        var second = await CliRunner.RunAsync([.. args, "-v"], null, TimeSpan.FromSeconds(60));

        Assert.Equal(2, first.ExitCode);
        Assert.False(CliRunner.HasStackTrace(first), first.ToString());
        Assert.Contains("example.org: appeared failure mx.lookup-error [example.org]", first.Stdout, StringComparison.Ordinal);
        Assert.Contains("example.net: appeared failure mx.lookup-error [example.net]", first.Stdout, StringComparison.Ordinal);
        Assert.Contains("round 1: 2 domains (0 ok, 0 warning, 2 failure);", first.Stdout, StringComparison.Ordinal);
        Assert.Contains(" 0 persist, 0 cleared;", first.Stdout, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(State, "check-history.sqlite")));

        Assert.Equal(2, second.ExitCode);
        Assert.DoesNotContain(": appeared ", second.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain(": cleared ", second.Stdout, StringComparison.Ordinal);
        Assert.Contains("example.org: persists failure mx.lookup-error [example.org] since ", second.Stdout, StringComparison.Ordinal);
        Assert.Contains("; 0 appeared, ", second.Stdout, StringComparison.Ordinal);
        Assert.True(first.Elapsed < TimeSpan.FromSeconds(30) && second.Elapsed < TimeSpan.FromSeconds(30), first + "\n" + second);
    }

    [Fact]
    public async Task Once_FileChanged_DroppedDomainNotCleared_NewDomainAppears()
    {
        string[] Args(string file) => ["check", "--watch", file, "--once", "--state-dir", State, "--resolver", Resolver, "--timeout", "1"];
        await CliRunner.RunAsync(Args(DomainsFile("example.org\n")), null, TimeSpan.FromSeconds(60));

        var result = await CliRunner.RunAsync(Args(DomainsFile("example.org\nexample.com\n")), null, TimeSpan.FromSeconds(60));

        Assert.Contains("example.com: appeared failure mx.lookup-error", result.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("example.org: appeared", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Once_Webhook_PostedOnChangeOnly()
    {
        await using var hook = WebhookListener.Start();
        string[] args = ["check", "--watch", DomainsFile("example.org\n"), "--once", "--state-dir", State, "--resolver", Resolver, "--timeout", "1",
            "--webhook", hook.Url];

        var first = await CliRunner.RunAsync(args, null, TimeSpan.FromSeconds(60));
        var afterFirst = hook.Bodies.Count;
        var second = await CliRunner.RunAsync(args, null, TimeSpan.FromSeconds(60));
        var bodies = await hook.StopAsync();

        Assert.Equal(2, first.ExitCode);
        Assert.Equal(2, second.ExitCode);
        Assert.DoesNotContain("the monitor goes on", first.Stdout + second.Stdout, StringComparison.Ordinal);
        Assert.Equal(1, afterFirst);
        var (method, type, json) = Assert.Single(bodies);
        Assert.Equal("POST", method);
        Assert.StartsWith("application/json", type, StringComparison.Ordinal);
        using var doc = JsonDocument.Parse(json);
        Assert.Equal("change", doc.RootElement.GetProperty("event").GetString());
        Assert.Equal("example.org", doc.RootElement.GetProperty("domain").GetString());
        Assert.Equal("failure", doc.RootElement.GetProperty("status").GetString());
        Assert.Empty(doc.RootElement.GetProperty("cleared").EnumerateArray());
        var mx = doc.RootElement.GetProperty("appeared").EnumerateArray().First(f => f.GetProperty("id").GetString() == "mx.lookup-error");
        Assert.Equal("failure", mx.GetProperty("severity").GetString());
        Assert.Equal("example.org", mx.GetProperty("subject").GetString());
        Assert.True(DateTimeOffset.TryParse(mx.GetProperty("first_seen").GetString(), out _));
    }

    [Fact]
    public async Task Once_ResolverDown_OneWarnLineOneWebhookEvent_HistoryKept_ThenComparedWithTheLastGoodRound()
    {
        await using var hook = WebhookListener.Start();
        string[] args = ["check", "--watch", DomainsFile("example.org\nexample.net\n"), "--once", "--state-dir", State, "--resolver", Resolver, "--timeout", "1",
            "--webhook", hook.Url];

        var good = await CliRunner.RunAsync(args, null, TimeSpan.FromSeconds(60));
        _resolverDown = true;
        var outage = await CliRunner.RunAsync(args, null, TimeSpan.FromSeconds(60));
        var afterOutage = hook.Bodies;
        _resolverDown = false;
        var back = await CliRunner.RunAsync([.. args, "-v"], null, TimeSpan.FromSeconds(60));
        var bodies = await hook.StopAsync();

        Assert.Equal(2, good.ExitCode);
        Assert.Contains("example.org: appeared failure mx.lookup-error [example.org]", good.Stdout, StringComparison.Ordinal);

        Assert.Equal(3, outage.ExitCode);
        Assert.False(CliRunner.HasStackTrace(outage), outage.ToString());
        var warned = Assert.Single(outage.Stdout.Split('\n'), l => l.Contains(" warn ", StringComparison.Ordinal));
        Assert.Contains($"round 1: the local resolver {Resolver} does not answer for 'org' either", warned, StringComparison.Ordinal);
        Assert.Contains("the history is kept", warned, StringComparison.Ordinal);
        Assert.DoesNotContain(": appeared ", outage.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain(": cleared ", outage.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("round 1: 2 domains", outage.Stdout, StringComparison.Ordinal);
        Assert.Contains("UNKNOWN: the local resolver", outage.Stdout, StringComparison.Ordinal);
        Assert.Equal(3, afterOutage.Count); // two domains appeared in the good round, then one resolver event
        using (var down = JsonDocument.Parse(afterOutage[^1].Body))
        {
            Assert.Equal("resolver-down", down.RootElement.GetProperty("event").GetString());
            Assert.Equal("unknown", down.RootElement.GetProperty("status").GetString());
            Assert.Contains("does not answer", down.RootElement.GetProperty("reason").GetString(), StringComparison.Ordinal);
        }

        Assert.Equal(2, back.ExitCode);
        Assert.DoesNotContain(": appeared ", back.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain(": cleared ", back.Stdout, StringComparison.Ordinal);
        Assert.Contains("example.org: persists failure mx.lookup-error [example.org] since ", back.Stdout, StringComparison.Ordinal);
        Assert.Contains("round 1: 2 domains (0 ok, 0 warning, 2 failure); 0 appeared, ", back.Stdout, StringComparison.Ordinal);
        Assert.Equal(3, bodies.Count); // nothing changed since the good round: no more POSTs
    }

    [Fact]
    public async Task Once_DeadWebhook_LoggedRoundCompletes()
    {
        var port = LoopbackPort.Free(); // nothing listens there any more

        var result = await CliRunner.RunAsync(["check", "--watch", DomainsFile("example.org\n"), "--once", "--state-dir", State, "--resolver", Resolver,
            "--timeout", "1", "--webhook", $"http://127.0.0.1:{port}/"], null, TimeSpan.FromSeconds(60));

        Assert.Equal(2, result.ExitCode);
        Assert.False(CliRunner.HasStackTrace(result), result.ToString());
        Assert.Contains($"webhook http://127.0.0.1:{port}/ for example.org failed:", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("the monitor goes on", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("round 1: 1 domains", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Monitor_MetricsAddressInUse_OneLineExit2()
    {
        using var busy = new TcpListener(IPAddress.Loopback, 0);
        busy.Start();
        var address = busy.LocalEndpoint.ToString()!;

        var result = await CliRunner.RunAsync(["check", "--watch", DomainsFile("example.org\n"), "--state-dir", State, "--resolver", Resolver,
            "--metrics", address], null, TimeSpan.FromSeconds(60));

        Assert.Equal(2, result.ExitCode);
        Assert.False(CliRunner.HasStackTrace(result), result.ToString());
        Assert.Equal($"rampart: check --watch: cannot listen on {address}: address already in use (another exporter, or a second rampart check --watch?); " +
                     "stop what holds it or choose another address with --metrics", result.Stderr.Trim());
    }

    [Fact]
    public async Task Monitor_ServesMetrics_StopsOnSigterm()
    {
        var ct = TestContext.Current.CancellationToken;
        var port = LoopbackPort.Free();
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in (string[])[CliRunner.RampartDll, "check", "--watch", DomainsFile("example.org\nexample.net\n"), "--interval", "10m",
                     "--state-dir", State, "--resolver", Resolver, "--timeout", "1", "--metrics", $"127.0.0.1:{port}"])
        {
            info.ArgumentList.Add(arg);
        }
        info.Environment["NO_COLOR"] = "1";
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        try
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            var metrics = "";
            while (!metrics.Contains("rampart_check_rounds_total 1", StringComparison.Ordinal))
            {
                Assert.True(DateTime.UtcNow < deadline, "no round within 60 s: " + metrics);
                if (process.HasExited)
                {
                    Assert.Fail("the monitor exited: " + await stderr);
                }
                await Task.Delay(200, ct);
                try
                {
                    metrics = await http.GetStringAsync($"http://127.0.0.1:{port}/metrics", ct);
                }
                catch (HttpRequestException)
                {
                }
            }

            Assert.Contains("rampart_check_status{domain=\"example.org\"} 2\n", metrics, StringComparison.Ordinal);
            Assert.Contains("rampart_check_status{domain=\"example.net\"} 2\n", metrics, StringComparison.Ordinal);
            Assert.Matches("rampart_check_findings\\{domain=\"example.org\",severity=\"failure\"\\} [1-9]", metrics);
            Assert.Contains("# TYPE rampart_check_rounds_total counter", metrics, StringComparison.Ordinal);

            using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!)
            {
                await kill.WaitForExitAsync(ct);
            }
            using var exit = CancellationTokenSource.CreateLinkedTokenSource(ct);
            exit.CancelAfter(TimeSpan.FromSeconds(30));
            await process.WaitForExitAsync(exit.Token);

            Assert.Equal(0, process.ExitCode);
            var output = await stdout;
            Assert.Contains("rampart check --watch stopped after 1 rounds", output, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", await stderr, StringComparison.Ordinal);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }
}
