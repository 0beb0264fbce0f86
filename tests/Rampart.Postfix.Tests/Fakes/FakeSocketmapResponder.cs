using System.Collections.Concurrent;
using Rampart.Postfix.Socketmap;

namespace Rampart.Postfix.Tests.Fakes;

/// <summary>
/// A responder whose behaviour is chosen by the key, so one server can show every outcome. Like the daemon's responder
/// it answers NOTFOUND for parent-domain probes and non-domains; otherwise <c>OK &lt;map&gt;:&lt;key&gt;</c>.
/// </summary>
internal sealed class FakeSocketmapResponder : ISocketmapResponder, IDisposable
{
    /// <summary>Waits for cancellation (a lookup that honours its deadline).</summary>
    public const string Slow = "slow.example";

    /// <summary>Ignores cancellation and never finishes until the test ends.</summary>
    public const string Stuck = "stuck.example";

    public const string Throws = "throws.example";
    public const string ThrowsSynchronously = "throws-sync.example";
    public const string ThrowsTimeout = "throws-timeout.example";
    public const string ReturnsNull = "null.example";

    /// <summary>Reply of exactly <see cref="SocketmapReply.MaxBytes"/> bytes.</summary>
    public const string Biggest = "biggest.example";

    /// <summary>Reply one byte over <see cref="SocketmapReply.MaxBytes"/>.</summary>
    public const string TooBig = "toobig.example";

    /// <summary>Waits for <see cref="OpenGate"/>.</summary>
    public const string Gated = "gated.example";

    /// <summary>Works synchronously, holding its thread, until <see cref="OpenGate"/> (at most 10 s): one connection's burst.</summary>
    public const string HoldsThread = "holds-thread.example";

    private readonly TaskCompletionSource _never = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ConcurrentQueue<(string MapName, string Key)> _calls = new();
    private readonly SemaphoreSlim _entered = new(0);

    public IReadOnlyCollection<(string MapName, string Key)> Calls => _calls;

    /// <summary>Cancellation tokens seen by slow lookups, once they were cancelled.</summary>
    public ConcurrentQueue<string> Cancelled { get; } = new();

    public void OpenGate() => _gate.TrySetResult();

    /// <summary>Waits until a slow/stuck/gated lookup has started.</summary>
    public async Task WaitEnteredAsync(CancellationToken ct) =>
        Assert.True(await _entered.WaitAsync(TimeSpan.FromSeconds(10), ct), "the lookup never started");

    public ValueTask<SocketmapReply> RespondAsync(string mapName, string key, CancellationToken cancellationToken)
    {
        _calls.Enqueue((mapName, key));
        if (key == HoldsThread)
        {
            _entered.Release();
            _gate.Task.Wait(TimeSpan.FromSeconds(10), CancellationToken.None);
        }
        return key == ThrowsSynchronously
            ? throw new InvalidOperationException("synchronous failure")
            : RespondCoreAsync(mapName, key, cancellationToken);
    }

    public void Dispose()
    {
        _never.TrySetResult();
        _gate.TrySetResult();
        _entered.Dispose();
    }

    private async ValueTask<SocketmapReply> RespondCoreAsync(string mapName, string key, CancellationToken ct)
    {
        await Task.Yield();
        switch (key)
        {
            case Slow:
                _entered.Release();
                try
                {
                    await Task.Delay(Timeout.Infinite, ct);
                }
                catch (OperationCanceledException)
                {
                    Cancelled.Enqueue(key);
                    throw;
                }

                break;
            case Stuck:
                _entered.Release();
                await _never.Task;
                return SocketmapReply.Ok("too late");
            case Gated:
                _entered.Release();
                await _gate.Task.WaitAsync(ct);
                break;
            case Throws:
                throw new InvalidOperationException("asynchronous failure");
            case ThrowsTimeout:
                throw new TimeoutException("the responder's own timeout");
            case ReturnsNull:
                return null!;
            case Biggest:
                return SocketmapReply.Ok(new string('x', SocketmapReply.MaxBytes - "OK ".Length));
            case TooBig:
                return SocketmapReply.Ok(new string('x', SocketmapReply.MaxBytes - "OK ".Length + 1));
        }

        return SocketmapKey.Normalize(key, out _) == SocketmapKeyKind.Domain
            ? SocketmapReply.Ok(mapName + ":" + key)
            : SocketmapReply.NotFound;
    }
}
