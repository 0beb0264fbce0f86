using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Rampart.Cli.Tests.Support;

/// <summary>
/// Debian's headless Chromium (<c>/usr/bin/chromium</c>, installed by test.sh) driven over the DevTools protocol: a
/// small client over <see cref="ClientWebSocket"/> that sends a command, waits for its answer and keeps the events it
/// is told to keep. One page (a target attached with a flat session). A missing Chromium fails the test naming the
/// package; it never skips.
/// </summary>
internal sealed partial class HeadlessChromium : IAsyncDisposable
{
    public const string Executable = "/usr/bin/chromium";
    private static readonly TimeSpan s_commandTimeout = TimeSpan.FromSeconds(30);

    private readonly Process _process;
    private readonly string _profile;
    private readonly ClientWebSocket _socket = new();
    private readonly ConcurrentDictionary<int, TaskCompletionSource<JsonObject>> _pending = new();
    private readonly ConcurrentQueue<JsonObject> _events = new();
    private readonly CancellationTokenSource _stop = new();
    private Task? _reader;
    private int _nextId;
    private string? _session;

    private HeadlessChromium(Process process, string profile) => (_process, _profile) = (process, profile);

    /// <summary>Events of the page (console calls, exceptions, dialogs) in arrival order.</summary>
    public IReadOnlyList<JsonObject> Events => [.. _events];

    public static Task<HeadlessChromium> StartAsync(CancellationToken ct) => StartAsync([], ct);

