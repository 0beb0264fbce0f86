using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Rampart.Core.Smtp;

/// <summary>
/// Asks one SMTP server for STARTTLS (RFC 3207) and records what it presents, with a small client of its own so that
/// every step and every failure is explicit: connect, 220 greeting, EHLO (HELO if EHLO is refused, and then there is
/// no STARTTLS), STARTTLS, TLS handshake, then QUIT. It never sends mail and never judges the certificate: DANE and
/// WebPKI checks run later on <see cref="SmtpTlsProbeResult.PresentedChain"/>.
/// </summary>
/// <remarks>
/// Outcomes are values: a refused greeting, a missing STARTTLS, a 454, a failed handshake, a timeout or a protocol
/// violation all come back as a <see cref="SmtpTlsProbeResult"/> whose <see cref="SmtpTlsProbeResult.Error"/> names the
/// stage and what the server sent. Only cancellation by the caller throws (<see cref="OperationCanceledException"/>).
/// Deadlines run on the injected <see cref="TimeProvider"/>; when one passes, the socket is closed, which is what stops
/// a read that a dripping server keeps alive.
/// </remarks>
public sealed class SmtpTlsProbe : ISmtpTlsProbe
{
    /// <summary>QUIT is a courtesy: it never waits longer than this, nor longer than <see cref="SmtpProbeSettings.CommandTimeout"/>.</summary>
    internal static readonly TimeSpan QuitTimeout = TimeSpan.FromSeconds(2);

    private readonly SmtpProbeSettings _settings;
    private readonly TimeProvider _time;

    public SmtpTlsProbe(SmtpProbeSettings settings, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(time);
        settings.Validate();
        _settings = settings;
        _time = time;
    }

    /// <summary>Probes <paramref name="endpoint"/>.</summary>
    /// <param name="endpoint">The MX address and port (25 for SMTP).</param>
    /// <param name="serverName">
    /// The name to send as SNI: for DANE, the TLSA base domain (RFC 7672 §8.1). It is normalised (lower case, no trailing
    /// dot, A-labels) because .NET would send a trailing dot as is. <c>null</c> sends no SNI at all.
    /// </param>
    /// <param name="cancellationToken">Caller cancellation; the only thing that makes this method throw.</param>
    /// <exception cref="ArgumentException"><paramref name="serverName"/> is not a host name (an IP literal, empty, bad syntax).</exception>
    public async Task<SmtpTlsProbeResult> ProbeAsync(IPEndPoint endpoint, string? serverName, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        var sni = NormalizeServerName(serverName);
        cancellationToken.ThrowIfCancellationRequested();
        using var run = new ProbeRun(_settings, _time, endpoint, sni, cancellationToken);
        return await run.ExecuteAsync().ConfigureAwait(false);
    }

    internal static string? NormalizeServerName(string? serverName)
    {
        if (serverName is null)
        {
            return null;
        }
        if (!DomainName.TryNormalize(serverName, out var name, out var error))
        {
            throw new ArgumentException($"SNI must be a host name or null: {error}", nameof(serverName));
        }
        return name;
    }

    /// <summary>
    /// The presented chain, leaf first, then the other certificates the server sent, ordered so that each is the issuer
    /// of the one before (subject = issuer, and SKI = AKI when both are present); certificates that fit nowhere on the
    /// path are kept at the end in the order they were sent, so nothing the server sent is lost. Duplicates of the leaf
    /// or of each other are dropped.
    /// </summary>
    internal static List<X509Certificate2> OrderPresentedChain(X509Certificate2 leaf, IEnumerable<X509Certificate2> sent)
    {
        var remaining = new List<X509Certificate2>();
        foreach (var cert in sent)
        {
            if (!leaf.RawDataMemory.Span.SequenceEqual(cert.RawDataMemory.Span)
                && !remaining.Any(r => r.RawDataMemory.Span.SequenceEqual(cert.RawDataMemory.Span)))
            {
                remaining.Add(cert);
            }
        }
        var ordered = new List<X509Certificate2> { leaf };
        var current = leaf;
        while (remaining.Count > 0 && !IsSelfIssued(current))
        {
            var issuers = remaining.Where(c => c.SubjectName.RawData.AsSpan().SequenceEqual(current.IssuerName.RawData)).ToList();
            if (issuers.Count == 0)
            {
                break;
            }
            var authorityKeyId = current.Extensions.OfType<X509AuthorityKeyIdentifierExtension>().FirstOrDefault()?.KeyIdentifier;
            var issuer = authorityKeyId is { } aki
                ? issuers.FirstOrDefault(c => c.Extensions.OfType<X509SubjectKeyIdentifierExtension>().FirstOrDefault()?.SubjectKeyIdentifierBytes.Span.SequenceEqual(aki.Span) == true)
                    ?? issuers[0]
                : issuers[0];
            remaining.Remove(issuer);
            ordered.Add(issuer);
            current = issuer;
        }
        ordered.AddRange(remaining);
        return ordered;
    }

