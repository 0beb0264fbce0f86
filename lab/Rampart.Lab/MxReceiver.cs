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

internal static class MxCommand
{
    public static async Task<int> RunAsync(CommandLine options)
    {
        var state = options.Required("state");
        var hostsFile = options.Optional("hosts") ?? Path.Combine(state, "mx", "hosts.tsv");
        var port = int.Parse(options.Optional("port") ?? "25", CultureInfo.InvariantCulture);
        var idle = TimeSpan.FromSeconds(int.Parse(options.Optional("idle-timeout") ?? "60", CultureInfo.InvariantCulture));
        var pidFile = options.Optional("pid-file");
        using var log = new LabLog(options.Optional("log") ?? Path.Combine(state, "log", "mx.log"));
        using var cts = new CancellationTokenSource();
        using var server = new MxServer(hostsFile, port, Path.Combine(state, "mail"), idle, log, cts.Token);
        server.Load(initial: true);

        using var hup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, c =>
        {
            c.Cancel = true;
            server.Load(initial: false);
        });
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

        if (pidFile is not null)
        {
            File.Delete(pidFile);
        }

        return 0;
    }
}

/// <summary>One MX host: its address, name, certificate (leaf + chain from STATE/pki/mx/HOST) and behaviour.</summary>
internal sealed record MxHost(IPAddress Address, string Name, string Domain, string CertVariant, bool StartTls, SslStreamCertificateContext? Tls);

/// <summary>
/// SMTP receivers for every MX host of the scenarios, in one process: one listener per address
/// (port 25), dispatching by the local address to the host's certificate and behaviour. The host
/// table (STATE/mx/hosts.tsv, written by lab/up) is re-read on SIGHUP: listeners are added and
/// removed, certificates reloaded.
/// </summary>
internal sealed class MxServer(string hostsFile, int port, string mailDir, TimeSpan idleTimeout, LabLog log, CancellationToken stopping) : IDisposable
{
    private const int MaxConnections = 1000;
    private readonly Lock _lock = new();
    private readonly Dictionary<IPAddress, (Socket Socket, CancellationTokenSource Cts)> _listeners = [];
    private volatile Dictionary<IPAddress, MxHost> _hosts = [];
    private int _connections;
    private long _connectionIds;
    private long _messageIds;

    public string MailDir => mailDir;

    public TimeSpan IdleTimeout => idleTimeout;

    public LabLog Log => log;

