using System.Collections.Concurrent;
using Rampart.Postfix.Exim;

namespace Rampart.Postfix.Tests.Fakes;

/// <summary>An Exim responder whose behaviour is chosen by the key: <c>secure mx.KEY</c> for most keys.</summary>
internal sealed class FakeEximResponder : IEximResponder
{
    /// <summary>Waits for cancellation (a lookup that honours its deadline).</summary>
    public const string Slow = "slow.example";

    public const string Throws = "throws.example";

    private readonly ConcurrentQueue<string> _calls = new();

    public IReadOnlyCollection<string> Calls => _calls;

    public async ValueTask<EximReply> RespondAsync(string key, CancellationToken cancellationToken)
    {
        _calls.Enqueue(key);
        switch (key)
        {
            case Slow:
                await Task.Delay(Timeout.Infinite, cancellationToken);
                break;
            case Throws:
                await Task.Yield();
                throw new InvalidOperationException("responder failed");
        }
        return EximReply.Secure(["mx." + key]);
    }
}