    private static bool IsSelfIssued(X509Certificate2 cert) => cert.SubjectName.RawData.AsSpan().SequenceEqual(cert.IssuerName.RawData);

    /// <summary>
    /// Copies the certificates out of the validation callback (the runtime disposes the chain once it returns). On Linux
    /// (OpenSSL) <c>chain.ChainPolicy.ExtraStore</c> holds exactly what the server sent, in wire order, leaf included;
    /// <c>chain.ChainElements</c> would instead be the path the runtime built, which may add certificates from the local
    /// store and drop sent ones that are off the path.
    /// </summary>
    private static List<X509Certificate2> CopyPresentedChain(X509Certificate? certificate, X509Chain? chain)
    {
        if (certificate is null)
        {
            return [];
        }
        var leaf = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        var sent = chain?.ChainPolicy.ExtraStore.Select(c => X509CertificateLoader.LoadCertificate(c.RawDataMemory.Span)).ToList() ?? [];
        return OrderPresentedChain(leaf, sent);
    }

    /// <summary>One probe's state; lives for one <see cref="ProbeAsync"/> call.</summary>
    private sealed class ProbeRun : IDisposable
    {
        private readonly SmtpProbeSettings _settings;
        private readonly TimeProvider _time;
        private readonly IPEndPoint _endpoint;
        private readonly string? _sni;
        private readonly CancellationToken _callerToken;
        private readonly long _started;
        private readonly CancellationTokenSource _totalTimer;
        private readonly Socket _socket;

        private SmtpProbeStage _stage = SmtpProbeStage.Connect;
        private string _waitingFor = "TCP connection";
        private Step? _step;
        private string? _expired;
        private string? _banner;
        private readonly List<string> _keywords = [];
        private bool _startTlsOffered;
        private SslProtocols? _protocol;
        private string? _cipherSuite;
        private List<X509Certificate2> _presented = [];

        public ProbeRun(SmtpProbeSettings settings, TimeProvider time, IPEndPoint endpoint, string? sni, CancellationToken callerToken)
        {
            _settings = settings;
            _time = time;
            _endpoint = endpoint;
            _sni = sni;
            _callerToken = callerToken;
            _started = time.GetTimestamp();
            _totalTimer = new CancellationTokenSource(settings.TotalTimeout, time);
            _socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        }

