using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Time.Testing;
using Rampart.Core.Smtp;
using Rampart.Core.Tests.Servers;
using Rampart.Core.Tests.Support;

namespace Rampart.Core.Tests.Smtp;

/// <summary>The probe against a scripted server on loopback: real sockets, a real TLS handshake, a test PKI.</summary>
public class SmtpTlsProbeTests : IAsyncDisposable
{
    private const string MxName = "mx.example.test";

    private static readonly TestPki s_pki = new("Smtp");
    private static readonly X509Certificate2 s_leaf = s_pki.Leaf(MxName);
    private static readonly SslStreamCertificateContext s_serverCertificate =
        SslStreamCertificateContext.Create(s_leaf, [s_pki.Intermediate], offline: true);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static SmtpProbeSettings Settings(double commandSeconds = 5, double totalSeconds = 10) => new()
    {
        ConnectTimeout = TimeSpan.FromSeconds(2),
        CommandTimeout = TimeSpan.FromSeconds(commandSeconds),
        TotalTimeout = TimeSpan.FromSeconds(totalSeconds),
        EhloName = "probe.example.test",
    };

    private readonly List<ScriptedSmtpServer> _servers = [];

    private static SmtpTlsProbe Probe(SmtpProbeSettings? settings = null) => new(settings ?? Settings(), TimeProvider.System);