    /// <summary>Reads the host table and syncs the listeners. First load: errors are fatal; on SIGHUP they are logged.</summary>
    public void Load(bool initial)
    {
        lock (_lock)
        {
            try
            {
                var hosts = ReadHosts(hostsFile);
                foreach (var (addr, listener) in _listeners.ToList())
                {
                    if (!hosts.ContainsKey(addr))
                    {
                        listener.Cts.Cancel();
                        listener.Socket.Dispose();
                        _listeners.Remove(addr);
                        log.Write($"stopped listening on {addr}:{port}");
                    }
                }

                var bound = new List<IPAddress>();
                try
                {
                    foreach (var addr in hosts.Keys.Where(a => !_listeners.ContainsKey(a)))
                    {
                        var socket = new Socket(addr.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                        try
                        {
                            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
                            socket.Bind(new IPEndPoint(addr, port));
                            socket.Listen(512);
                        }
                        catch (SocketException e)
                        {
                            socket.Dispose();
                            throw new LabException($"cannot listen on {addr}:{port} ({hosts[addr].Name}): {e.Message}");
                        }

                        var cts = CancellationTokenSource.CreateLinkedTokenSource(stopping);
                        _listeners[addr] = (socket, cts);
                        bound.Add(addr);
                    }
                }
                catch
                {
                    foreach (var addr in bound)
                    {
                        _listeners[addr].Cts.Cancel();
                        _listeners[addr].Socket.Dispose();
                        _listeners.Remove(addr);
                    }

                    throw;
                }

                _hosts = hosts;
                foreach (var addr in bound)
                {
                    var (socket, cts) = _listeners[addr];
                    _ = Task.Run(() => AcceptLoopAsync(socket, cts.Token), CancellationToken.None);
                }

                log.Write($"loaded {hosts.Count} MX hosts from {hostsFile} (port {port}, {bound.Count} new listeners)");
            }
            catch (Exception e) when (!initial)
            {
                log.Write($"reload failed, keeping previous hosts: {e.Message}");
            }
        }
    }

    private static Dictionary<IPAddress, MxHost> ReadHosts(string file)
    {
        if (!File.Exists(file))
        {
            throw new LabException($"MX host table {file} not found (run lab/up)");
        }

        var hosts = new Dictionary<IPAddress, MxHost>();
        var lineNo = 0;
        foreach (var line in File.ReadLines(file))
        {
            lineNo++;
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            // address, host, domain, certificate dir, certificate variant, starttls yes|no
            var f = line.Split('\t');
            if (f.Length < 6 || !IPAddress.TryParse(f[0], out var addr))
            {
                throw new LabException($"{file}:{lineNo}: expected ADDR HOST DOMAIN CERTDIR VARIANT STARTTLS");
            }

            var startTls = f[5] == "yes";
            var tls = startTls ? LoadCertificate(f[3]) : null;
            if (!hosts.TryAdd(addr, new MxHost(addr, f[1], f[2], f[4], startTls, tls)))
            {
                throw new LabException($"{file}:{lineNo}: address {addr} given twice");
            }
        }

        return hosts;
    }

    /// <summary>key.pem + chain.pem (leaf first, then the intermediates the host sends).</summary>
    private static SslStreamCertificateContext LoadCertificate(string dir)
    {
        var chainPem = Path.Combine(dir, "chain.pem");
        var keyPem = Path.Combine(dir, "key.pem");
        if (!File.Exists(chainPem) || !File.Exists(keyPem))
        {
            throw new LabException($"certificate files missing in {dir} (run lab/up)");
        }

        var all = new X509Certificate2Collection();
        all.ImportFromPemFile(chainPem);
        if (all.Count == 0)
        {
            throw new LabException($"{chainPem} holds no certificate");
        }

        using var leafNoKey = all[0];
        var leaf = leafNoKey.CopyWithPrivateKey(LoadKey(keyPem));
        var chain = new X509Certificate2Collection();
        for (var i = 1; i < all.Count; i++)
        {
            chain.Add(all[i]);
        }

        return SslStreamCertificateContext.Create(leaf, chain, offline: true);
    }

    private static ECDsa LoadKey(string path)
    {
        var key = ECDsa.Create();
        key.ImportFromPem(File.ReadAllText(path));
        return key;
    }

    private async Task AcceptLoopAsync(Socket listener, CancellationToken ct)
    {
        log.Write($"listening on {listener.LocalEndPoint}");
        while (!ct.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptAsync(ct);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                break;
            }
            catch (SocketException e)
            {
                log.Write($"accept failed on {listener.LocalEndPoint}: {e.Message}");
                await Task.Delay(100, CancellationToken.None);
                continue;
            }

            _ = Task.Run(() => HandleAsync(socket), CancellationToken.None);
        }
    }

    private async Task HandleAsync(Socket socket)
    {
        var id = Interlocked.Increment(ref _connectionIds);
        var count = Interlocked.Increment(ref _connections);
        try
        {
            socket.NoDelay = true;
            var local = socket.LocalEndPoint as IPEndPoint;
            var remote = socket.RemoteEndPoint?.ToString() ?? "?";
            if (local is null || !_hosts.TryGetValue(local.Address, out var host))
            {
                log.Write($"connect id={id} local={local} remote={remote}: no MX host for this address, closing");
                socket.Dispose();
                return;
            }

            await using var stream = new NetworkStream(socket, ownsSocket: true);
            if (count > MaxConnections)
            {
                log.Write($"connect id={id} mx={host.Name} remote={remote}: too many connections");
                await stream.WriteAsync("421 4.3.2 too many connections\r\n"u8.ToArray(), stopping);
                return;
            }

            var session = new SmtpSession(this, host, id, local.ToString(), remote, stream);
            await session.RunAsync(stopping);
        }
        catch (Exception e)
        {
            log.Write($"error id={id}: {e.GetType().Name}: {e.Message}");
        }
        finally
        {
            Interlocked.Decrement(ref _connections);
        }
    }

    public long NextMessageId() => Interlocked.Increment(ref _messageIds);

