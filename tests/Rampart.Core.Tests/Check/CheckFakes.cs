using System.Collections.Concurrent;
using System.Net;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Time.Testing;
using Rampart.Core.Check;
using Rampart.Core.Dns;
using Rampart.Core.Smtp;
using Rampart.Core.Tests.Fakes;
using Rampart.Core.Tests.Support;
using Rampart.Core.Tls;

namespace Rampart.Core.Tests.Check;

/// <summary>A hand-written SMTP probe: answers per address from a table, can hang, and records how many connections overlap per address.</summary>
internal sealed class FakeSmtpProbe : ISmtpTlsProbe
{
    private readonly ConcurrentDictionary<IPAddress, Func<IPEndPoint, SmtpTlsProbeResult>> _answers = new();
    private readonly ConcurrentDictionary<IPAddress, int> _open = new();

    public ConcurrentDictionary<IPAddress, int> MaxOpen { get; } = new();

    public ConcurrentBag<(IPAddress Address, string? ServerName)> Calls { get; } = [];

    public TimeSpan Delay { get; set; }

    public bool Hang { get; set; }

    public FakeSmtpProbe Tls(string address, params X509Certificate2[] chain) => Tls(address, SslProtocols.Tls13, chain);

    public FakeSmtpProbe Tls(string address, SslProtocols protocol, params X509Certificate2[] chain)
    {
        _answers[IPAddress.Parse(address)] = e => new SmtpTlsProbeResult(e, SmtpProbeStage.Done, true, "fake ESMTP", ["STARTTLS"], protocol, "TLS_AES_128_GCM_SHA256", chain, null, TimeSpan.Zero);
        return this;
    }

    public FakeSmtpProbe NoStartTls(string address)
    {
        _answers[IPAddress.Parse(address)] = e => new SmtpTlsProbeResult(e, SmtpProbeStage.Ehlo, false, "fake ESMTP", ["PIPELINING"], null, null, [], null, TimeSpan.Zero);
        return this;
    }

    public FakeSmtpProbe Fail(string address, SmtpProbeStage stage, string error)
    {
        _answers[IPAddress.Parse(address)] = e => new SmtpTlsProbeResult(e, stage, stage > SmtpProbeStage.Ehlo, null, [], null, null, [], error, TimeSpan.Zero);
        return this;
    }

    public async Task<SmtpTlsProbeResult> ProbeAsync(IPEndPoint endpoint, string? serverName, CancellationToken cancellationToken = default)
    {
        Calls.Add((endpoint.Address, serverName));
        var open = _open.AddOrUpdate(endpoint.Address, 1, (_, n) => n + 1);
        MaxOpen.AddOrUpdate(endpoint.Address, open, (_, n) => Math.Max(n, open));
        try
        {
            if (Hang)
            {
                await Task.Delay(Timeout.Infinite, CancellationToken.None).WaitAsync(cancellationToken);
            }
            if (Delay > TimeSpan.Zero)
            {
                await Task.Delay(Delay, cancellationToken);
            }
            return _answers.TryGetValue(endpoint.Address, out var answer)
                ? answer(endpoint)
                : new SmtpTlsProbeResult(endpoint, SmtpProbeStage.Connect, false, null, [], null, null, [], "fake: connection refused", TimeSpan.Zero);
        }
        finally
        {
            _open.AddOrUpdate(endpoint.Address, 0, (_, n) => n - 1);
        }
    }
}

/// <summary>A resolver that never answers (queries are dropped): only the caller's deadline ends a question.</summary>
internal sealed class SilentDnsResolver : IDnsResolver
{
    public Task<DnsResult<string>> QueryTxtAsync(string name, CancellationToken cancellationToken) => Never<string>(cancellationToken);

    public Task<DnsResult<MxRecord>> QueryMxAsync(string name, CancellationToken cancellationToken) => Never<MxRecord>(cancellationToken);

    public Task<DnsResult<IPAddress>> QueryAddressesAsync(string name, CancellationToken cancellationToken) => Never<IPAddress>(cancellationToken);

    public Task<DnsResult<TlsaRecordData>> QueryTlsaAsync(string name, CancellationToken cancellationToken) => Never<TlsaRecordData>(cancellationToken);

