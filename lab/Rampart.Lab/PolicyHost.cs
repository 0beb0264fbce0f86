using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Security.Authentication;
using System.Text;

namespace Rampart.Lab;

internal static class PolicyHostCommand
{
    public static async Task<int> RunAsync(CommandLine options)
    {
        var state = options.Required("state");
        var listen = IPEndPoint.Parse(options.Required("listen"));
        var pidFile = options.Optional("pid-file");
        using var log = new LabLog(options.Optional("log") ?? Path.Combine(state, "log", "policy-host.log"));
        var host = new PolicyHost(Path.Combine(state, "scenarios"), LabPki.Load(Path.Combine(state, "pki")), log);
        host.Load();

        using var cts = new CancellationTokenSource();
        using var hup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, c =>
        {
            c.Cancel = true;
            host.Reload();
        });
        using var signals = LabSignals.StopOn(cts, log);

        await host.RunAsync(listen, () =>
        {
            log.Write($"listening on {listen} pid {Environment.ProcessId}");
            if (pidFile is not null)
            {
                File.WriteAllText(pidFile, $"{Environment.ProcessId}\n");
            }
        }, cts.Token);

        if (pidFile is not null)
        {
            File.Delete(pidFile);
        }

        return 0;
    }
}

/// <summary>
/// A hand-rolled HTTPS/1.1 server (TcpListener-style socket + SslStream) so every byte is under the
/// scenario's control: status, Content-Type, body size, Content-Length or not, dripping, and the
/// certificate chosen by SNI.
/// </summary>
internal sealed class PolicyHost(string scenarioDir, LabPki pki, LabLog log)
{
    private const string PolicyPath = "/.well-known/mta-sts.txt";
    private const int MaxRequestHead = 16 * 1024;
    private static readonly TimeSpan s_handshakeTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan s_requestTimeout = TimeSpan.FromSeconds(10);

    private volatile ScenarioSet _scenarios = new([]);

    /// <summary>First load: errors are fatal.</summary>
    public void Load()
    {
        _scenarios = new ScenarioSet(ScenarioLoader.LoadAll(scenarioDir));
        log.Write($"loaded {_scenarios.Count} policy scenarios from {scenarioDir}");
    }

    /// <summary>SIGHUP: errors keep the previous scenarios.</summary>
    public void Reload()
    {
        try
        {
            Load();
        }
        catch (Exception e)
        {
            log.Write($"reload failed, keeping previous scenarios: {e.Message}");
        }
    }

    public async Task RunAsync(IPEndPoint endpoint, Action onListening, CancellationToken ct)
    {
        using var listener = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        listener.Bind(endpoint);
        listener.Listen(1024);
        onListening();
        while (!ct.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptAsync(ct);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            catch (SocketException e)
            {
                log.Write($"accept failed: {e.Message}");
                continue;
            }

            _ = Task.Run(() => HandleAsync(socket, ct), CancellationToken.None);
        }
    }

    private static string? NormalizeHost(string? host)
    {
        if (string.IsNullOrEmpty(host))
        {
            return null;
        }

        var colon = host.LastIndexOf(':');
        if (colon > 0 && !host.Contains(']', StringComparison.Ordinal) && host[(colon + 1)..].All(char.IsAsciiDigit))
        {
            host = host[..colon];
        }

        return host.TrimEnd('.').ToLowerInvariant();
    }

    private SslServerAuthenticationOptions SelectCertificate(string? serverName)
    {
        var host = NormalizeHost(serverName) ?? throw new LabException("client sent no SNI");
        var policy = _scenarios.ForHost(host) ?? throw new LabException($"no scenario serves {host}");
        return new SslServerAuthenticationOptions
        {
            ServerCertificateContext = pki.Get(host, policy.Cert),
            EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
        };
    }

