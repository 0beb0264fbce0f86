using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Rampart.Lab;

/// <summary>
/// The attacker: a TCP man-in-the-middle on the address of every MX host whose scenario says
/// <c>mx.mitm = yes</c>; the real receiver of that host listens on a backend address (127.0.3.x,
/// STATE/mitm/table.tsv: LISTEN BACKEND HOST, written by lab/up). The mode is read per connection from
/// STATE/mitm/mode/LISTEN-ADDRESS (missing or empty = <c>pass</c>), so a test switches it without a restart:
/// <list type="bullet">
/// <item><c>pass</c>: a transparent TCP relay.</item>
/// <item><c>strip</c>: removes STARTTLS from the EHLO reply (answers a STARTTLS command itself with 454),
/// forwards the rest, and records every byte the client sends in clear.</item>
/// <item><c>forge</c>: answers STARTTLS itself with a self-signed certificate for the MX host name, then relays
/// the decrypted session to the real MX in clear, recording what it decrypted.</item>
/// <item><c>spoof</c>: the target of a forged DNS answer (an MX or A record of an unsigned zone pointed at this
/// address): the attacker is the whole SMTP server, never contacts the backend, offers STARTTLS with a self-signed
/// certificate for the name the client asks for (SNI; the table's host name without SNI) and accepts any message,
/// recording everything it received (decrypted).</item>
/// </list>
/// What the client sent (plaintext, or decrypted) goes to STATE/mitm/capture/HOST/TIME-N.txt; one <c>close</c>
/// line per connection in the log (mode, client, tls-fail reason, client commands, bytes captured).
/// </summary>
internal static class MitmCommand
{
    public static async Task<int> RunAsync(CommandLine options)
    {
        var state = options.Required("state");
        var table = options.Optional("table") ?? Path.Combine(state, "mitm", "table.tsv");
        var port = int.Parse(options.Optional("port") ?? "25", CultureInfo.InvariantCulture);
        var pidFile = options.Optional("pid-file");
        using var log = new LabLog(options.Optional("log") ?? Path.Combine(state, "log", "mitm.log"));
        using var cts = new CancellationTokenSource();
        var listeners = new List<Socket>();
        var modeDir = Path.Combine(state, "mitm", "mode");
        var captureDir = Path.Combine(state, "mitm", "capture");
        Directory.CreateDirectory(modeDir);
        foreach (var line in File.ReadAllLines(table))
        {
            if (line.StartsWith('#') || string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            var f = line.Split('\t');
            if (f.Length < 3)
            {
                throw new LabException($"{table}: expected LISTEN BACKEND HOST, got '{line}'");
            }

            var listen = IPAddress.Parse(f[0]);
            var backend = new IPEndPoint(IPAddress.Parse(f[1]), port);
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            socket.Bind(new IPEndPoint(listen, port));
            socket.Listen(256);
            listeners.Add(socket);
            var relay = new MitmRelay(listen, backend, f[2], Path.Combine(modeDir, f[0]), Path.Combine(captureDir, f[2]), log);
            _ = Task.Run(() => relay.AcceptLoopAsync(socket, cts.Token), CancellationToken.None);
            log.Write($"listen {listen}:{port} host={f[2]} backend={backend}");
        }

        using var signals = LabSignals.StopOn(cts, log);
        log.Write($"ready pid {Environment.ProcessId}");
        if (pidFile is not null)
        {
            await File.WriteAllTextAsync(pidFile, $"{Environment.ProcessId}\n", CancellationToken.None);
        }

        try
        {
            await Task.Delay(Timeout.Infinite, cts.Token);
        }
        catch (OperationCanceledException)
        {
        }

        foreach (var s in listeners)
        {
            s.Dispose();
        }

        if (pidFile is not null)
        {
            File.Delete(pidFile);
        }

        return 0;
    }
}

internal sealed class MitmRelay(IPAddress listen, IPEndPoint backend, string host, string modeFile, string captureDir, LabLog log)
{
    private static int s_counter;
    private readonly Lazy<X509Certificate2> _forged = new(() => Forge(host));
    private readonly ConcurrentDictionary<string, X509Certificate2> _spoofed = new(StringComparer.OrdinalIgnoreCase);