    // Ignores the token on purpose: the auditor must not depend on a well-behaved resolver.
    private static Task<DnsResult<T>> Never<T>(CancellationToken cancellationToken) => new TaskCompletionSource<DnsResult<T>>().Task;
}

/// <summary>A fake resolver that also answers RRSIG questions from a table.</summary>
internal sealed class SigningDnsResolver(FakeDnsResolver inner) : IDnsResolver, IDnsSignatureSource
{
    public Dictionary<(string Name, string Type), DateTimeOffset> Expirations { get; } = new();

    public Task<DnsResult<string>> QueryTxtAsync(string name, CancellationToken cancellationToken) => inner.QueryTxtAsync(name, cancellationToken);

    public Task<DnsResult<MxRecord>> QueryMxAsync(string name, CancellationToken cancellationToken) => inner.QueryMxAsync(name, cancellationToken);

    public Task<DnsResult<IPAddress>> QueryAddressesAsync(string name, CancellationToken cancellationToken) => inner.QueryAddressesAsync(name, cancellationToken);

    public Task<DnsResult<TlsaRecordData>> QueryTlsaAsync(string name, CancellationToken cancellationToken) => inner.QueryTlsaAsync(name, cancellationToken);

    public Task<DnsResult<DnsSignature>> QuerySignaturesAsync(string name, string type, CancellationToken cancellationToken) =>
        Task.FromResult(Expirations.TryGetValue((name, type), out var expiration)
            ? new DnsResult<DnsSignature>(name, DnsOutcome.Records, true, [new DnsSignature(name, type, "example.org", expiration.AddDays(-30), expiration)], [])
            : new DnsResult<DnsSignature>(name, DnsOutcome.Records, true,
                [new DnsSignature(name, type, "example.org", TestPki.Now.AddDays(-1), TestPki.Now.AddDays(30))], []));
}

/// <summary>Builds a <see cref="DomainChecker"/> over fakes: DNS table, policy fetcher, SMTP probe, the test PKI as trust anchor.</summary>
internal sealed class CheckHarness : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("rampart-check-").FullName;

    public CheckHarness()
    {
        Dns = new FakeDnsResolver();
        Signing = new SigningDnsResolver(Dns);
        Anchors = TrustAnchors.Load(Pki.WriteRootPem(_directory));
    }

    public TestPki Pki { get; } = new("Check");

    public FakeDnsResolver Dns { get; }

    public SigningDnsResolver Signing { get; }

    public FakePolicyFetcher Fetcher { get; } = new();

    public FakeSmtpProbe Probe { get; } = new();

    public TrustAnchors Anchors { get; }

    public FakeTimeProvider Time { get; } = new(TestPki.Now);

    public CheckSettings Settings { get; set; } = new() { Timeout = TimeSpan.FromSeconds(5) };

    /// <summary>A one-MX domain: MX 10 mx.DOMAIN at ADDRESS, signed.</summary>
    public CheckHarness Domain(string domain, string address, string? host = null)
    {
        host ??= "mx." + domain;
        Dns.Mx(domain, (10, host)).Address(host, address);
        return this;
    }

    public static string DaneEe(X509Certificate2 certificate) =>
        $"3 1 1 {Convert.ToHexString(SHA256.HashData(certificate.PublicKey.ExportSubjectPublicKeyInfo()))}";

    public static string DaneTa(X509Certificate2 certificate) => $"2 1 1 {Convert.ToHexString(SHA256.HashData(certificate.PublicKey.ExportSubjectPublicKeyInfo()))}";

    public DomainChecker Checker(IDnsResolver? dns = null, TimeProvider? time = null) =>
        new(dns ?? Signing, Fetcher, Probe, new WebPkiValidator(Anchors, time ?? Time), Settings, time ?? Time);

    public Task<DomainCheckReport> CheckAsync(string domain) => Checker().CheckAsync(domain);

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}

internal static class ReportAssertions
{
    public static CheckFinding Single(this DomainCheckReport report, string id) =>
        Assert.Single(report.Findings, f => f.Id == id);

    public static string Describe(this DomainCheckReport report) => string.Join("\n", report.Findings);
}