    private async Task HandleAsync(Socket socket, CancellationToken ct)
    {
        var remote = socket.RemoteEndPoint?.ToString() ?? "?";
        socket.NoDelay = true;
        await using var ssl = new SslStream(new NetworkStream(socket, ownsSocket: true), leaveInnerStreamOpen: false);
        string? sni = null;
        try
        {
            using var hs = CancellationTokenSource.CreateLinkedTokenSource(ct);
            hs.CancelAfter(s_handshakeTimeout);
            await ssl.AuthenticateAsServerAsync(
                (_, hello, _, _) =>
                {
                    sni = hello.ServerName;
                    return ValueTask.FromResult(SelectCertificate(hello.ServerName));
                },
                null,
                hs.Token);
        }
        catch (Exception e)
        {
            log.Write($"tls-fail remote={remote} sni={Show(sni)} error=\"{Flatten(e)}\"");
            return;
        }

        var reader = new RequestReader(ssl);
        try
        {
            while (true)
            {
                using var rt = CancellationTokenSource.CreateLinkedTokenSource(ct);
                rt.CancelAfter(s_requestTimeout);
                var request = await reader.ReadAsync(rt.Token);
                if (request is null || !await RespondAsync(ssl, request, sni, remote, ct))
                {
                    break;
                }
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or LabException or SocketException)
        {
            // idle keep-alive timeout, client gone, or a malformed request: just close
            if (e is LabException)
            {
                log.Write($"bad-request remote={remote} sni={Show(sni)} error=\"{e.Message}\"");
            }
        }
    }

    /// <returns>whether the connection stays open for another request</returns>
    private async Task<bool> RespondAsync(SslStream ssl, Request request, string? sni, string remote, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        var host = NormalizeHost(request.Host) ?? NormalizeHost(sni);
        var policy = _scenarios.ForHost(host);
        var (status, contentType, body, location, drip, sendLength) = (request.Method, policy) switch
        {
            (not ("GET" or "HEAD"), _) => (405, "text/plain", Text("method not allowed\n"), null, 0, true),
            (_, null) => (404, "text/plain", Text($"no scenario serves {host}\n"), null, 0, true),
            _ when request.Path != PolicyPath => (404, "text/plain", Text("not found\n"), null, 0, true),
            _ => (policy.Status, policy.ContentType, policy.Body, policy.Location, policy.DripBytesPerSecond, policy.SendContentLength),
        };

        var keepAlive = request.KeepAlive && drip == 0 && sendLength;
        var head = new StringBuilder()
            .Append("HTTP/1.1 ").Append(status).Append(' ').Append(Reason(status)).Append("\r\n")
            .Append("Date: ").Append(DateTime.UtcNow.ToString("R")).Append("\r\n")
            .Append("Server: rampart-lab-policy-host\r\n")
            .Append("Content-Type: ").Append(contentType).Append("\r\n");
        if (location is not null)
        {
            head.Append("Location: ").Append(location).Append("\r\n");
        }

        if (sendLength)
        {
            head.Append("Content-Length: ").Append(body.Length).Append("\r\n");
        }

        head.Append(keepAlive ? "Connection: keep-alive\r\n" : "Connection: close\r\n").Append("\r\n");

        var sent = 0;
        var outcome = "complete";
        try
        {
            await ssl.WriteAsync(Encoding.ASCII.GetBytes(head.ToString()), ct);
            await ssl.FlushAsync(ct);
            if (request.Method == "HEAD")
            {
                // no body
            }
            else if (drip > 0)
            {
                while (sent < body.Length)
                {
                    var n = Math.Min(drip, body.Length - sent);
                    await ssl.WriteAsync(body.AsMemory(sent, n), ct);
                    await ssl.FlushAsync(ct);
                    sent += n;
                    if (sent < body.Length)
                    {
                        await Task.Delay(TimeSpan.FromSeconds(1), ct);
                    }
                }
            }
            else
            {
                await ssl.WriteAsync(body, ct);
                await ssl.FlushAsync(ct);
                sent = body.Length;
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or SocketException)
        {
            outcome = "aborted";
            keepAlive = false;
        }

        var ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        log.Write($"request remote={remote} sni={Show(sni)} host={Show(host)} \"{request.Method} {request.Path}\" status={status} body={sent}/{body.Length} ms={ms:F0} {outcome}");
        if (!keepAlive && outcome == "complete")
        {
            await ssl.ShutdownAsync();
        }

        return keepAlive;
    }

    private static byte[] Text(string s) => Encoding.ASCII.GetBytes(s);

    private static string Show(string? s) => string.IsNullOrEmpty(s) ? "-" : s;

    private static string Flatten(Exception e)
    {
        var parts = new List<string>();
        for (Exception? x = e; x is not null; x = x.InnerException)
        {
            parts.Add(x.Message);
        }

        return string.Join(" / ", parts).Replace('"', '\'');
    }

    private static string Reason(int status) => status switch
    {
        200 => "OK",
        301 => "Moved Permanently",
        302 => "Found",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    };
}

internal sealed record Request(string Method, string Path, string? Host, bool KeepAlive);

/// <summary>Reads HTTP/1.1 request heads (request bodies are not supported: the connection closes).</summary>
internal sealed class RequestReader(Stream stream)
{
    private readonly byte[] _buffer = new byte[16 * 1024];
    private int _filled;

    /// <returns>the next request, or null when the client closed the connection between requests</returns>
    public async Task<Request?> ReadAsync(CancellationToken ct)
    {
        int end;
        while ((end = _buffer.AsSpan(0, _filled).IndexOf("\r\n\r\n"u8)) < 0)
        {
            if (_filled == _buffer.Length)
            {
                throw new LabException("request head over 16 KiB");
            }

            var n = await stream.ReadAsync(_buffer.AsMemory(_filled), ct);
            if (n == 0)
            {
                return _filled == 0 ? null : throw new LabException("connection closed inside a request head");
            }

            _filled += n;
        }

        var head = Encoding.Latin1.GetString(_buffer, 0, end);
        var rest = _filled - (end + 4);
        Buffer.BlockCopy(_buffer, end + 4, _buffer, 0, rest);
        _filled = rest;

        var lines = head.Split("\r\n");
        var first = lines[0].Split(' ');
        if (first.Length != 3 || !first[2].StartsWith("HTTP/1.", StringComparison.Ordinal))
        {
            throw new LabException($"bad request line '{lines[0]}'");
        }

        string? host = null;
        var keepAlive = first[2] == "HTTP/1.1";
        var hasBody = false;
        foreach (var line in lines.Skip(1))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                continue;
            }

            var name = line[..colon].Trim().ToLowerInvariant();
            var value = line[(colon + 1)..].Trim();
            switch (name)
            {
                case "host":
                    host = value;
                    break;
                case "connection":
                    keepAlive = value.Equals("keep-alive", StringComparison.OrdinalIgnoreCase)
                        || (keepAlive && !value.Equals("close", StringComparison.OrdinalIgnoreCase));
                    break;
                case "content-length" when value != "0":
                case "transfer-encoding":
                    hasBody = true;
                    break;
            }
        }

        return new Request(first[0], first[1], host, keepAlive && !hasBody);
    }
}