    /// <summary>Starts a server playing <paramref name="script"/> and probes it; the server lives until the test ends.</summary>
    private async Task<(ScriptedSmtpServer Server, SmtpTlsProbeResult Result)> ProbeScriptAsync(
        Func<SmtpScript, SmtpScript> script, SmtpProbeSettings? settings = null, string? serverName = MxName)
    {
        var server = ScriptedSmtpServer.Start(script);
        _servers.Add(server);
        return (server, await Probe(settings).ProbeAsync(server.EndPoint, serverName, Ct));
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var server in _servers)
        {
            await server.DisposeAsync();
        }
        GC.SuppressFinalize(this);
    }

    private static SmtpScript UpToStartTls(SmtpScript s) => s
        .Reply("220 mx.example.test ESMTP")
        .Expect("EHLO")
        .Reply("250-mx.example.test", "250-PIPELINING", "250-SIZE 10240000", "250 STARTTLS")
        .Expect("STARTTLS");

    private static SmtpScript FullTlsSession(SmtpScript s) => UpToStartTls(s)
        .Reply("220 2.0.0 Ready to start TLS")
        .StartTls(s_serverCertificate)
        .Expect("QUIT")
        .Reply("221 2.0.0 Bye");

    [Fact]
    public async Task ProbeAsync_StartTlsAndHandshake_CapturesChainLeafFirstProtocolAndCipher()
    {
        var (server, result) = await ProbeScriptAsync(FullTlsSession);

        Assert.Null(result.Error);
        Assert.Equal(SmtpProbeStage.Done, result.ReachedStage);
        Assert.True(result.TlsEstablished);
        Assert.True(result.StartTlsOffered);
        Assert.Equal(server.EndPoint, result.Endpoint);
        Assert.Equal("mx.example.test ESMTP", result.Banner);
        Assert.Equal(["PIPELINING", "SIZE", "STARTTLS"], result.EhloKeywords);
        Assert.Equal(2, result.PresentedChain.Count);
        Assert.Equal(s_leaf.RawData, result.PresentedChain[0].RawData);
        Assert.Equal(s_pki.Intermediate.RawData, result.PresentedChain[1].RawData);
        Assert.NotNull(result.Protocol);
        Assert.True(result.Protocol >= SslProtocols.Tls12, $"negotiated {result.Protocol}");
        Assert.False(string.IsNullOrEmpty(result.CipherSuite));
        Assert.StartsWith("TLS_", result.CipherSuite, StringComparison.Ordinal);
        Assert.True(server.ClientHelloSeen);
        Assert.Equal(MxName, server.ClientSni);
        await server.Completion;
        Assert.Equal(["EHLO probe.example.test", "STARTTLS", "QUIT"], server.Received);
    }

    [Fact]
    public async Task ProbeAsync_ChainCopies_OutliveTheHandshake()
    {
        var (_, result) = await ProbeScriptAsync(FullTlsSession);

        // The runtime disposes the chain elements after the callback; copies still have their data and keys.
        Assert.All(result.PresentedChain, c => Assert.NotNull(c.GetPublicKey()));
        Assert.Equal("CN=mx.example.test", result.PresentedChain[0].Subject);
        Assert.Equal(result.PresentedChain[0].Issuer, result.PresentedChain[1].Subject);
    }

    [Fact]
    public async Task ProbeAsync_ServerNameWithTrailingDotAndCapitals_SendsNormalizedSni()
    {
        var (server, result) = await ProbeScriptAsync(FullTlsSession, serverName: "MX.Example.Test.");

        Assert.True(result.TlsEstablished, result.Error);
        Assert.Equal(MxName, server.ClientSni);
    }

    [Fact]
    public async Task ProbeAsync_NullServerName_SendsNoSni()
    {
        var (server, result) = await ProbeScriptAsync(FullTlsSession, serverName: null);

        Assert.True(result.TlsEstablished, result.Error);
        Assert.True(server.ClientHelloSeen);
        Assert.True(string.IsNullOrEmpty(server.ClientSni), $"SNI sent: '{server.ClientSni}'");
        Assert.Equal(2, result.PresentedChain.Count);
    }

    [Theory]
    [InlineData("192.0.2.25")]
    [InlineData("[192.0.2.25]")]
    [InlineData("")]
    [InlineData("bad name.example")]
    public async Task ProbeAsync_ServerNameNotAHostName_ThrowsArgumentException(string serverName) =>
        await Assert.ThrowsAsync<ArgumentException>(() => Probe().ProbeAsync(new IPEndPoint(IPAddress.Loopback, 25), serverName, Ct));

    [Fact]
    public async Task ProbeAsync_StartTlsNotAdvertised_StopsAfterEhloWithoutTls()
    {
        var (server, result) = await ProbeScriptAsync(s => s
            .Reply("220 mx.example.test ESMTP")
            .Expect("EHLO")
            .Reply("250-mx.example.test", "250-PIPELINING", "250 8BITMIME")
            .Expect("QUIT")
            .Reply("221 Bye"));

        Assert.False(result.StartTlsOffered);
        Assert.Equal(SmtpProbeStage.Ehlo, result.ReachedStage);
        Assert.False(result.TlsEstablished);
        Assert.Null(result.Error);
        Assert.Equal(["PIPELINING", "8BITMIME"], result.EhloKeywords);
        Assert.Null(result.Protocol);
        Assert.Empty(result.PresentedChain);
        await server.Completion;
        Assert.Equal(["EHLO probe.example.test", "QUIT"], server.Received);
        Assert.False(server.ClientHelloSeen);
    }

    [Fact]
    public async Task ProbeAsync_StartTlsOnlyInGreetingLine_NotTakenAsOffered()
    {
        var (_, result) = await ProbeScriptAsync(s => s
            .Reply("220 mx.example.test ESMTP")
            .Expect("EHLO")
            .Reply("250-STARTTLS.example.test greets you", "250 SIZE")
            .Expect("QUIT")
            .Reply("221 Bye"));

        Assert.False(result.StartTlsOffered);
        Assert.Equal(["SIZE"], result.EhloKeywords);
    }

    [Fact]
    public async Task ProbeAsync_EhloRefused_FallsBackToHeloAndHasNoStartTls()
    {
        var (server, result) = await ProbeScriptAsync(s => s
            .Reply("220 old.example.test SMTP")
            .Expect("EHLO")
            .Reply("502 5.5.2 Command not recognized")
            .Expect("HELO probe.example.test")
            .Reply("250 old.example.test")
            .Expect("QUIT")
            .Reply("221 Bye"));

        Assert.False(result.StartTlsOffered);
        Assert.Equal(SmtpProbeStage.Ehlo, result.ReachedStage);
        Assert.Null(result.Error);
        Assert.Empty(result.EhloKeywords);
        await server.Completion;
        Assert.Equal(["EHLO probe.example.test", "HELO probe.example.test", "QUIT"], server.Received);
    }

    [Fact]
    public async Task ProbeAsync_EhloAndHeloRefused_ErrorNamesBothReplies()
    {
        var (_, result) = await ProbeScriptAsync(s => s
            .Reply("220 mx.example.test")
            .Expect("EHLO")
            .Reply("550 5.7.1 go away")
            .Expect("HELO")
            .Reply("550 5.7.1 still no")
            .Expect("QUIT")
            .Reply("221 Bye"));

        Assert.Equal("server refused EHLO (550 5.7.1 go away) and HELO (550 5.7.1 still no)", result.Error);
        Assert.Equal(SmtpProbeStage.Ehlo, result.ReachedStage);
    }

    [Fact]
    public async Task ProbeAsync_EhloTemporaryFailure_ErrorWithoutHeloFallback()
    {
        var (server, result) = await ProbeScriptAsync(s => s
            .Reply("220 mx.example.test")
            .Expect("EHLO")
            .Reply("421 4.3.2 Service shutting down")
            .Expect("QUIT"));

        Assert.Equal("server answered 421 4.3.2 Service shutting down to EHLO", result.Error);
        Assert.Equal(SmtpProbeStage.Ehlo, result.ReachedStage);
        await server.Completion;
        Assert.DoesNotContain(server.Received, l => l.StartsWith("HELO", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ProbeAsync_StartTlsRefused454_ErrorNamesReplyAndOfferStaysTrue()
    {
        var (server, result) = await ProbeScriptAsync(s => UpToStartTls(s)
            .Reply("454 4.7.0 TLS not available")
            .Expect("QUIT")
            .Reply("221 Bye"));

        Assert.Equal("server answered 454 4.7.0 TLS not available to STARTTLS", result.Error);
        Assert.Equal(SmtpProbeStage.StartTls, result.ReachedStage);
        Assert.True(result.StartTlsOffered);
        Assert.False(result.TlsEstablished);
        Assert.Null(result.Protocol);
        await server.Completion;
        Assert.Equal(["EHLO probe.example.test", "STARTTLS", "QUIT"], server.Received);
    }

    [Fact]
    public async Task ProbeAsync_Greeting554_StopsWithErrorNamingIt()
    {
        var (server, result) = await ProbeScriptAsync(s => s
            .Reply("554 5.3.2 mx.example.test no service for you")
            .Expect("QUIT")
            .Reply("221 Bye"));

        Assert.Equal("server refused the session in its greeting: 554 5.3.2 mx.example.test no service for you", result.Error);
        Assert.Equal(SmtpProbeStage.Greeting, result.ReachedStage);
        Assert.Equal("5.3.2 mx.example.test no service for you", result.Banner);
        await server.Completion;
        Assert.Equal(["QUIT"], server.Received);
    }

    [Fact]
    public async Task ProbeAsync_Greeting421ThenClose_ErrorNamesIt()
    {
        var (_, result) = await ProbeScriptAsync(s => s.Reply("421 4.3.2 too busy").Close());

        Assert.Equal("server refused the session in its greeting: 421 4.3.2 too busy", result.Error);
        Assert.Equal(SmtpProbeStage.Greeting, result.ReachedStage);
    }

    [Fact]
    public async Task ProbeAsync_MultiLineGreetingAndEhloWithBareLf_ParsesEveryLine()
    {
        var (_, result) = await ProbeScriptAsync(s => s
            .Send("220-mx.example.test ESMTP\r\n220-no UCE\n220 ready\r\n")
            .Expect("EHLO")
            .Send("250-mx.example.test\r\n250-size 1000\n250-8BITMIME\r\n250-Auth PLAIN LOGIN\r\n250 starttls\r\n")
            .Expect("STARTTLS")
            .Reply("220 go ahead")
            .StartTls(s_serverCertificate)
            .Expect("QUIT")
            .Reply("221 Bye"));

        Assert.Equal("mx.example.test ESMTP\nno UCE\nready", result.Banner);
        Assert.Equal(["SIZE", "8BITMIME", "AUTH", "STARTTLS"], result.EhloKeywords);
        Assert.True(result.TlsEstablished, result.Error);
    }

    [Fact]
    public async Task ProbeAsync_NoGreeting_ErrorWithinCommandDeadline()
    {
        var watch = Stopwatch.StartNew();
        var (_, result) = await ProbeScriptAsync(s => s.Stall(), settings: Settings(commandSeconds: 0.3));

        Assert.Equal("no greeting within 0.3 s", result.Error);
        Assert.Equal(SmtpProbeStage.Greeting, result.ReachedStage);
        Assert.InRange(watch.Elapsed, TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(5));
        Assert.InRange(result.Elapsed, TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task ProbeAsync_GreetingDrippedByteByByte_StoppedByDeadlineWithWhatWasSeen()
    {
        var watch = Stopwatch.StartNew();
        var (_, result) = await ProbeScriptAsync(s => s.Drip("220 " + new string('s', 200) + "\r\n", TimeSpan.FromMilliseconds(20)), settings: Settings(commandSeconds: 0.5));

        Assert.NotNull(result.Error);
        Assert.StartsWith("no greeting within 0.5 s (received so far: \"220 sss", result.Error, StringComparison.Ordinal);
        Assert.InRange(watch.Elapsed, TimeSpan.FromMilliseconds(400), TimeSpan.FromSeconds(4));
    }

    [Fact]
    public async Task ProbeAsync_SlowRepliesAcrossStages_StoppedByTotalDeadline()
    {
        var watch = Stopwatch.StartNew();
        var (_, result) = await ProbeScriptAsync(s => s
            .Wait(TimeSpan.FromMilliseconds(600))
            .Reply("220 mx.example.test")
            .Expect("EHLO")
            .Wait(TimeSpan.FromSeconds(5))
            .Reply("250 mx.example.test"), settings: Settings(commandSeconds: 3, totalSeconds: 1));

        Assert.Equal("no complete reply to EHLO within the probe's total limit of 1 s", result.Error);
        Assert.Equal(SmtpProbeStage.Ehlo, result.ReachedStage);
        Assert.InRange(watch.Elapsed, TimeSpan.FromMilliseconds(900), TimeSpan.FromSeconds(3));
    }

    [Fact]
    public async Task ProbeAsync_DefaultLimitsOnInjectedClock_GreetingDeadlineIs30Seconds()
    {
        await using var server = ScriptedSmtpServer.Start(s => s.Stall());
        var time = new FakeTimeProvider();
        var probe = new SmtpTlsProbe(new SmtpProbeSettings { EhloName = "probe.example.test" }, time);

        var task = probe.ProbeAsync(server.EndPoint, MxName, Ct);
        var watch = Stopwatch.StartNew();
        while (!task.IsCompleted && watch.Elapsed < TimeSpan.FromSeconds(20))
        {
            await Task.Delay(10, Ct);
            time.Advance(TimeSpan.FromSeconds(1));
        }
        var result = await task;

        Assert.Equal("no greeting within 30 s", result.Error);
        Assert.InRange(result.Elapsed, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(35));
    }

    [Fact]
    public async Task ProbeAsync_ServerClosesMidEhloReply_ErrorAtEhloWithWhatWasSeen()
    {
        var (_, result) = await ProbeScriptAsync(s => s
            .Reply("220 mx.example.test")
            .Expect("EHLO")
            .Send("250-mx.example.test\r\n250-PIPEL")
            .Close());

        Assert.Equal(SmtpProbeStage.Ehlo, result.ReachedStage);
        Assert.Equal("connection closed by the server after \"250-mx.example.test\\n250-PIPEL\", while waiting for the complete reply to EHLO", result.Error);
        Assert.False(result.StartTlsOffered);
    }

    [Fact]
    public async Task ProbeAsync_OverlongReplyLine_ProtocolError()
    {
        var (_, result) = await ProbeScriptAsync(s => s.Reply("220 " + new string('x', 5000)).Stall());

        Assert.Equal(SmtpProbeStage.Greeting, result.ReachedStage);
        Assert.NotNull(result.Error);
        Assert.StartsWith("reply line longer than 4096 bytes (it starts \"220 xxx", result.Error, StringComparison.Ordinal);
        Assert.EndsWith(", while waiting for the greeting", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ProbeAsync_EndlessMultiLineReply_ProtocolError()
    {
        var (_, result) = await ProbeScriptAsync(s => s
            .Reply("220 mx.example.test")
            .Expect("EHLO")
            .Send(string.Concat(Enumerable.Repeat("250-X\r\n", 1000)))
            .Stall());

        Assert.Equal("reply has more than 128 lines, while waiting for the complete reply to EHLO", result.Error);
    }

    [Fact]
    public async Task ProbeAsync_MalformedGreeting_ProtocolError()
    {
        var (_, result) = await ProbeScriptAsync(s => s.Reply("SSH-2.0-OpenSSH_9.6").Stall());

        Assert.Equal("malformed reply line \"SSH-2.0-OpenSSH_9.6\", while waiting for the greeting", result.Error);
    }

    [Fact]
    public async Task ProbeAsync_BytesAfterStartTls220_StopsBeforeHandshake()
    {
        var (server, result) = await ProbeScriptAsync(s => UpToStartTls(s)
            .Send("220 go ahead\r\n250 injected\r\n")
            .Stall());

        Assert.Equal(SmtpProbeStage.StartTls, result.ReachedStage);
        Assert.NotNull(result.Error);
        Assert.StartsWith("server sent 14 bytes after its 220 reply to STARTTLS", result.Error, StringComparison.Ordinal);
        Assert.False(server.ClientHelloSeen);
    }

    [Fact]
    public async Task ProbeAsync_ServerAbortsTlsHandshake_ErrorAtTlsHandshake()
    {
        var (server, result) = await ProbeScriptAsync(s => UpToStartTls(s)
            .Reply("220 go ahead")
            .AbortTls());

        Assert.Equal(SmtpProbeStage.TlsHandshake, result.ReachedStage);
        Assert.True(result.StartTlsOffered);
        Assert.False(result.TlsEstablished);
        Assert.NotNull(result.Error);
        Assert.StartsWith("TLS handshake failed: ", result.Error, StringComparison.Ordinal);
        Assert.Empty(result.PresentedChain);
        await server.Completion;
    }

    [Fact]
    public async Task ProbeAsync_ServerNeverAnswersClientHello_HandshakeDeadline()
    {
        var (_, result) = await ProbeScriptAsync(s => UpToStartTls(s).Reply("220 go ahead").Stall(), settings: Settings(commandSeconds: 0.5));

        Assert.Equal(SmtpProbeStage.TlsHandshake, result.ReachedStage);
        Assert.Equal("no completed TLS handshake within 0.5 s", result.Error);
    }

    [Fact]
    public async Task ProbeAsync_PortClosed_ErrorAtConnect()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var endpoint = (IPEndPoint)listener.LocalEndpoint;
        listener.Stop();

        var result = await Probe().ProbeAsync(endpoint, MxName, Ct);

        Assert.Equal(SmtpProbeStage.Connect, result.ReachedStage);
        Assert.NotNull(result.Error);
        Assert.StartsWith($"cannot connect to {endpoint}: ConnectionRefused", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ProbeAsync_ConnectNeverCompletes_ErrorAtConnectWithinDeadline()
    {
        // A listener that never accepts, with its backlog filled: the kernel drops further SYNs, so connect hangs.
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var endpoint = (IPEndPoint)listener.LocalEndPoint!;
        var fillers = new List<Socket>();
        try
        {
            var pending = false;
            for (var i = 0; i < 64 && !pending; i++)
            {
                var filler = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                fillers.Add(filler);
                var connect = filler.ConnectAsync(endpoint, Ct).AsTask();
                pending = await Task.WhenAny(connect, Task.Delay(300, Ct)) != connect;
            }
            Assert.True(pending, "could not fill the listen backlog; this kernel accepts every SYN");
            var watch = Stopwatch.StartNew();

            var result = await Probe(Settings() with { ConnectTimeout = TimeSpan.FromSeconds(0.3) }).ProbeAsync(endpoint, MxName, Ct);

            Assert.Equal(SmtpProbeStage.Connect, result.ReachedStage);
            Assert.Equal($"no TCP connection to {endpoint} within 0.3 s", result.Error);
            Assert.InRange(watch.Elapsed, TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(4));
        }
        finally
        {
            fillers.ForEach(f => f.Dispose());
        }
    }

    [Fact]
    public async Task ProbeAsync_CallerCancelsWhileWaiting_Throws()
    {
        await using var server = ScriptedSmtpServer.Start(s => s.Stall());
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        cts.CancelAfter(TimeSpan.FromMilliseconds(200));
        var watch = Stopwatch.StartNew();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Probe().ProbeAsync(server.EndPoint, MxName, cts.Token));

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(4), $"took {watch.Elapsed}");
    }

    [Fact]
    public async Task ProbeAsync_CallerCancelsDuringHandshake_Throws()
    {
        await using var server = ScriptedSmtpServer.Start(s => UpToStartTls(s).Reply("220 go ahead").Stall());
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        cts.CancelAfter(TimeSpan.FromMilliseconds(300));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Probe().ProbeAsync(server.EndPoint, MxName, cts.Token));
    }

    [Fact]
    public async Task ProbeAsync_AlreadyCancelled_Throws()
    {
        await using var server = ScriptedSmtpServer.Start(s => s.Reply("220 mx.example.test").Stall());

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Probe().ProbeAsync(server.EndPoint, MxName, new CancellationToken(canceled: true)));
    }

    [Fact]
    public void Constructor_InvalidSettings_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new SmtpTlsProbe(new SmtpProbeSettings { CommandTimeout = TimeSpan.Zero }, TimeProvider.System));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SmtpTlsProbe(new SmtpProbeSettings { MaxLineBytes = 100 }, TimeProvider.System));
        Assert.Throws<ArgumentException>(() => new SmtpTlsProbe(new SmtpProbeSettings { EhloName = "a\r\nMAIL FROM:<x>" }, TimeProvider.System));
    }

    [Fact]
    public void Settings_Defaults_MatchTheContract()
    {
        var settings = new SmtpProbeSettings();

        Assert.Equal(TimeSpan.FromSeconds(10), settings.ConnectTimeout);
        Assert.Equal(TimeSpan.FromSeconds(30), settings.CommandTimeout);
        Assert.Equal(TimeSpan.FromSeconds(60), settings.TotalTimeout);
        Assert.Equal(4096, settings.MaxLineBytes);
        Assert.True(settings.EhloName == SmtpProbeSettings.FallbackEhloName || SmtpProbeSettings.IsFullyQualified(settings.EhloName, out _), settings.EhloName);
    }
}