    public void Dispose()
    {
        lock (_lock)
        {
            foreach (var (_, l) in _listeners)
            {
                l.Cts.Cancel();
                l.Socket.Dispose();
                l.Cts.Dispose();
            }

            _listeners.Clear();
        }
    }
}

/// <summary>
/// One SMTP server session: 220, EHLO/HELO, STARTTLS, MAIL, RCPT, DATA, RSET, NOOP, QUIT (plus HELP
/// and VRFY); anything else 500. Lines are bounded, reads time out, a garbage-spewing client is
/// disconnected after too many errors.
/// </summary>
internal sealed class SmtpSession
{
    public const int MaxMessageBytes = 10 * 1024 * 1024;
    private const int MaxLine = 8 * 1024;
    private const int MaxRecipients = 1000;
    private const int MaxErrors = 20;
    private const int MaxLoggedCommands = 100;
    private static readonly TimeSpan s_handshakeTimeout = TimeSpan.FromSeconds(15);

    private readonly List<string> _commands = [];
    private readonly List<string> _recipients = [];
    private readonly MxServer _server;
    private readonly MxHost _host;
    private readonly long _id;
    private readonly string _local;
    private readonly string _remote;
    private readonly Stream _network;
    private Stream _stream;
    private LineReader _reader;
    private string? _helo;
    private string? _from;
    private bool _tls;
    private string _sni = "-";
    private string _proto = "-";
    private string _cipher = "-";
    private int _messages;
    private int _errors;
    private string _end = "eof";

    public SmtpSession(MxServer server, MxHost host, long id, string local, string remote, Stream network)
    {
        (_server, _host, _id, _local, _remote, _network, _stream) = (server, host, id, local, remote, network, network);
        _reader = new LineReader(network, MaxLine);
    }

