using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Rampart.Tests.Shared;

namespace Rampart.Lab.Tests;

/// <summary>
/// <c>rampart check --watch --once</c> in the lab (real NSD, validating Unbound, MX receivers): rounds on sts-enforce.test (WebPKI MX, no DANE)
/// with a change in between (the certificate warning threshold raised past the lab certificate's lifetime, then back),
/// so a real finding appears, then clears; each change reaches a webhook served by a real HTTP listener in the test.
/// </summary>
[Trait("Category", "integration")]
public sealed class CheckWatchLabTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("rampart-watch-lab-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Once_Twice_CertWarningAppearsThenClears_WebhookGetsBoth()
    {
        Lab.RequireLab();
        var ct = TestContext.Current.CancellationToken;
        var file = Path.Combine(_dir, "domains.txt");
        await File.WriteAllTextAsync(file, "# lab\nsts-enforce.test\n", ct);
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        using var listener = new HttpListener();
        listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        listener.Start();
        var bodies = new List<string>();
        var serving = Task.Run(async () =>
        {
            while (true)
            {
                HttpListenerContext context;
                try
                {
                    context = await listener.GetContextAsync();
                }
                catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException)
                {
                    return;
                }
                using var reader = new StreamReader(context.Request.InputStream);
                var body = await reader.ReadToEndAsync(ct);
                lock (bodies)
                {
                    bodies.Add(body);
                }
                context.Response.StatusCode = 200;
                context.Response.Close();
            }
        }, ct);
        string[] Args(string certDays) => ["check", "--watch", file, "--once", "--state-dir", Path.Combine(_dir, "state"), "--timeout", "5",
            "--cert-days", certDays, "--webhook", $"http://127.0.0.1:{port}/"];

        var baseline = await CliRunner.RunAsync(Args("0"), null, TimeSpan.FromSeconds(90));
        var raised = await CliRunner.RunAsync(Args("3650"), null, TimeSpan.FromSeconds(90));
        var lowered = await CliRunner.RunAsync(Args("0"), null, TimeSpan.FromSeconds(90));
        listener.Stop();
        await serving;

        Assert.Equal(0, baseline.ExitCode);
        Assert.Contains("round 1: 1 domains (1 ok, 0 warning, 0 failure)", baseline.Stdout, StringComparison.Ordinal);
        Assert.Equal(1, raised.ExitCode);
        Assert.Contains("sts-enforce.test: appeared warning tls.cert.expiring [mx.sts-enforce.test", raised.Stdout, StringComparison.Ordinal);
        Assert.Contains("0 cleared", raised.Stdout, StringComparison.Ordinal);
        Assert.Equal(0, lowered.ExitCode);
        Assert.Contains("sts-enforce.test: cleared warning tls.cert.expiring [mx.sts-enforce.test", lowered.Stdout, StringComparison.Ordinal);
        Assert.Contains("0 appeared", lowered.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("the monitor goes on", baseline.Stdout + raised.Stdout + lowered.Stdout, StringComparison.Ordinal);

        Assert.True(bodies.Count >= 2, string.Join("\n", bodies));
        using var appeared = JsonDocument.Parse(bodies[^2]);
        using var cleared = JsonDocument.Parse(bodies[^1]);
        Assert.Equal("warning", appeared.RootElement.GetProperty("status").GetString());
        Assert.Contains(appeared.RootElement.GetProperty("appeared").EnumerateArray(), f => f.GetProperty("id").GetString() == "tls.cert.expiring");
        Assert.Equal("ok", cleared.RootElement.GetProperty("status").GetString());
        Assert.Empty(cleared.RootElement.GetProperty("appeared").EnumerateArray());
        var gone = Assert.Single(cleared.RootElement.GetProperty("cleared").EnumerateArray());
        Assert.Equal("tls.cert.expiring", gone.GetProperty("id").GetString());
    }
}