    public async Task AcceptLoopAsync(Socket listener, CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptAsync(stopping);
            }
            catch (Exception) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException)
            {
                continue;
            }

            _ = Task.Run(() => HandleAsync(client, stopping), CancellationToken.None);
        }
    }

    private string Mode()
    {
        try
        {
            var m = File.ReadAllText(modeFile).Trim();
            return m.Length == 0 ? "pass" : m;
        }
        catch (IOException)
        {
            return "pass";
        }
    }

    private async Task HandleAsync(Socket clientSocket, CancellationToken stopping)
    {
        var mode = Mode();
        using var session = new MitmSession(mode, clientSocket.RemoteEndPoint?.ToString() ?? "-");
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        cts.CancelAfter(TimeSpan.FromSeconds(120));
        var end = "eof";
        try
        {
            using var _ = clientSocket;
            await using var clientStream = new NetworkStream(clientSocket, ownsSocket: false);
            session.Client = clientStream;
            if (mode == "spoof")
            {
                end = await SpoofAsync(session, cts.Token);
                return;
            }

            using var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await server.ConnectAsync(backend, cts.Token);
            await using var serverStream = new NetworkStream(server, ownsSocket: false);
            if (mode == "pass")
            {
                var up = CopyAsync(clientStream, serverStream, session, cts.Token);
                var down = serverStream.CopyToAsync(clientStream, cts.Token);
                await Task.WhenAny(up, down);
            }
            else if (mode is "strip" or "forge")
            {
                var down = ServerToClientAsync(new MitmLineReader(serverStream), session, cts.Token);
                var up = ClientToServerAsync(session, serverStream, cts.Token);
                await Task.WhenAny(up, down);
            }
            else
            {
                end = $"error(unknown mode '{mode}')";
            }
        }
        catch (OperationCanceledException)
        {
            end = "timeout";
        }
        catch (Exception e) when (e is IOException or SocketException or AuthenticationException or ObjectDisposedException)
        {
            end = session.TlsFail is null ? $"error({e.GetType().Name}: {e.Message.ReplaceLineEndings(" ")})" : "tls-fail";
        }
        finally
        {
            var file = "-";
            if (session.Captured.Length > 0)
            {
                Directory.CreateDirectory(captureDir);
                file = Path.Combine(captureDir, $"{DateTime.UtcNow:yyyyMMdd'T'HHmmss.fff'Z'}-{Interlocked.Increment(ref s_counter)}.txt");
                await File.WriteAllBytesAsync(file, session.Captured.ToArray(), CancellationToken.None);
            }

            log.Write($"close mode={mode} host={host} local={listen} client={session.Peer} tls={(session.Tls ? "forged" : "no")} sni={session.Sni ?? "-"} " +
                      $"tls-fail=\"{session.TlsFail ?? "-"}\" data={(session.SawData ? "yes" : "no")} captured={session.Captured.Length} file={file} " +
                      $"end={end} commands=\"{string.Join(' ', session.Commands)}\"");
        }
    }

    private static async Task CopyAsync(Stream from, Stream to, MitmSession session, CancellationToken ct)
    {
        var buffer = new byte[16384];
        int n;
        while ((n = await from.ReadAsync(buffer, ct)) > 0)
        {
            session.Captured.Write(buffer, 0, n);
            await to.WriteAsync(buffer.AsMemory(0, n), ct);
        }
    }

    /// <summary>Server replies, line by line; in strip mode the STARTTLS capability is removed from multi-line replies.</summary>
    private static async Task ServerToClientAsync(MitmLineReader server, MitmSession session, CancellationToken ct)
    {
        var reply = new List<string>();
        while (await server.ReadLineAsync(ct) is { } line)
        {
            reply.Add(line);
            if (line.Length >= 4 && line[3] == '-')
            {
                continue; // more lines of this reply follow
            }

            if (session.Mode == "strip")
            {
                var code = reply[0][..Math.Min(3, reply[0].Length)];
                reply.RemoveAll(l => l.Length > 4 && l[4..].Trim().Equals("STARTTLS", StringComparison.OrdinalIgnoreCase));
                if (reply.Count == 0)
                {
                    reply.Add(code + " ok");
                }

                for (var i = 0; i < reply.Count; i++)
                {
                    var sep = i == reply.Count - 1 ? ' ' : '-';
                    reply[i] = reply[i].Length >= 4 ? string.Concat(reply[i].AsSpan(0, 3), sep.ToString(), reply[i].AsSpan(4)) : reply[i];
                }
            }

            await session.WriteToClientAsync(string.Concat(reply.Select(l => l + "\r\n")), ct);
            reply.Clear();
        }
    }

    /// <summary>Client commands: recorded; STARTTLS answered by the MitM (454 in strip, its own TLS in forge).</summary>
    private async Task ClientToServerAsync(MitmSession session, Stream server, CancellationToken ct)
    {
        var reader = new MitmLineReader(session.Client!);
        var inData = false;
        while (await reader.ReadLineRawAsync(ct) is { } raw)
        {
            session.Captured.Write(raw);
            var line = Encoding.ASCII.GetString(raw).TrimEnd('\r', '\n');
            if (inData)
            {
                inData = line != ".";
                await server.WriteAsync(raw, ct);
                continue;
            }

            var verb = line.Split(' ', 2)[0].ToUpperInvariant();
            session.Commands.Add(verb);
            if (verb == "STARTTLS")
            {
                if (session.Mode == "strip")
                {
                    await session.WriteToClientAsync("454 4.7.0 TLS not available\r\n", ct);
                    continue;
                }

                // forge: the MitM terminates TLS itself; the real MX never sees the STARTTLS
                reader = new MitmLineReader(await StartTlsAsync(session, _ => _forged.Value, ct));
                continue;
            }

            if (verb == "DATA")
            {
                session.SawData = true;
                inData = true;
            }

            await server.WriteAsync(raw, ct);
        }
    }

    /// <summary>Answers STARTTLS with 220 and takes the server side of the handshake; the returned stream carries the rest.</summary>
    private static async Task<SslStream> StartTlsAsync(MitmSession session, Func<string?, X509Certificate2> certificateFor, CancellationToken ct)
    {
        var ssl = new SslStream(session.Client!, leaveInnerStreamOpen: true);
        await session.WriteToClientAsync("220 2.0.0 Ready to start TLS\r\n", ct, ssl);
        try
        {
            using var hs = CancellationTokenSource.CreateLinkedTokenSource(ct);
            hs.CancelAfter(TimeSpan.FromSeconds(15));
            await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
            {
                ServerCertificateSelectionCallback = (_, sni) =>
                {
                    session.Sni = string.IsNullOrEmpty(sni) ? null : sni;
                    return certificateFor(session.Sni);
                },
                EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
            }, hs.Token);
        }
        catch (Exception e) when (e is AuthenticationException or IOException or OperationCanceledException)
        {
            session.TlsFail = (e.InnerException?.Message ?? e.Message).ReplaceLineEndings(" ").Replace('"', '\'');
            throw new AuthenticationException(session.TlsFail, e);
        }

        session.Tls = true;
        return ssl;
    }

    /// <summary>
    /// The spoofed MX: a complete (minimal) SMTP server of the attacker's own. STARTTLS gets a self-signed certificate
    /// for the SNI name (the name the sender believes it reached); every message is accepted and kept as captured.
    /// </summary>
    private async Task<string> SpoofAsync(MitmSession session, CancellationToken ct)
    {
        var reader = new MitmLineReader(session.Client!);
        await session.WriteToClientAsync($"220 {host} ESMTP\r\n", ct);
        var inData = false;
        while (await reader.ReadLineRawAsync(ct) is { } raw)
        {
            session.Captured.Write(raw);
            var line = Encoding.ASCII.GetString(raw).TrimEnd('\r', '\n');
            if (inData)
            {
                if (line == ".")
                {
                    inData = false;
                    await session.WriteToClientAsync("250 2.0.0 Ok: queued by the attacker\r\n", ct);
                }

                continue;
            }

            var verb = line.Split(' ', 2)[0].ToUpperInvariant();
            session.Commands.Add(verb);
            switch (verb)
            {
                case "EHLO":
                    await session.WriteToClientAsync($"250-{host}\r\n250-PIPELINING\r\n250-8BITMIME\r\n" + (session.Tls ? "" : "250-STARTTLS\r\n") + "250 ENHANCEDSTATUSCODES\r\n", ct);
                    break;
                case "STARTTLS" when !session.Tls:
                    reader = new MitmLineReader(await StartTlsAsync(session, sni => _spoofed.GetOrAdd(sni ?? host, Forge), ct));
                    break;
                case "DATA":
                    session.SawData = true;
                    inData = true;
                    await session.WriteToClientAsync("354 End data with <CR><LF>.<CR><LF>\r\n", ct);
                    break;
                case "QUIT":
                    await session.WriteToClientAsync("221 2.0.0 Bye\r\n", ct);
                    return "quit";
                case "HELO" or "MAIL" or "RCPT" or "RSET" or "NOOP":
                    await session.WriteToClientAsync("250 2.0.0 Ok\r\n", ct);
                    break;
                default:
                    await session.WriteToClientAsync("502 5.5.2 Not implemented\r\n", ct);
                    break;
            }
        }

        return "eof";
    }

    private static X509Certificate2 Forge(string host)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var req = new CertificateRequest($"CN={host}, O=Rampart Lab MitM", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(host);
        req.CertificateExtensions.Add(san.Build());
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        using var cert = req.CreateSelfSigned(DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(90));
        return X509CertificateLoader.LoadPkcs12(cert.Export(X509ContentType.Pfx), null);
    }
}