        public async Task<SmtpTlsProbeResult> ExecuteAsync()
        {
            SmtpReplyReader? reader = null;
            Stream? stream = null;
            try
            {
                var token = Begin(SmtpProbeStage.Connect, _settings.ConnectTimeout, $"TCP connection to {_endpoint}");
                try
                {
                    await _socket.ConnectAsync(_endpoint, token).ConfigureAwait(false);
                }
                catch (SocketException ex) when (Expired() is null && !_callerToken.IsCancellationRequested)
                {
                    return Result($"cannot connect to {_endpoint}: {ex.SocketErrorCode} ({ex.Message})");
                }
                stream = new NetworkStream(_socket, ownsSocket: false);
                reader = new SmtpReplyReader(stream, _settings.MaxLineBytes);

                token = Begin(SmtpProbeStage.Greeting, _settings.CommandTimeout, "greeting");
                var greeting = await reader.ReadReplyAsync(token).ConfigureAwait(false);
                _banner = string.Join("\n", greeting.Lines);
                if (greeting.Code != 220)
                {
                    // RFC 5321 §3.1: after a 554 greeting the client should still send QUIT; a 421 closes anyway.
                    await QuitAsync(stream, reader).ConfigureAwait(false);
                    return Result(greeting.Code >= 400
                        ? $"server refused the session in its greeting: {greeting}"
                        : $"server greeted with {greeting}; a greeting must be 220 (RFC 5321 §4.2)");
                }

                token = Begin(SmtpProbeStage.Ehlo, _settings.CommandTimeout, "complete reply to EHLO");
                var ehlo = await CommandAsync(stream, reader, $"EHLO {_settings.EhloName}", token).ConfigureAwait(false);
                if (ehlo.Code is >= 500 and < 600)
                {
                    // RFC 5321 §3.2: a server that does not know EHLO gets HELO. Without EHLO there are no
                    // extensions, so STARTTLS is not available (RFC 3207 §4).
                    token = Begin(SmtpProbeStage.Ehlo, _settings.CommandTimeout, "complete reply to HELO");
                    var helo = await CommandAsync(stream, reader, $"HELO {_settings.EhloName}", token).ConfigureAwait(false);
                    await QuitAsync(stream, reader).ConfigureAwait(false);
                    return Result(helo.Code == 250 ? null : $"server refused EHLO ({ehlo}) and HELO ({helo})");
                }
                if (ehlo.Code != 250)
                {
                    await QuitAsync(stream, reader).ConfigureAwait(false);
                    return Result($"server answered {ehlo} to EHLO");
                }
                // RFC 5321 §4.1.1.1: the first line is the server's name and greeting; each further line is one
                // extension: a keyword, then its parameters.
                foreach (var line in ehlo.Lines.Skip(1))
                {
                    var keyword = line.Split(' ', 2, StringSplitOptions.TrimEntries)[0].ToUpperInvariant();
                    if (keyword.Length > 0 && !_keywords.Contains(keyword))
                    {
                        _keywords.Add(keyword);
                    }
                }
                _startTlsOffered = _keywords.Contains("STARTTLS");
                if (!_startTlsOffered)
                {
                    await QuitAsync(stream, reader).ConfigureAwait(false);
                    return Result(null);
                }

                token = Begin(SmtpProbeStage.StartTls, _settings.CommandTimeout, "complete reply to STARTTLS");
                var startTls = await CommandAsync(stream, reader, "STARTTLS", token).ConfigureAwait(false);
                if (startTls.Code != 220)
                {
                    await QuitAsync(stream, reader).ConfigureAwait(false);
                    return Result($"server answered {startTls} to STARTTLS");
                }
                if (reader.BufferedByteCount > 0)
                {
                    // Nothing may come between the 220 and the ClientHello; bytes that do were sent (or injected) in
                    // plaintext and must not be carried into the TLS session (CVE-2011-0411 class). Stop, don't guess.
                    return Result($"server sent {reader.BufferedByteCount} bytes after its 220 reply to STARTTLS, before the TLS handshake: plaintext that must not be carried into TLS (STARTTLS injection, CVE-2011-0411); the probe stops");
                }

                token = Begin(SmtpProbeStage.TlsHandshake, _settings.CommandTimeout, "completed TLS handshake");
                var tls = new SslStream(stream, leaveInnerStreamOpen: true);
                await using var tlsScope = tls.ConfigureAwait(false);
                try
                {
                    await tls.AuthenticateAsClientAsync(ClientOptions(), token).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is AuthenticationException or IOException or SocketException && Expired() is null && !_callerToken.IsCancellationRequested)
                {
                    return Result($"TLS handshake failed: {Describe(ex)}");
                }
                _protocol = tls.SslProtocol;
                _cipherSuite = tls.NegotiatedCipherSuite.ToString();
                _stage = SmtpProbeStage.Done;
                await QuitAsync(tls, new SmtpReplyReader(tls, _settings.MaxLineBytes)).ConfigureAwait(false);
                return Result(null);
            }
            catch (Exception) when (_callerToken.IsCancellationRequested)
            {
                _callerToken.ThrowIfCancellationRequested();
                throw;
            }
            catch (Exception) when (Expired() is { } expired)
            {
                var seen = reader?.ReceivedSoFar;
                return Result(expired + (string.IsNullOrEmpty(seen) ? "" : $" (received so far: \"{seen}\")"));
            }
            catch (SmtpProtocolViolation ex)
            {
                return Result($"{ex.Message}, while waiting for the {_waitingFor}");
            }
            catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
            {
                return Result($"connection failed while waiting for the {_waitingFor}: {Describe(ex)}");
            }
            catch (Exception ex)
            {
                return Result($"unexpected failure while waiting for the {_waitingFor}: {ex.GetType().Name}: {ex.Message}");
            }
        }

        private SslClientAuthenticationOptions ClientOptions() => new()
        {
            // An empty TargetHost makes .NET send no server_name extension at all (verified by test); so does an IP
            // literal, which NormalizeServerName rejects anyway.
            TargetHost = _sni ?? string.Empty,
            // Build the chain offline and trust nothing: this chain is only looked at, never believed, and a
            // hostile server must not be able to make the probe fetch AIA or CRL URLs.
            CertificateChainPolicy = new X509ChainPolicy
            {
                TrustMode = X509ChainTrustMode.CustomRootTrust,
                DisableCertificateDownloads = true,
                RevocationMode = X509RevocationMode.NoCheck,
            },
#pragma warning disable CA5359 // A probe connection never carries mail: the certificate is copied here and judged elsewhere.
            RemoteCertificateValidationCallback = AcceptAndCopy,
#pragma warning restore CA5359
        };

