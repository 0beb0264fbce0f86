using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;

namespace Rampart.Core.Tests.Servers;

/// <summary>
/// An HTTPS policy host on 127.0.0.1 that answers every request with a per-test script written straight to the TLS
/// stream (so it can break HTTP on purpose: drip, flood, lie about lengths, never end). It records the SNI of each
/// ClientHello, each request head, and how many connections it accepted.
/// </summary>
internal sealed class ScriptedPolicyHost : IAsyncDisposable
{
    private const int MaxRequestHead = 16 * 1024;

    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly SslStreamCertificateContext _certificate;
    private readonly Func<Stream, CancellationToken, Task> _respond;
    private readonly List<string> _serverNames = [];
    private readonly List<string> _requestHeads = [];
    private readonly List<Task> _connections = [];
    private readonly Task _accepting;

    private ScriptedPolicyHost(SslStreamCertificateContext certificate, Func<Stream, CancellationToken, Task> respond)
    {
        _certificate = certificate;
        _respond = respond;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accepting = Task.Run(AcceptAsync);
    }

    public int Port { get; }

    /// <summary>The server_name of each ClientHello, in order ("" for none).</summary>
    public IReadOnlyList<string> ServerNames => Snapshot(_serverNames);

    /// <summary>Each request head received, CRLF-separated, without the final empty line.</summary>
    public IReadOnlyList<string> RequestHeads => Snapshot(_requestHeads);

    public int Connections { get; private set; }

    public static ScriptedPolicyHost Start(SslStreamCertificateContext certificate, Func<Stream, CancellationToken, Task> respond) =>
        new(certificate, respond);

    /// <summary>A script that writes <paramref name="response"/> (Latin-1) and closes.</summary>
    public static Func<Stream, CancellationToken, Task> Answer(string response) =>
        async (stream, ct) => await stream.WriteAsync(Encoding.Latin1.GetBytes(response), ct);

    /// <summary>Writes text and flushes it to the client.</summary>
    public static async Task SendAsync(Stream stream, string text, CancellationToken ct)
    {
        await stream.WriteAsync(Encoding.Latin1.GetBytes(text), ct);
        await stream.FlushAsync(ct);
    }

    /// <summary>Holds the connection open until the client or the test ends it.</summary>
    public static async Task HoldAsync(Stream stream, CancellationToken ct)
    {
        var sink = new byte[256];
        while (await stream.ReadAsync(sink, ct) > 0)
        {
        }
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            lock (_connections)
            {
                Connections++;
                _connections.Add(Task.Run(() => ServeAsync(socket)));
            }
        }
    }

    private async Task ServeAsync(Socket socket)
    {
        var ct = _stop.Token;
        await using var tls = new SslStream(new NetworkStream(socket, ownsSocket: true));
        try
        {
            await tls.AuthenticateAsServerAsync((_, hello, _, _) =>
            {
                lock (_serverNames)
                {
                    _serverNames.Add(hello.ServerName ?? "");
                }
                return ValueTask.FromResult(new SslServerAuthenticationOptions { ServerCertificateContext = _certificate });
            }, null, ct);
            var head = await ReadHeadAsync(tls, ct);
            lock (_requestHeads)
            {
                _requestHeads.Add(head);
            }
            await _respond(tls, ct);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException or System.Security.Authentication.AuthenticationException)
        {
            // The client went away (which is what a bounded fetch does), rejected the certificate, or the test ended.
        }
    }

    private static async Task<string> ReadHeadAsync(Stream stream, CancellationToken ct)
    {
        var head = new StringBuilder();
        var one = new byte[1];
        while (head.Length < MaxRequestHead && !head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
        {
            if (await stream.ReadAsync(one, ct) == 0)
            {
                break;
            }
            head.Append((char)one[0]);
        }
        return head.ToString().TrimEnd('\r', '\n');
    }

    private static List<string> Snapshot(List<string> list)
    {
        lock (list)
        {
            return [.. list];
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        Task[] connections;
        lock (_connections)
        {
            connections = [.. _connections];
        }
        await Task.WhenAll(connections);
        _stop.Dispose();
    }
}
