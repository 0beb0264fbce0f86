using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using Rampart.Core.Dns;
using Rampart.Core.MtaSts;
using Rampart.Core.Tests.Fakes;
using Rampart.Core.Tests.Servers;
using Rampart.Core.Tests.Support;
using Rampart.Core.Tls;

namespace Rampart.Core.Tests.MtaSts;

/// <summary>
/// The fetch asks Rampart's own validating resolver for the policy host, never the system resolver; against a scripted
/// HTTPS policy host on loopback, every fetch rule of RFC 8461 §3.3 holds (SNI, WebPKI, no redirect, 200 only,
/// text/plain, bounded head and body, one total deadline).
/// </summary>
public class MtaStsPolicyFetcherTests : IAsyncDisposable
{
    private static MtaStsPolicyFetcher Fetcher(FakeDnsResolver dns) =>
        new(dns, new WebPkiValidator(TrustAnchors.SystemOnly, TimeProvider.System),
            new MtaStsFetchSettings { TotalTimeout = TimeSpan.FromSeconds(5), ConnectTimeout = TimeSpan.FromSeconds(1) }, new FakeTimeProvider());

    [Fact]
    public async Task Fetch_AddressLookupError_DnsErrorFromOurResolver()
    {
        var dns = new FakeDnsResolver().Fail("mta-sts.example.org", "ADDR", DnsErrorKind.ServFail);

        var result = await Fetcher(dns).FetchAsync("example.org", TestContext.Current.CancellationToken);

        Assert.Equal(MtaStsFetchError.DnsLookupError, result.Error);
        Assert.Contains(("mta-sts.example.org", "ADDR"), dns.Queries);
    }

    [Fact]
    public async Task Fetch_NoAddress_NoAddressError()
    {
        var dns = new FakeDnsResolver().Address("mta-sts.example.org");

        var result = await Fetcher(dns).FetchAsync("example.org", TestContext.Current.CancellationToken);

        Assert.Equal(MtaStsFetchError.NoAddress, result.Error);
    }

