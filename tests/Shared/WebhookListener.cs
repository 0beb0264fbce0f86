using System.Net;

namespace Rampart.Tests.Shared;

/// <summary>
/// A webhook receiver for tests: a real HTTP listener on a free loopback port that records every request's method,
/// content type and body, and answers 204.
/// </summary>
internal sealed class WebhookListener : IAsyncDisposable
{
    private readonly HttpListener _listener = new();
    private readonly List<(string Method, string Type, string Body)> _bodies = [];
    private readonly Task _serving;

    private WebhookListener(int port)
    {
        Url = $"http://127.0.0.1:{port}/hook/";
        _listener.Prefixes.Add(Url);
        _listener.Start();
        _serving = Task.Run(ServeAsync);
    }

    /// <summary>Where to POST (give it to --webhook).</summary>
    public string Url { get; }

    /// <summary>What was received so far, in order.</summary>
    public IReadOnlyList<(string Method, string Type, string Body)> Bodies
    {
        get
        {
            lock (_bodies)
            {
                return [.. _bodies];
            }
        }
    }

    public static WebhookListener Start() => new(LoopbackPort.Free());

    /// <summary>Stops listening and returns everything received.</summary>
    public async Task<IReadOnlyList<(string Method, string Type, string Body)>> StopAsync()
    {
        if (_listener.IsListening)
        {
            _listener.Stop();
        }
        await _serving;
        return Bodies;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _listener.Close();
    }

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }
            using var reader = new StreamReader(context.Request.InputStream);
            var body = await reader.ReadToEndAsync();
            lock (_bodies)
            {
                _bodies.Add((context.Request.HttpMethod, context.Request.ContentType ?? "", body));
            }
            context.Response.StatusCode = 204;
            context.Response.Close();
        }
    }
}