    /// <summary>
    /// Starts Chromium with <paramref name="extraArguments"/> as well, e.g. <c>--host-resolver-rules=MAP NAME 127.0.0.1</c>
    /// and <c>--ignore-certificate-errors</c> for a server on loopback with a test certificate.
    /// </summary>
    public static async Task<HeadlessChromium> StartAsync(IReadOnlyList<string> extraArguments, CancellationToken ct)
    {
        Assert.True(File.Exists(Executable), $"{Executable} is missing: install Debian's 'chromium' package (test.sh does)");
        var profile = Directory.CreateTempSubdirectory("rampart-chromium-").FullName;
        var info = new ProcessStartInfo(Executable) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        string[] arguments =
                 [
                     "--headless=new", "--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1", $"--user-data-dir={profile}",
                     "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars", "--mute-audio",
                     .. extraArguments, "about:blank",
                 ];
        foreach (var arg in arguments)
        {
            info.ArgumentList.Add(arg);
        }
        var process = Process.Start(info)!;
        var browser = new HeadlessChromium(process, profile);
        var endpoint = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var log = new StringBuilder();
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                endpoint.TrySetException(new InvalidOperationException("chromium exited before it listened:\n" + log));
                return;
            }
            lock (log)
            {
                log.AppendLine(e.Data);
            }
            if (DevToolsLine().Match(e.Data) is { Success: true } m)
            {
                endpoint.TrySetResult(m.Groups[1].Value);
            }
        };
        process.OutputDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        try
        {
            var url = await endpoint.Task.WaitAsync(TimeSpan.FromSeconds(60), ct);
            await browser._socket.ConnectAsync(new Uri(url), ct);
            browser._reader = Task.Run(browser.ReadLoopAsync, CancellationToken.None);
            var target = await browser.SendAsync("Target.createTarget", new JsonObject { ["url"] = "about:blank" }, ct);
            var attached = await browser.SendAsync("Target.attachToTarget", new JsonObject { ["targetId"] = target["targetId"]!.GetValue<string>(), ["flatten"] = true }, ct);
            browser._session = attached["sessionId"]!.GetValue<string>();
            await browser.SendAsync("Page.enable", null, ct);
            await browser.SendAsync("Runtime.enable", null, ct);
            return browser;
        }
        catch
        {
            await browser.DisposeAsync();
            throw;
        }
    }

    [GeneratedRegex(@"DevTools listening on (ws://\S+)")]
    private static partial Regex DevToolsLine();

    /// <summary>Sends a command (to the page once attached) and returns its result; a protocol error fails the test.</summary>
    public async Task<JsonObject> SendAsync(string method, JsonObject? parameters, CancellationToken ct)
    {
        var id = Interlocked.Increment(ref _nextId);
        var message = new JsonObject { ["id"] = id, ["method"] = method, ["params"] = parameters ?? new JsonObject() };
        if (_session is not null)
        {
            message["sessionId"] = _session;
        }
        var answer = new TaskCompletionSource<JsonObject>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = answer;
        await _socket.SendAsync(Encoding.UTF8.GetBytes(message.ToJsonString()), WebSocketMessageType.Text, true, ct);
        var reply = await answer.Task.WaitAsync(s_commandTimeout, ct);
        if (reply["error"] is JsonNode error)
        {
            throw new InvalidOperationException($"{method}: {error.ToJsonString()}");
        }
        return reply["result"]?.AsObject() ?? new JsonObject();
    }

    /// <summary>Sets the viewport (CSS pixels) as a phone (<paramref name="mobile"/>) or a desktop.</summary>
    public Task SetViewportAsync(int width, int height, bool mobile, CancellationToken ct) =>
        SendAsync("Emulation.setDeviceMetricsOverride", new JsonObject
        {
            ["width"] = width, ["height"] = height, ["deviceScaleFactor"] = 1, ["mobile"] = mobile,
        }, ct);

    /// <summary>Sends <paramref name="headers"/> with every request of the page from now on (an Authorization header, say).</summary>
    public async Task SetExtraHeadersAsync(IReadOnlyDictionary<string, string> headers, CancellationToken ct)
    {
        await SendAsync("Network.enable", null, ct);
        var map = new JsonObject();
        foreach (var (name, value) in headers)
        {
            map[name] = value;
        }
        await SendAsync("Network.setExtraHTTPHeaders", new JsonObject { ["headers"] = map }, ct);
    }

    /// <summary>Navigates and waits until the document has loaded.</summary>
    public async Task NavigateAsync(string url, CancellationToken ct)
    {
        var navigated = await SendAsync("Page.navigate", new JsonObject { ["url"] = url }, ct);
        Assert.True(navigated["errorText"] is null, $"navigating to {url}: {navigated.ToJsonString()}");
        var deadline = Stopwatch.StartNew();
        while (await EvaluateAsync<string>("document.readyState", ct) != "complete")
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(30), $"{url} did not finish loading in 30 s");
            await Task.Delay(50, ct);
        }
    }

    /// <summary>Evaluates <paramref name="expression"/> in the page and returns its value (JSON-serialisable).</summary>
    public async Task<T> EvaluateAsync<T>(string expression, CancellationToken ct)
    {
        var result = await SendAsync("Runtime.evaluate", new JsonObject { ["expression"] = expression, ["returnByValue"] = true, ["awaitPromise"] = true }, ct);
        if (result["exceptionDetails"] is JsonNode thrown)
        {
            throw new InvalidOperationException($"{expression}: {thrown.ToJsonString()}");
        }
        var value = result["result"]?["value"];
        return value is null ? default! : value.Deserialize<T>()!;
    }

    /// <summary>A PNG of the whole page (beyond the viewport) written to <paramref name="path"/>.</summary>
    public async Task ScreenshotAsync(string path, CancellationToken ct)
    {
        var shot = await SendAsync("Page.captureScreenshot", new JsonObject { ["format"] = "png", ["captureBeyondViewport"] = true }, ct);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await File.WriteAllBytesAsync(path, Convert.FromBase64String(shot["data"]!.GetValue<string>()), ct);
    }

    private async Task ReadLoopAsync()
    {
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        try
        {
            while (_socket.State == WebSocketState.Open && !_stop.IsCancellationRequested)
            {
                var read = await _socket.ReceiveAsync(buffer, _stop.Token);
                if (read.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }
                message.Write(buffer, 0, read.Count);
                if (!read.EndOfMessage)
                {
                    continue;
                }
                var node = JsonNode.Parse(message.ToArray())!.AsObject();
                message.SetLength(0);
                if (node["id"] is JsonNode id && _pending.TryRemove(id.GetValue<int>(), out var waiting))
                {
                    waiting.TrySetResult(node);
                }
                else if (node["method"]?.GetValue<string>() is "Runtime.consoleAPICalled" or "Runtime.exceptionThrown" or "Page.javascriptDialogOpening")
                {
                    _events.Enqueue(node);
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException)
        {
        }
        foreach (var waiting in _pending.Values)
        {
            waiting.TrySetException(new InvalidOperationException("the DevTools connection closed"));
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            if (_socket.State == WebSocketState.Open)
            {
                using var closing = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, closing.Token);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
        }
        if (_reader is not null)
        {
            await _reader.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
        _socket.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
        _process.Dispose();
        _stop.Dispose();
        try
        {
            Directory.Delete(_profile, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
