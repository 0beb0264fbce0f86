using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Rampart.Core.Tests.Servers;

/// <summary>
/// A one-connection SMTP server on 127.0.0.1 that plays a per-test script: what to send, which command to expect,
/// when to stall, drip, close, or switch to TLS. It records every command line it received (before and after TLS) and
/// the SNI of the ClientHello, so tests can check what the probe actually did on the wire.
/// </summary>
internal sealed class ScriptedSmtpServer : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<string> _received = [];
    private readonly IReadOnlyList<Func<Session, CancellationToken, Task>> _steps;

    private ScriptedSmtpServer(IReadOnlyList<Func<Session, CancellationToken, Task>> steps)
    {
        _steps = steps;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        EndPoint = (IPEndPoint)_listener.LocalEndpoint;
        // Accept is started here, before the test can dispose the server, so Stop never races a late Accept.
        var accept = _listener.AcceptTcpClientAsync(_stop.Token).AsTask();
        Completion = Task.Run(() => RunAsync(accept));
    }

    public IPEndPoint EndPoint { get; }

    /// <summary>Finishes when the script has been played (faults if an expectation failed).</summary>
    public Task Completion { get; }

    /// <summary>Command lines received, without CRLF.</summary>
    public IReadOnlyList<string> Received
    {
        get
        {
            lock (_received)
            {
                return [.. _received];
            }
        }
    }

    /// <summary>True once a ClientHello was processed.</summary>
    public bool ClientHelloSeen { get; private set; }

    /// <summary>The server_name of the ClientHello; the runtime reports "no SNI" as an empty string.</summary>
    public string? ClientSni { get; private set; }

    public static ScriptedSmtpServer Start(Func<SmtpScript, SmtpScript> script) => new(script(new SmtpScript()).Steps);

    private async Task RunAsync(Task<TcpClient> accept)
    {
        using var client = await accept;
        var session = new Session(this, client.GetStream());
        try
        {
            foreach (var step in _steps)
            {
                await step(session, _stop.Token);
            }
        }
        finally
        {
            await session.Stream.DisposeAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await Completion;
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
        {
        }
        _stop.Dispose();
    }

    internal sealed class Session(ScriptedSmtpServer server, Stream stream)
    {
        public Stream Stream { get; set; } = stream;

        public ScriptedSmtpServer Server => server;

        public async Task SendAsync(string text, CancellationToken ct)
        {
            await Stream.WriteAsync(Encoding.UTF8.GetBytes(text), ct);
            await Stream.FlushAsync(ct);
        }

        /// <summary>Reads one line byte by byte, so nothing after it (a ClientHello) is consumed.</summary>
        public async Task<string?> ReadLineAsync(CancellationToken ct)
        {
            var bytes = new List<byte>();
            var one = new byte[1];
            while (true)
            {
                if (await Stream.ReadAsync(one, ct) == 0)
                {
                    return null;
                }
                if (one[0] == '\n')
                {
                    var line = Encoding.UTF8.GetString([.. bytes]).TrimEnd('\r');
                    lock (server._received)
                    {
                        server._received.Add(line);
                    }
                    return line;
                }
                bytes.Add(one[0]);
            }
        }

        public void RecordHello(string? serverName)
        {
            server.ClientSni = serverName;
            server.ClientHelloSeen = true;
        }
    }
}

/// <summary>The steps a <see cref="ScriptedSmtpServer"/> plays, in order.</summary>
internal sealed class SmtpScript
{
    public List<Func<ScriptedSmtpServer.Session, CancellationToken, Task>> Steps { get; } = [];

    /// <summary>Sends raw text (line ends are the test's choice).</summary>
    public SmtpScript Send(string text) => Add((s, ct) => s.SendAsync(text, ct));

    /// <summary>Sends each line with CRLF.</summary>
    public SmtpScript Reply(params string[] lines) => Send(string.Concat(lines.Select(l => l + "\r\n")));

    /// <summary>Reads one command line and fails the script unless it starts with <paramref name="prefix"/>.</summary>
    public SmtpScript Expect(string prefix) => Add(async (s, ct) =>
    {
        var line = await s.ReadLineAsync(ct);
        if (line is null || !line.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException($"expected '{prefix}…', got '{line ?? "(closed)"}'");
        }
    });

    /// <summary>Sends <paramref name="text"/> one byte at a time.</summary>
    public SmtpScript Drip(string text, TimeSpan interval) => Add(async (s, ct) =>
    {
        foreach (var c in text)
        {
            await s.SendAsync(c.ToString(), ct);
            await Task.Delay(interval, ct);
        }
    });

    /// <summary>Reads a DATA body up to its lone "." line; <paramref name="received"/> gets the lines (dot-stuffing undone).</summary>
    public SmtpScript ReadData(List<string>? received = null) => Add(async (s, ct) =>
    {
        while (await s.ReadLineAsync(ct) is { } line)
        {
            if (line == ".")
            {
                return;
            }
            received?.Add(line.StartsWith("..", StringComparison.Ordinal) ? line[1..] : line);
        }
        throw new InvalidOperationException("the connection closed inside DATA");
    });

    public SmtpScript Wait(TimeSpan delay) => Add((_, ct) => Task.Delay(delay, ct));

    /// <summary>Sends nothing until the test ends.</summary>
    public SmtpScript Stall() => Add((_, ct) => Task.Delay(Timeout.Infinite, ct));

    /// <summary>Closes the connection (the script's end does too).</summary>
    public SmtpScript Close() => Add((s, _) => s.Stream.DisposeAsync().AsTask());

    /// <summary>Runs the server side of a TLS handshake with <paramref name="certificate"/> and continues the script over TLS.</summary>
    public SmtpScript StartTls(SslStreamCertificateContext certificate) => Add(async (s, ct) =>
    {
        var tls = new SslStream(s.Stream, leaveInnerStreamOpen: false);
        await tls.AuthenticateAsServerAsync(
            (_, hello, _, _) =>
            {
                s.RecordHello(hello.ServerName);
                return ValueTask.FromResult(new SslServerAuthenticationOptions { ServerCertificateContext = certificate });
            },
            null,
            ct);
        s.Stream = tls;
    });

    /// <summary>Reads the start of the ClientHello, then drops the connection: a handshake the server aborts.</summary>
    public SmtpScript AbortTls() => Add(async (s, ct) =>
    {
        var buffer = new byte[5];
        await s.Stream.ReadExactlyAsync(buffer, ct);
        if (buffer[0] != 0x16)
        {
            throw new InvalidOperationException($"expected a TLS handshake record, got byte 0x{buffer[0]:X2}");
        }
        await s.Stream.DisposeAsync();
    });

    private SmtpScript Add(Func<ScriptedSmtpServer.Session, CancellationToken, Task> step)
    {
        Steps.Add(step);
        return this;
    }
}
