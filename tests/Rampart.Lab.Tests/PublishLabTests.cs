using System.Diagnostics;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Rampart.Core.Dns;
using Rampart.Tests.Shared;

namespace Rampart.Lab.Tests;

/// <summary>
/// The receiving side end to end in the lab (scenario publish.test): what <c>rampart publish</c> writes,
/// <c>rampart mta-sts parse</c> accepts, <c>rampart serve</c> (on 127.0.1.61:443 with a lab-CA certificate for
/// mta-sts.publish.test) serves byte for byte, and <c>rampart resolve</c> turns into the expected Postfix reply.
/// </summary>
[Trait("Category", "integration")]
public sealed class PublishLabTests : IAsyncLifetime
{
    private const string ServeAddress = "127.0.1.61";
    private readonly string _dir = Directory.CreateTempSubdirectory("rampart-publish-lab-").FullName;
    private Process? _serve;

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        if (_serve is { HasExited: false })
        {
            _serve.Kill(entireProcessTree: true);
            await _serve.WaitForExitAsync();
        }
        _serve?.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private static string State => Environment.GetEnvironmentVariable("RAMPART_LAB_STATE")
                                   ?? throw new InvalidOperationException("RAMPART_LAB_STATE is not set (run through lab/run)");

    /// <summary>certbot's layout for mta-sts.publish.test, issued by the lab intermediate (what the lab's senders trust).</summary>
    private string IssuePolicyHostCertificate() => LabLeafCertificate.IssueInto(Path.Combine(_dir, "live"), "mta-sts.publish.test");

    private async Task StartServeAsync(string config)
    {
        var info = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var arg in new[] { CliRunner.RampartDll, "serve", "--config", config, "--state-dir", Path.Combine(_dir, "state") })
        {
            info.ArgumentList.Add(arg);
        }
        _serve = Process.Start(info)!;
        _serve.OutputDataReceived += (_, _) => { };
        _serve.ErrorDataReceived += (_, _) => { };
        _serve.BeginOutputReadLine();
        _serve.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            Assert.False(_serve.HasExited, $"rampart serve exited with {(_serve.HasExited ? _serve.ExitCode : 0)}");
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(ServeAddress, 443, TestContext.Current.CancellationToken);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(200, TestContext.Current.CancellationToken);
            }
        }
        Assert.Fail("rampart serve did not listen on 127.0.1.61:443 within 60 s");
    }

    [Fact]
    public async Task PublishServeResolve_RoundTrip_EnforcedWithTheDerivedId()
    {
        Lab.RequireLab();
        var live = IssuePolicyHostCertificate();
        var mxCert = Path.Combine(State, "pki", "mx", "mx.publish.test", "cert.pem");
        var config = Path.Combine(_dir, "publish.yml");
        await File.WriteAllTextAsync(config, $"""
            domain: publish.test
            mx: mx.publish.test
            mode: enforce
            max_age: 86400
            tlsrpt: mailto:tlsrpt@publish.test
            tlsa:
              - cert: {mxCert}
            serve:
              listen: ["{ServeAddress}:443"]
              certificates: {live}
            """, TestContext.Current.CancellationToken);
        var output = Path.Combine(_dir, "out");

        var publish = await CliRunner.RunAsync(["publish", "--config", config, "--out", output, "--json"], null, TimeSpan.FromSeconds(120));

        Assert.False(CliRunner.HasStackTrace(publish), publish.ToString());
        Assert.Equal(0, publish.ExitCode);
        using var json = JsonDocument.Parse(publish.Stdout);
        var domain = json.RootElement.GetProperty("domains")[0];
        Assert.True(domain.GetProperty("ready").GetBoolean(), publish.ToString());
        Assert.Empty(domain.GetProperty("blockers").EnumerateArray());
        var records = domain.GetProperty("records").EnumerateArray().ToList();
        var stsTxt = records.Single(r => r.GetProperty("name").GetString() == "_mta-sts.publish.test").GetProperty("data").GetString();
        var rptTxt = records.Single(r => r.GetProperty("name").GetString() == "_smtp._tls.publish.test").GetProperty("data").GetString();
        var dns = Lab.Dns();
        var published = await dns.QueryTxtAsync("_mta-sts.publish.test", TestContext.Current.CancellationToken);
        var publishedRpt = await dns.QueryTxtAsync("_smtp._tls.publish.test", TestContext.Current.CancellationToken);
        Assert.Equal(DnsOutcome.Records, published.Outcome);
        Assert.Equal(published.Records.Single(), stsTxt!.Trim('"'));
        Assert.Equal(publishedRpt.Records.Single(), rptTxt!.Trim('"'));
        Assert.Contains(records, r => r.GetProperty("type").GetString() == "TLSA" && r.GetProperty("name").GetString() == "_25._tcp.mx.publish.test");

        var policyFile = Path.Combine(output, "publish.test", "mta-sts.txt");
        var parse = await CliRunner.RunAsync("mta-sts", "parse", policyFile, "--json");
        Assert.Equal(0, parse.ExitCode);
        Assert.True(JsonDocument.Parse(parse.Stdout).RootElement.GetProperty("valid").GetBoolean(), parse.ToString());

        await StartServeAsync(config);
        var fetched = await Lab.Fetcher(dns).FetchAsync("publish.test", TestContext.Current.CancellationToken);
        Assert.True(fetched.IsSuccess, fetched.Message);
        Assert.Equal(await File.ReadAllBytesAsync(policyFile, TestContext.Current.CancellationToken), fetched.Body);

        var resolve = await CliRunner.RunAsync(["resolve", "publish.test", "--json"], null, TimeSpan.FromSeconds(60));
        Assert.False(CliRunner.HasStackTrace(resolve), resolve.ToString());
        using var decision = JsonDocument.Parse(resolve.Stdout);
        Assert.Equal("mta-sts", decision.RootElement.GetProperty("policy").GetString());
        Assert.Equal("OK secure match=mx.publish.test servername=hostname", decision.RootElement.GetProperty("postfix").GetString());
    }

    [Fact]
    public async Task Publish_PolicyMissingTheCurrentMx_RefusedAndNothingWritten()
    {
        Lab.RequireLab();
        var config = Path.Combine(_dir, "missing.yml");
        await File.WriteAllTextAsync(config, "domain: publish.test\nmx: mx-old.publish.test\nmode: testing\n", TestContext.Current.CancellationToken);
        var output = Path.Combine(_dir, "out-missing");

        var publish = await CliRunner.RunAsync(["publish", "--config", config, "--out", output], null, TimeSpan.FromSeconds(60));

        Assert.Equal(1, publish.ExitCode);
        Assert.Contains("MX mx.publish.test of publish.test is not in the policy's mx list", publish.Stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(output));
    }

    [Fact]
    public async Task PublishEnforce_MxWithoutStartTls_RefusedByTheCheckEngine()
    {
        Lab.RequireLab();
        var config = Path.Combine(_dir, "nostarttls.yml");
        await File.WriteAllTextAsync(config, "domain: nostarttls.test\nmx: mx.nostarttls.test\nmode: testing\n", TestContext.Current.CancellationToken);

        var publish = await CliRunner.RunAsync(["publish", "--config", config, "--mode", "enforce", "--timeout", "5"], null, TimeSpan.FromSeconds(90));

        Assert.Equal(1, publish.ExitCode);
        Assert.Contains("not ready for enforce: smtp.starttls-missing", publish.Stderr, StringComparison.Ordinal);
        Assert.False(CliRunner.HasStackTrace(publish), publish.ToString());
    }
}