    public async Task RunAsync(CancellationToken ct)
    {
        _server.Log.Write($"connect id={_id} mx={_host.Name} local={_local} remote={_remote}");
        try
        {
            await ReplyAsync($"220 {_host.Name} ESMTP Rampart lab MX", ct);
            while (await StepAsync(ct))
            {
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            _end = "timeout";
            await TryReplyAsync("421 4.4.2 idle timeout, closing");
        }
        catch (OperationCanceledException)
        {
            _end = "shutdown";
            await TryReplyAsync("421 4.3.2 shutting down");
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or AuthenticationException)
        {
            _end = "error(" + Clean(e.Message, 80) + ")";
        }
        finally
        {
            var cmds = string.Join(' ', _commands) + (_commands.Count >= MaxLoggedCommands ? " …" : "");
            _server.Log.Write($"close id={_id} mx={_host.Name} local={_local} remote={_remote} tls={(_tls ? "yes" : "no")} proto={_proto} cipher={_cipher} sni={_sni} helo={Clean(_helo ?? "-", 64)} messages={_messages} end={_end} commands=\"{cmds}\"");
            await _stream.DisposeAsync();
        }
    }

    /// <returns>false when the session is over</returns>
    private async Task<bool> StepAsync(CancellationToken ct)
    {
        var line = await ReadLineAsync(ct);
        if (line is null)
        {
            _end = "eof";
            return false;
        }

        if (_reader.LastTooLong)
        {
            Record("(too-long)");
            return await ErrorAsync("500 5.5.2 line too long", ct);
        }

        var text = Encoding.Latin1.GetString(line);
        var space = text.IndexOf(' ', StringComparison.Ordinal);
        var verb = (space < 0 ? text : text[..space]).ToUpperInvariant();
        var arg = space < 0 ? "" : text[(space + 1)..].Trim();
        Record(verb.Length is > 0 and <= 12 && verb.All(char.IsAsciiLetter) ? verb : "(junk)");

        switch (verb)
        {
            case "EHLO" or "HELO":
                if (arg.Length == 0)
                {
                    return await ErrorAsync($"501 5.5.4 {verb} needs a domain or address", ct);
                }

                _helo = arg;
                ResetTransaction();
                if (verb == "HELO")
                {
                    await ReplyAsync($"250 {_host.Name}", ct);
                }
                else
                {
                    var ext = new List<string> { $"{_host.Name} Rampart lab MX", "PIPELINING", $"SIZE {MaxMessageBytes}", "8BITMIME", "ENHANCEDSTATUSCODES" };
                    if (_host.StartTls && !_tls)
                    {
                        ext.Add("STARTTLS");
                    }

                    await ReplyAsync(string.Join("\r\n", ext.Select((e, i) => (i == ext.Count - 1 ? "250 " : "250-") + e)), ct);
                }

                return true;

            case "STARTTLS":
                if (!_host.StartTls)
                {
                    return await ErrorAsync("502 5.5.1 STARTTLS not offered", ct);
                }

                if (_tls)
                {
                    return await ErrorAsync("503 5.5.1 TLS already active", ct);
                }

                if (arg.Length > 0)
                {
                    return await ErrorAsync("501 5.5.4 STARTTLS takes no argument", ct);
                }

                await ReplyAsync("220 2.0.0 Ready to start TLS", ct);
                return await StartTlsAsync(ct);

            case "MAIL":
                if (_helo is null)
                {
                    return await ErrorAsync("503 5.5.1 send EHLO/HELO first", ct);
                }

                if (_from is not null)
                {
                    return await ErrorAsync("503 5.5.1 nested MAIL command", ct);
                }

                if (!TryPath(arg, "FROM:", out var from, out var mailParams))
                {
                    return await ErrorAsync("501 5.5.4 syntax: MAIL FROM:<address>", ct);
                }

                if (TooBig(mailParams))
                {
                    return await ErrorAsync("552 5.3.4 message size exceeds fixed limit", ct);
                }

                _from = from;
                await ReplyAsync("250 2.1.0 sender ok", ct);
                return true;

            case "RCPT":
                if (_from is null)
                {
                    return await ErrorAsync("503 5.5.1 need MAIL before RCPT", ct);
                }

                if (!TryPath(arg, "TO:", out var to, out _) || to.Length == 0)
                {
                    return await ErrorAsync("501 5.5.4 syntax: RCPT TO:<address>", ct);
                }

                if (_recipients.Count >= MaxRecipients)
                {
                    return await ErrorAsync("452 4.5.3 too many recipients", ct);
                }

                if (to.StartsWith("bounce@", StringComparison.OrdinalIgnoreCase))
                {
                    // a mailbox that does not exist, for tests of bounces (TlsRptBounceLabTests): refused for good
                    _server.Log.Write($"rejected id={_id} mx={_host.Name} rcpt={to} reason=no-such-user");
                    return await ErrorAsync($"550 5.1.1 <{to}>: Recipient address rejected: no such user (lab)", ct);
                }

                _recipients.Add(to);
                await ReplyAsync("250 2.1.5 recipient ok", ct);
                return true;

            case "DATA":
                if (_from is null || _recipients.Count == 0)
                {
                    return await ErrorAsync("503 5.5.1 need MAIL and RCPT before DATA", ct);
                }

                if (arg.Length > 0)
                {
                    return await ErrorAsync("501 5.5.4 DATA takes no argument", ct);
                }

                await ReplyAsync("354 End data with <CR><LF>.<CR><LF>", ct);
                await ReceiveDataAsync(ct);
                return true;

            case "RSET":
                ResetTransaction();
                await ReplyAsync("250 2.0.0 reset", ct);
                return true;

            case "NOOP":
                await ReplyAsync("250 2.0.0 ok", ct);
                return true;

            case "HELP":
                await ReplyAsync("214 2.0.0 EHLO HELO STARTTLS MAIL RCPT DATA RSET NOOP QUIT", ct);
                return true;

            case "VRFY":
                await ReplyAsync("252 2.5.2 cannot verify, but will accept", ct);
                return true;

            case "QUIT":
                _end = "quit";
                await ReplyAsync("221 2.0.0 bye", ct);
                return false;

            default:
                return await ErrorAsync("500 5.5.2 command unrecognized", ct);
        }
    }

    private async Task<bool> StartTlsAsync(CancellationToken ct)
    {
        if (_reader.Buffered > 0)
        {
            // plaintext pipelined after STARTTLS must not leak into the TLS session (CVE-2011-0411 class)
            _server.Log.Write($"starttls id={_id} mx={_host.Name} discarding {_reader.Buffered} bytes pipelined after STARTTLS");
        }

        var ssl = new SslStream(_network, leaveInnerStreamOpen: false);
        _stream = ssl;
        try
        {
            using var hs = CancellationTokenSource.CreateLinkedTokenSource(ct);
            hs.CancelAfter(s_handshakeTimeout);
            await ssl.AuthenticateAsServerAsync(
                (_, hello, _, _) =>
                {
                    _sni = string.IsNullOrEmpty(hello.ServerName) ? "-" : Clean(hello.ServerName, 255);
                    return ValueTask.FromResult(new SslServerAuthenticationOptions
                    {
                        ServerCertificateContext = _host.Tls,
                        EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                        ClientCertificateRequired = false,
                    });
                },
                null,
                hs.Token);
        }
        catch (Exception e) when (e is AuthenticationException or IOException or OperationCanceledException)
        {
            _end = "tls-fail";
            _server.Log.Write($"tls-fail id={_id} mx={_host.Name} remote={_remote} sni={_sni} error=\"{Clean(Flatten(e), 300)}\"");
            return false;
        }

        _tls = true;
        _proto = ssl.SslProtocol switch
        {
            SslProtocols.Tls13 => "TLSv1.3",
            SslProtocols.Tls12 => "TLSv1.2",
            var p => p.ToString(),
        };
        _cipher = ssl.NegotiatedCipherSuite.ToString();
        _reader = new LineReader(ssl, MaxLine);
        _helo = null; // RFC 3207 4.2: forget everything learnt before TLS
        ResetTransaction();
        _server.Log.Write($"starttls id={_id} mx={_host.Name} remote={_remote} sni={_sni} proto={_proto} cipher={_cipher}");
        return true;
    }

    private async Task ReceiveDataAsync(CancellationToken ct)
    {
        using var body = new MemoryStream();
        var tooBig = false;
        var longLine = false;
        while (true)
        {
            var line = await ReadLineAsync(ct) ?? throw new IOException("connection closed inside DATA");
            longLine |= _reader.LastTooLong;
            if (line.Length == 1 && line[0] == (byte)'.')
            {
                break;
            }

            var start = line.Length > 0 && line[0] == (byte)'.' ? 1 : 0; // dot-stuffing
            if (body.Length + line.Length + 2 > MaxMessageBytes)
            {
                tooBig = true;
                continue; // keep reading until the final dot, store nothing more
            }

            body.Write(line, start, line.Length - start);
            body.Write("\r\n"u8);
        }

        if (tooBig || longLine)
        {
            _server.Log.Write($"rejected id={_id} mx={_host.Name} reason={(tooBig ? "size" : "line-length")}");
            ResetTransaction();
            await ReplyAsync(tooBig ? "552 5.3.4 message too big" : "554 5.6.0 line too long in message", ct);
            return;
        }

        var file = Save(body);
        _messages++;
        _server.Log.Write($"message id={_id} mx={_host.Name} file={file} bytes={body.Length} from=<{Clean(_from ?? "", 200)}> to={string.Join(',', _recipients.Select(r => "<" + Clean(r, 200) + ">"))}");
        ResetTransaction();
        await ReplyAsync($"250 2.0.0 Ok: queued as {Path.GetFileNameWithoutExtension(file)}", ct);
    }

    private string Save(MemoryStream body)
    {
        var dir = Path.Combine(_server.MailDir, _host.Name);
        Directory.CreateDirectory(dir);
        var name = $"{DateTime.UtcNow.ToString("yyyyMMdd'T'HHmmss.fff'Z'", CultureInfo.InvariantCulture)}-{_server.NextMessageId()}";
        var path = Path.Combine(dir, name + ".eml");
        var tmp = Path.Combine(dir, "." + name + ".tmp");
        var header = $"X-Lab-Received: tls={(_tls ? "yes" : "no")} proto={_proto} cipher={_cipher} sni={_sni} mx={_host.Name} "
            + $"local={_local} client={_remote} helo={Clean(_helo ?? "-", 64)} from=<{Clean(_from ?? "", 200)}> "
            + $"to={string.Join(',', _recipients.Select(r => "<" + Clean(r, 200) + ">"))}\r\n";
        using (var f = new FileStream(tmp, FileMode.Create, FileAccess.Write))
        {
            f.Write(Encoding.ASCII.GetBytes(header));
            body.Position = 0;
            body.CopyTo(f);
        }

        File.Move(tmp, path);
        return path;
    }

    private async Task<byte[]?> ReadLineAsync(CancellationToken ct)
    {
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(ct);
        idle.CancelAfter(_server.IdleTimeout);
        return await _reader.ReadLineAsync(idle.Token);
    }

    private async Task<bool> ErrorAsync(string reply, CancellationToken ct)
    {
        await ReplyAsync(reply, ct);
        if (++_errors < MaxErrors)
        {
            return true;
        }

        _end = "too-many-errors";
        await ReplyAsync("421 4.7.0 too many errors, closing", ct);
        return false;
    }

    private async Task ReplyAsync(string reply, CancellationToken ct)
    {
        await _stream.WriteAsync(Encoding.ASCII.GetBytes(reply + "\r\n"), ct);
        await _stream.FlushAsync(ct);
    }

    private async Task TryReplyAsync(string reply)
    {
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await _stream.WriteAsync(Encoding.ASCII.GetBytes(reply + "\r\n"), cts.Token);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException or InvalidOperationException or NotSupportedException)
        {
        }
    }