    [Fact]
    public async Task Fetch_ClosedPort_ConnectFailedNamingTheAddress()
    {
        var dns = new FakeDnsResolver().Address("mta-sts.example.org", "127.0.0.1");
        var fetcher = new MtaStsPolicyFetcher(dns, new WebPkiValidator(TrustAnchors.SystemOnly, TimeProvider.System),
            new MtaStsFetchSettings { Port = 9, TotalTimeout = TimeSpan.FromSeconds(5), ConnectTimeout = TimeSpan.FromSeconds(1) }, TimeProvider.System);

        var result = await fetcher.FetchAsync("example.org", TestContext.Current.CancellationToken);

        Assert.Equal(MtaStsFetchError.ConnectFailed, result.Error);
        Assert.Contains("127.0.0.1", result.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PolicyUrl_WellKnownLocation() =>
        Assert.Equal("https://mta-sts.example.org/.well-known/mta-sts.txt", MtaStsPolicyFetcher.PolicyUrl("example.org"));

    private const string Domain = "example.test";
    private const string Host = "mta-sts.example.test";
    private const string Policy = "version: STSv1\r\nmode: enforce\r\nmx: mx.example.test\r\nmax_age: 86400\r\n";

    private static readonly TestPki s_pki = new("Fetch");
    private static readonly SslStreamCertificateContext s_validCertificate = Serve(s_pki.LeafFor([Host], DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(1)));
    private static readonly Lazy<TrustAnchors> s_anchors = new(() =>
    {
        var directory = Directory.CreateTempSubdirectory("rampart-fetch-tests").FullName;
        return TrustAnchors.Load(s_pki.WriteRootPem(directory), sslCertFile: "");
    });

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>How long a test waits for an outcome the fake clock decides before calling the fetch hung.</summary>
    private static readonly TimeSpan s_hung = TimeSpan.FromSeconds(30);

    private readonly List<ScriptedPolicyHost> _hosts = [];

    public async ValueTask DisposeAsync()
    {
        foreach (var host in _hosts)
        {
            await host.DisposeAsync();
        }
        GC.SuppressFinalize(this);
    }

    private static SslStreamCertificateContext Serve(X509Certificate2 leaf) =>
        SslStreamCertificateContext.Create(leaf, [s_pki.Intermediate], offline: true);

    private ScriptedPolicyHost Host_(Func<Stream, CancellationToken, Task> respond, SslStreamCertificateContext? certificate = null)
    {
        var host = ScriptedPolicyHost.Start(certificate ?? s_validCertificate, respond);
        _hosts.Add(host);
        return host;
    }

    private static MtaStsPolicyFetcher FetcherFor(ScriptedPolicyHost host, TimeProvider? time = null, FakeDnsResolver? dns = null) =>
        new(dns ?? new FakeDnsResolver().Address(Host, "127.0.0.1"), new WebPkiValidator(s_anchors.Value, TimeProvider.System),
            new MtaStsFetchSettings { Port = host.Port, TotalTimeout = TimeSpan.FromSeconds(10), ConnectTimeout = TimeSpan.FromSeconds(2) },
            time ?? TimeProvider.System);

    private async Task<MtaStsFetchResult> FetchAsync(Func<Stream, CancellationToken, Task> respond, SslStreamCertificateContext? certificate = null)
    {
        var host = Host_(respond, certificate);
        using var fetcher = FetcherFor(host);
        return await fetcher.FetchAsync(Domain, Ct);
    }

    private static void AssertPostmasterMessage(MtaStsFetchResult result)
    {
        TestContext.Current.TestOutputHelper?.WriteLine($"{result.Error}: {result.Message}");
        Assert.DoesNotContain("Exception", result.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("System.", result.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("inner exception", result.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Fetch_TextPlainWithLength_BodyFromTheAddressOurResolverGave_SniIsThePolicyHost()
    {
        var host = Host_(ScriptedPolicyHost.Answer($"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {Policy.Length}\r\n\r\n{Policy}"));
        var dns = new FakeDnsResolver().Address(Host, "127.0.0.1");
        using var fetcher = FetcherFor(host, dns: dns);

        var result = await fetcher.FetchAsync(Domain, Ct);

        Assert.True(result.IsSuccess, result.Message);
        Assert.Equal(Policy, Encoding.ASCII.GetString(result.Body!));
        Assert.Equal(200, result.StatusCode);
        Assert.Equal(IPAddress.Loopback, result.RemoteAddress);
        Assert.Equal($"fetched {Policy.Length} bytes from https://{Host}/.well-known/mta-sts.txt (127.0.0.1)", result.Message);
        Assert.Equal([(Host, "ADDR")], dns.Queries);
        Assert.Equal([Host], host.ServerNames);
        var head = Assert.Single(host.RequestHeads).Split("\r\n");
        Assert.Equal("GET /.well-known/mta-sts.txt HTTP/1.1", head[0]);
        Assert.Contains($"Host: {Host}", head);
        Assert.Contains("Connection: close", head);
        Assert.DoesNotContain(head, h => h.StartsWith("Accept-Encoding", StringComparison.OrdinalIgnoreCase) || h.StartsWith("Cookie", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task Fetch_Chunked_Joined()
    {
        var result = await FetchAsync(ScriptedPolicyHost.Answer(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nvers\r\n9;ext=1\r\nion: STSv\r\n1\r\n1\r\n0\r\n\r\n"));

        Assert.True(result.IsSuccess, result.Message);
        Assert.Equal("version: STSv1", Encoding.ASCII.GetString(result.Body!));
    }

    [Fact]
    public async Task Fetch_Http10BodyToClose_ReadToTheEnd()
    {
        var result = await FetchAsync(ScriptedPolicyHost.Answer($"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n{Policy}"));

        Assert.True(result.IsSuccess, result.Message);
        Assert.Equal(Policy, Encoding.ASCII.GetString(result.Body!));
    }

    [Theory]
    [InlineData(301)]
    [InlineData(302)]
    [InlineData(307)]
    [InlineData(308)]
    public async Task Fetch_Redirect_NeverFollowed(int status)
    {
        var location = $"https://{Host}/elsewhere.txt";
        var host = Host_(ScriptedPolicyHost.Answer($"HTTP/1.1 {status} Moved\r\nLocation: {location}\r\nContent-Type: text/plain\r\nContent-Length: {Policy.Length}\r\n\r\n{Policy}"));
        using var fetcher = FetcherFor(host);

        var result = await fetcher.FetchAsync(Domain, Ct);

        Assert.Equal(MtaStsFetchError.Redirect, result.Error);
        Assert.Equal(status, result.StatusCode);
        Assert.Null(result.Body);
        Assert.Equal($"https://{Host}/.well-known/mta-sts.txt answered {status} redirect to {location}; redirects are not followed (RFC 8461 §3.3)", result.Message);
        Assert.Single(host.RequestHeads);
    }

    [Fact]
    public async Task Fetch_404_HttpStatusError()
    {
        var result = await FetchAsync(ScriptedPolicyHost.Answer($"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: {Policy.Length}\r\n\r\n{Policy}"));

        Assert.Equal(MtaStsFetchError.HttpStatus, result.Error);
        Assert.Equal(404, result.StatusCode);
        Assert.Null(result.Body);
        Assert.Contains("answered HTTP 404 Not Found; only 200 is a policy", result.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Content-Type: text/html; charset=utf-8\r\n", "'text/html; charset=utf-8'")]
    [InlineData("Content-Type: text/plainx\r\n", "'text/plainx'")]
    [InlineData("", "'(none)'")]
    public async Task Fetch_NotTextPlain_ContentTypeError(string header, string named)
    {
        var result = await FetchAsync(ScriptedPolicyHost.Answer($"HTTP/1.1 200 OK\r\n{header}Content-Length: {Policy.Length}\r\n\r\n{Policy}"));

        Assert.Equal(MtaStsFetchError.ContentType, result.Error);
        Assert.Null(result.Body);
        Assert.Contains($"answered Content-Type {named}; a policy must be text/plain", result.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Fetch_DeclaredLengthOverTheBound_TooLargeWithoutWaitingForTheBody()
    {
        // The body never comes: only a fetch that trusts the declared length over the bound can answer before the deadline.
        var result = await FetchAsync(async (stream, ct) =>
        {
            await ScriptedPolicyHost.SendAsync(stream, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 70000\r\n\r\n", ct);
            await ScriptedPolicyHost.HoldAsync(stream, ct);
        });

        Assert.Equal(MtaStsFetchError.TooLarge, result.Error);
        Assert.Contains("body exceeds 65536 bytes; reading stopped there", result.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Fetch_BodyJustOverTheBoundArrivingSlowly_StoppedAtTheBoundWhileReading(bool chunked)
    {
        // 64 KiB + 1 byte in 1 KiB pieces, and then the connection stays open: the bound must act while reading.
        var result = await FetchAsync(async (stream, ct) =>
        {
            await ScriptedPolicyHost.SendAsync(stream, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n" + (chunked ? "Transfer-Encoding: chunked\r\n" : "") + "\r\n", ct);
            for (var sent = 0; sent <= MtaStsFetchSettings.DefaultMaxBodyBytes;)
            {
                var piece = Math.Min(1024, MtaStsFetchSettings.DefaultMaxBodyBytes + 1 - sent);
                var bytes = new string('x', piece);
                await ScriptedPolicyHost.SendAsync(stream, chunked ? $"{piece:x}\r\n{bytes}\r\n" : bytes, ct);
                sent += piece;
                await Task.Yield();
            }
            await ScriptedPolicyHost.HoldAsync(stream, ct);
        });

        Assert.Equal(MtaStsFetchError.TooLarge, result.Error);
        Assert.Null(result.Body);
    }

    [Fact]
    public async Task Fetch_BodyExactlyAtTheBound_Accepted()
    {
        var body = new string('x', MtaStsFetchSettings.DefaultMaxBodyBytes);

        var result = await FetchAsync(ScriptedPolicyHost.Answer($"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n{body}"));

        Assert.True(result.IsSuccess, result.Message);
        Assert.Equal(MtaStsFetchSettings.DefaultMaxBodyBytes, result.Body!.Length);
    }

    [Fact]
    public async Task Fetch_HeaderFlood_ProtocolErrorAtTheHeadBound()
    {
        // Header lines without end: the head is bounded (16 KiB) while it is read.
        var result = await FetchAsync(async (stream, ct) =>
        {
            await ScriptedPolicyHost.SendAsync(stream, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n", ct);
            for (var i = 0; i < 100_000; i++)
            {
                await ScriptedPolicyHost.SendAsync(stream, $"X-Flood-{i}: {new string('h', 100)}\r\n", ct);
            }
        });

        Assert.Equal(MtaStsFetchError.Protocol, result.Error);
        Assert.Equal($"https://{Host}/.well-known/mta-sts.txt: response head exceeds 16384 bytes", result.Message);
    }

    [Fact]
    public async Task Fetch_DrippingBody_StoppedAtTheTotalDeadlineThatNoByteExtends()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var bodyStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // Not disposed: the server may still wait on them when the test ends (the host's stop token releases it).
        var drip = new SemaphoreSlim(0);
        var dripped = new SemaphoreSlim(0);
        var host = Host_(async (stream, ct) =>
        {
            await ScriptedPolicyHost.SendAsync(stream, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nversion: STSv1\r\n", ct);
            bodyStarted.TrySetResult();
            while (true)
            {
                await drip.WaitAsync(ct);
                await ScriptedPolicyHost.SendAsync(stream, "x", ct);
                dripped.Release();
            }
        });
        using var fetcher = FetcherFor(host, time);

        var fetch = fetcher.FetchAsync(Domain, Ct);
        await bodyStarted.Task.WaitAsync(s_hung, Ct);
        // A byte every 3 s, each well inside the 10 s deadline: only a total deadline ends this fetch.
        for (var i = 0; i < 4; i++)
        {
            drip.Release();
            Assert.True(await dripped.WaitAsync(s_hung, Ct));
            time.Advance(TimeSpan.FromSeconds(3));
        }
        var result = await fetch.WaitAsync(s_hung, Ct);

        Assert.Equal(MtaStsFetchError.Timeout, result.Error);
        Assert.StartsWith($"https://{Host}/.well-known/mta-sts.txt: no complete policy within 10 s (stopped during ", result.Message, StringComparison.Ordinal);
        Assert.Null(result.Body);
    }

    [Fact]
    public async Task Fetch_ResponseHeadNeverComes_TimeoutNamesTheStage()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var requestRead = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var host = Host_(async (stream, ct) =>
        {
            requestRead.TrySetResult();
            await ScriptedPolicyHost.HoldAsync(stream, ct);
        });
        using var fetcher = FetcherFor(host, time);

        var fetch = fetcher.FetchAsync(Domain, Ct);
        await requestRead.Task.WaitAsync(s_hung, Ct);
        time.Advance(TimeSpan.FromSeconds(10));
        var result = await fetch.WaitAsync(s_hung, Ct);

        Assert.Equal(MtaStsFetchError.Timeout, result.Error);
        Assert.Equal($"https://{Host}/.well-known/mta-sts.txt: no complete policy within 10 s (stopped during response headers)", result.Message);
    }

    [Fact]
    public async Task Fetch_AddressLookupNeverAnswers_TimeoutAtTheTotalDeadlineEndsTheLookup()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var dns = new SilentAddressResolver();
        using var fetcher = new MtaStsPolicyFetcher(dns, new WebPkiValidator(s_anchors.Value, TimeProvider.System),
            new MtaStsFetchSettings { TotalTimeout = TimeSpan.FromSeconds(10), ConnectTimeout = TimeSpan.FromSeconds(2) }, time);

        var fetch = fetcher.FetchAsync(Domain, Ct);
        await dns.Asked.Task.WaitAsync(s_hung, Ct);
        time.Advance(TimeSpan.FromSeconds(10));
        var result = await fetch.WaitAsync(s_hung, Ct);

        Assert.Equal(MtaStsFetchError.Timeout, result.Error);
        Assert.Equal($"https://{Host}/.well-known/mta-sts.txt: no complete policy within 10 s (stopped during address lookup)", result.Message);
        // The lookup ends with the fetch, not seconds later with the handler's abandoned connection attempt.
        Assert.True(dns.Cancelled.Task.IsCompleted);
    }

    [Fact]
    public async Task Fetch_WrongNameCertificate_CertificateInvalidNamingThePolicyHost()
    {
        var wrongName = Serve(s_pki.LeafFor(["mta-sts.not-this-domain.test"], DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(1)));

        var result = await FetchAsync(ScriptedPolicyHost.Answer($"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n{Policy}"), wrongName);

        Assert.Equal(MtaStsFetchError.CertificateInvalid, result.Error);
        Assert.Equal($"{Host}: certificate names [mta-sts.not-this-domain.test] do not cover {Host} (RFC 8461 §3.3 requires a valid WebPKI certificate)", result.Message);
    }

    [Fact]
    public async Task Fetch_SelfSignedCertificate_CertificateInvalidNotTrusted()
    {
        var selfSigned = SslStreamCertificateContext.Create(TestPki.Issue($"CN={Host}", null, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(1), dnsNames: [Host]), null, offline: true);

        var result = await FetchAsync(ScriptedPolicyHost.Answer($"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n{Policy}"), selfSigned);

        Assert.Equal(MtaStsFetchError.CertificateInvalid, result.Error);
        Assert.StartsWith($"{Host}: certificate for {Host} is not trusted", result.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Fetch_ExpiredCertificate_CertificateInvalid()
    {
        var expired = Serve(s_pki.LeafFor([Host], DateTimeOffset.UtcNow.AddDays(-90), DateTimeOffset.UtcNow.AddDays(-30)));

        var result = await FetchAsync(ScriptedPolicyHost.Answer($"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n{Policy}"), expired);

        Assert.Equal(MtaStsFetchError.CertificateInvalid, result.Error);
        Assert.Contains("outside its validity period", result.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("SMTP 220 hello\r\n\r\n")]
    [InlineData("HTTP/1.1 2000 OK\r\n\r\n")]
    [InlineData("HTTP/1.1 200 OK\r\nno colon here\r\n\r\n")]
    [InlineData("")]
    public async Task Fetch_NotHttp_ProtocolError(string response)
    {
        var result = await FetchAsync(ScriptedPolicyHost.Answer(response));

        Assert.Equal(MtaStsFetchError.Protocol, result.Error);
        Assert.StartsWith($"https://{Host}/.well-known/mta-sts.txt: ", result.Message, StringComparison.Ordinal);
        AssertPostmasterMessage(result);
    }

    [Fact]
    public async Task Fetch_BodyShorterThanDeclared_ProtocolErrorCountingTheBytes()
    {
        var result = await FetchAsync(ScriptedPolicyHost.Answer("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n\r\nabc"));

        Assert.Equal(MtaStsFetchError.Protocol, result.Error);
        Assert.Equal($"https://{Host}/.well-known/mta-sts.txt: connection closed after 3 of 10 body bytes", result.Message);
    }

    [Fact]
    public async Task Fetch_FirstAddressRefused_NextAddressTriedInOrder()
    {
        var host = Host_(ScriptedPolicyHost.Answer($"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n{Policy}"));
        using var fetcher = FetcherFor(host, dns: new FakeDnsResolver().Address(Host, "127.0.0.2", "127.0.0.1"));

        var result = await fetcher.FetchAsync(Domain, Ct);

        Assert.True(result.IsSuccess, result.Message);
        Assert.Equal(IPAddress.Loopback, result.RemoteAddress);
    }

    [Fact]
    public async Task Fetch_TwiceWithOneFetcher_EachFetchResolvesAndConnectsAfresh()
    {
        var host = Host_(ScriptedPolicyHost.Answer($"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {Policy.Length}\r\n\r\n{Policy}"));
        var dns = new FakeDnsResolver().Address(Host, "127.0.0.1");
        using var fetcher = FetcherFor(host, dns: dns);

        Assert.True((await fetcher.FetchAsync(Domain, Ct)).IsSuccess);
        var first = await fetcher.FetchAsync(Domain, Ct); Assert.True(first.IsSuccess, first.Message);

        Assert.Equal(2, dns.Count("ADDR"));
        Assert.Equal(2, host.Connections);
    }

    [Fact]
    public async Task Fetch_HandshakeRefusedByTheServer_TlsHandshakeError()
    {
        // A server that speaks no TLS at all: it answers the ClientHello with plain text and closes.
        var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            var serve = Task.Run(async () =>
            {
                using var socket = await listener.AcceptSocketAsync(Ct);
                await socket.SendAsync(Encoding.ASCII.GetBytes("220 not a TLS server\r\n"), Ct);
            }, Ct);
            using var fetcher = new MtaStsPolicyFetcher(new FakeDnsResolver().Address(Host, "127.0.0.1"), new WebPkiValidator(s_anchors.Value, TimeProvider.System),
                new MtaStsFetchSettings { Port = port, TotalTimeout = TimeSpan.FromSeconds(10), ConnectTimeout = TimeSpan.FromSeconds(2) }, TimeProvider.System);

            var result = await fetcher.FetchAsync(Domain, Ct);
            await serve;

            Assert.Equal(MtaStsFetchError.TlsHandshake, result.Error);
            Assert.Contains("TLS handshake", result.Message, StringComparison.Ordinal);
            AssertPostmasterMessage(result);
        }
        finally
        {
            listener.Stop();
        }
    }

    [Theory]
    [InlineData("text/plain", true)]
    [InlineData("TEXT/Plain; charset=utf-8", true)]
    [InlineData(" text/plain ;charset=us-ascii", true)]
    [InlineData("text/html", false)]
    [InlineData("text/plainx", false)]
    [InlineData("application/octet-stream", false)]
    [InlineData(null, false)]
    public void IsTextPlain_MediaTypeOnly(string? contentType, bool expected) =>
        Assert.Equal(expected, MtaStsPolicyFetcher.IsTextPlain(contentType));

    /// <summary>A resolver whose address lookups never answer; it records when a lookup is cancelled.</summary>
    private sealed class SilentAddressResolver : IDnsResolver
    {
        public TaskCompletionSource Asked { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public TaskCompletionSource Cancelled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async Task<DnsResult<IPAddress>> QueryAddressesAsync(string name, CancellationToken cancellationToken)
        {
            Asked.TrySetResult();
            using var cancelled = cancellationToken.Register(() => Cancelled.TrySetResult());
            await Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken);
            throw new InvalidOperationException("unreachable");
        }

        public Task<DnsResult<string>> QueryTxtAsync(string name, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<DnsResult<MxRecord>> QueryMxAsync(string name, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<DnsResult<TlsaRecordData>> QueryTlsaAsync(string name, CancellationToken cancellationToken) => throw new NotSupportedException();
    }
}
