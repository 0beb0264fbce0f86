using Rampart.Core.Dane;
using System.Diagnostics;
using System.Net;
using Rampart.Core.Dns;
using Rampart.Core.MtaSts;
using Rampart.Core.Policy;
using Rampart.Core.Tls;

namespace Rampart.Lab.Tests;

/// <summary>
/// The lab as the tests see it: they run inside the lab's network namespace (test.sh starts them with
/// <c>lab/run</c>), resolve through the lab's validating Unbound and trust the lab CA through SSL_CERT_FILE.
/// Outside the lab every test fails with instructions: they never skip silently.
/// </summary>
internal static class Lab
{
    public static readonly ResolverEndpoint Resolver = ResolverEndpoint.Parse("127.0.0.1:53");

    public static void RequireLab()
    {
        if (Environment.GetEnvironmentVariable("RAMPART_LAB") != "1")
        {
            Assert.Fail("Lab tests run inside the offline lab: `lab/up && lab/run tests/Rampart.Lab.Tests/bin/Release/net10.0/Rampart.Lab.Tests` (./test.sh does this). " +
                        "The lab needs the Debian packages nsd, unbound, bind9-utils, bind9-dnsutils, openssl and iproute2.");
        }
    }

    public static DnsClientResolver Dns(TimeSpan? timeout = null)
    {
        RequireLab();
        return new DnsClientResolver(DnsResolverSettings.FromOptions(new DnsResolverOptions
        {
            Resolver = "127.0.0.1:53",
            Timeout = timeout ?? TimeSpan.FromSeconds(3),
        }));
    }

    public static MtaStsPolicyFetcher Fetcher(IDnsResolver dns, TimeSpan? total = null) =>
        new(dns, new WebPkiValidator(TrustAnchors.Load(null), TimeProvider.System),
            new MtaStsFetchSettings { TotalTimeout = total ?? TimeSpan.FromSeconds(5), ConnectTimeout = TimeSpan.FromSeconds(2) },
            TimeProvider.System);

    public static MtaStsPolicyProvider MtaSts(IDnsResolver dns, IMtaStsPolicyStore? store = null, TimeSpan? fetchTimeout = null, TimeProvider? time = null) =>
        new(dns, Fetcher(dns, fetchTimeout), store ?? new InMemoryMtaStsPolicyStore(), new MtaStsPolicySettings(), time ?? TimeProvider.System);

    public static SenderPolicyResolver Sender(TimeSpan? fetchTimeout = null)
    {
        var dns = Dns();
        return SenderPolicyStack.Resolver(dns, MtaSts(dns, fetchTimeout: fetchTimeout), new SenderPolicySettings(), pinned: null, TimeProvider.System);
    }

    /// <summary>Runs a lab helper command (e.g. lab-bump) found on lab/run's PATH.</summary>
    public static async Task<int> ExecAsync(string command, params string[] args) => (await RunAsync(command, args)).ExitCode;

    /// <summary>Runs a program inside the lab with stdin closed and a hard deadline; returns its exit code and all it printed.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(string command, string[] args, TimeSpan? timeout = null)
    {
        var info = new ProcessStartInfo(command)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"cannot start {command}");
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{command} {string.Join(' ', args)} did not finish in time");
        }
        return (process.ExitCode, await stdout + await stderr);
    }

    /// <summary>An address on loopback where something listens for DNS and never answers: an outage, not a closed port.</summary>
    public static IPEndPoint SilentResolver(out IDisposable listener)
    {
        var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener = socket;
        return (IPEndPoint)socket.LocalEndPoint!;
    }
}