/// <summary>One relayed connection: what the client sent, and where replies to it go (plain, then TLS after a forge).</summary>
internal sealed class MitmSession(string mode, string peer) : IDisposable
{
    private readonly SemaphoreSlim _write = new(1, 1);
    private Stream? _toClient;

    public string Mode { get; } = mode;
    public string Peer { get; } = peer;
    public Stream? Client { get; set; }
    public MemoryStream Captured { get; } = new();
    public List<string> Commands { get; } = [];
    public bool SawData { get; set; }
    public bool Tls { get; set; }
    public string? TlsFail { get; set; }
    public string? Sni { get; set; }

    public void Dispose()
    {
        _write.Dispose();
        Captured.Dispose();
    }

    /// <summary>Writes to the client; with <paramref name="switchTo"/> every later write goes there (after STARTTLS).</summary>
    public async Task WriteToClientAsync(string text, CancellationToken ct, Stream? switchTo = null)
    {
        await _write.WaitAsync(ct);
        try
        {
            await (_toClient ?? Client!).WriteAsync(Encoding.ASCII.GetBytes(text), ct);
            if (switchTo is not null)
            {
                _toClient = switchTo;
            }
        }
        finally
        {
            _write.Release();
        }
    }
}

/// <summary>LF-terminated lines from a stream, bounded; the raw bytes are kept for a faithful relay.</summary>
internal sealed class MitmLineReader(Stream stream)
{
    private readonly byte[] _buffer = new byte[16384];
    private int _start;
    private int _end;

    public async Task<byte[]?> ReadLineRawAsync(CancellationToken ct)
    {
        var line = new MemoryStream();
        while (true)
        {
            if (_start == _end)
            {
                _start = 0;
                _end = await stream.ReadAsync(_buffer, ct);
                if (_end == 0)
                {
                    return line.Length > 0 ? line.ToArray() : null;
                }
            }

            var lf = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
            var stop = lf < 0 ? _end : lf + 1;
            line.Write(_buffer, _start, stop - _start);
            _start = stop;
            if (lf >= 0 || line.Length > 65536)
            {
                return line.ToArray();
            }
        }
    }

    public async Task<string?> ReadLineAsync(CancellationToken ct) =>
        await ReadLineRawAsync(ct) is { } raw ? Encoding.ASCII.GetString(raw).TrimEnd('\r', '\n') : null;
}