    private void ResetTransaction()
    {
        _from = null;
        _recipients.Clear();
    }

    private void Record(string verb)
    {
        if (_commands.Count < MaxLoggedCommands)
        {
            _commands.Add(verb);
        }
    }

    /// <summary>`FROM:&lt;a@b&gt; PARAMS` (space after the colon tolerated; angle brackets required).</summary>
    private static bool TryPath(string arg, string prefix, out string path, out string parameters)
    {
        path = parameters = "";
        if (!arg.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var rest = arg[prefix.Length..].TrimStart();
        if (!rest.StartsWith('<'))
        {
            return false;
        }

        var close = rest.IndexOf('>', StringComparison.Ordinal);
        if (close < 0)
        {
            return false;
        }

        path = rest[1..close];
        parameters = rest[(close + 1)..].Trim();
        return true;
    }

    private static bool TooBig(string parameters)
    {
        foreach (var p in parameters.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (p.StartsWith("SIZE=", StringComparison.OrdinalIgnoreCase)
                && long.TryParse(p.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out var size) && size > MaxMessageBytes)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>A value safe for one space-separated log/header field.</summary>
    private static string Clean(string s, int max)
    {
        var sb = new StringBuilder(Math.Min(s.Length, max));
        foreach (var c in s)
        {
            if (sb.Length >= max)
            {
                break;
            }

            sb.Append(c is > ' ' and < '\x7f' and not '"' ? c : '_');
        }

        return sb.ToString();
    }

    private static string Flatten(Exception e)
    {
        var parts = new List<string>();
        for (Exception? x = e; x is not null; x = x.InnerException)
        {
            parts.Add(x.Message);
        }

        return string.Join(" / ", parts);
    }
}

/// <summary>Reads LF-terminated lines (CR before the LF dropped) of at most a bounded length.</summary>
internal sealed class LineReader(Stream stream, int maxLine)
{
    private readonly byte[] _buffer = new byte[maxLine + 2];
    private int _start;
    private int _end;

    /// <summary>Whether the last line returned was longer than the bound (its excess was discarded).</summary>
    public bool LastTooLong { get; private set; }

    /// <summary>Bytes received but not yet returned as lines.</summary>
    public int Buffered => _end - _start;

    /// <returns>the line without CR/LF, or null at end of stream</returns>
    public async Task<byte[]?> ReadLineAsync(CancellationToken ct)
    {
        LastTooLong = false;
        byte[]? kept = null;
        while (true)
        {
            var lf = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
            if (lf >= 0)
            {
                var len = lf - _start;
                if (!LastTooLong)
                {
                    kept = _buffer.AsSpan(_start, len).ToArray();
                }

                _start = lf + 1;
                var line = kept!;
                return line.Length > 0 && line[^1] == (byte)'\r' ? line[..^1] : line;
            }

            if (_end - _start > maxLine)
            {
                // too long: keep the first maxLine bytes, discard the rest of the line as it arrives
                if (!LastTooLong)
                {
                    kept = _buffer.AsSpan(_start, maxLine).ToArray();
                    LastTooLong = true;
                }

                _start = _end = 0;
            }
            else if (_start > 0)
            {
                Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }

            var n = await stream.ReadAsync(_buffer.AsMemory(_end), ct);
            if (n == 0)
            {
                return null;
            }

            _end += n;
        }
    }
}