        /// <summary>
        /// Accepts any certificate: this connection only looks, it never carries mail (STYLE §7); the verdict is made
        /// later by DANE or WebPKI code on the copies taken here.
        /// </summary>
        private bool AcceptAndCopy(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
        {
            _presented = CopyPresentedChain(certificate, chain);
            return true;
        }

        private static async Task<SmtpReply> CommandAsync(Stream stream, SmtpReplyReader reader, string command, CancellationToken token)
        {
            await stream.WriteAsync(Encoding.ASCII.GetBytes(command + "\r\n"), token).ConfigureAwait(false);
            await stream.FlushAsync(token).ConfigureAwait(false);
            return await reader.ReadReplyAsync(token).ConfigureAwait(false);
        }

        /// <summary>Best effort, short: send QUIT and wait briefly for the 221. Nothing that happens here changes the result.</summary>
        private async Task QuitAsync(Stream stream, SmtpReplyReader reader)
        {
            var limit = _settings.CommandTimeout < QuitTimeout ? _settings.CommandTimeout : QuitTimeout;
            try
            {
                var token = Begin(_stage, limit, "reply to QUIT");
                await CommandAsync(stream, reader, "QUIT", token).ConfigureAwait(false);
            }
            catch (Exception) when (!_callerToken.IsCancellationRequested)
            {
            }
        }

        /// <summary>
        /// Starts a step: its own limit and the total limit both apply; whichever passes first closes the socket and
        /// leaves a message that names the step.
        /// </summary>
        private CancellationToken Begin(SmtpProbeStage stage, TimeSpan limit, string waitingFor)
        {
            _step?.Dispose();
            _stage = stage;
            _waitingFor = waitingFor;
            _step = new Step(this, limit, waitingFor);
            return _step.Token;
        }

        private void OnDeadline(Step step)
        {
            if (!_callerToken.IsCancellationRequested)
            {
                Interlocked.CompareExchange(ref _expired, DeadlineMessage(step), null);
            }
            _socket.Dispose();
        }

        /// <summary>
        /// The deadline that stopped the probe, if one did. Cancellation callbacks run last-registered first, so the
        /// socket operation may see its cancellation before <see cref="OnDeadline"/> has run: the timers themselves
        /// are checked too (a source is marked cancelled before any of its callbacks run).
        /// </summary>
        private string? Expired() =>
            Volatile.Read(ref _expired)
            ?? (_step is { } step && !_callerToken.IsCancellationRequested && (step.Timer.IsCancellationRequested || _totalTimer.IsCancellationRequested)
                ? DeadlineMessage(step)
                : null);

        private string DeadlineMessage(Step step) => step.Timer.IsCancellationRequested
            ? $"no {step.WaitingFor} within {Seconds(step.Limit)}"
            : $"no {step.WaitingFor} within the probe's total limit of {Seconds(_settings.TotalTimeout)}";

        private static string Seconds(TimeSpan span) => $"{span.TotalSeconds:0.###} s";

        private static string Describe(Exception ex)
        {
            var message = ex.Message;
            for (var inner = ex.InnerException; inner is not null; inner = inner.InnerException)
            {
                message += $" ({inner.Message})";
            }
            return message;
        }

        /// <summary>The result so far; a cancelled caller gets its exception even when the probe had just finished.</summary>
        private SmtpTlsProbeResult Result(string? error)
        {
            _callerToken.ThrowIfCancellationRequested();
            return new(_endpoint, _stage, _startTlsOffered, _banner, _keywords.ToArray(), _protocol, _cipherSuite, _presented, error,
                _time.GetElapsedTime(_started));
        }

        public void Dispose()
        {
            _step?.Dispose();
            _totalTimer.Dispose();
            _socket.Dispose();
        }

        /// <summary>One step's deadline: the step limit linked with the total limit and the caller's token.</summary>
        private sealed class Step : IDisposable
        {
            private readonly CancellationTokenSource _linked;
            private readonly CancellationTokenRegistration _registration;

            private readonly ProbeRun _run;

            public Step(ProbeRun run, TimeSpan limit, string waitingFor)
            {
                _run = run;
                Limit = limit;
                WaitingFor = waitingFor;
                Timer = new CancellationTokenSource(limit, run._time);
                _linked = CancellationTokenSource.CreateLinkedTokenSource(run._callerToken, run._totalTimer.Token, Timer.Token);
                _registration = _linked.Token.Register(static s => ((Step)s!).Expire(), this);
            }

            public TimeSpan Limit { get; }

            public string WaitingFor { get; }

            public CancellationTokenSource Timer { get; }

            public CancellationToken Token => _linked.Token;

            private void Expire() => _run.OnDeadline(this);

            public void Dispose()
            {
                _registration.Dispose();
                _linked.Dispose();
                Timer.Dispose();
            }
        }
    }
}
