using System.Collections.Concurrent;
using Microsoft.Extensions.Time.Testing;

namespace Rampart.Postfix.Tests.Fakes;

/// <summary>
/// A <see cref="FakeTimeProvider"/> that tells when a timer with a given due time has been created, so a test advances
/// time only once the code under test has armed its deadline (instead of sleeping and hoping it has).
/// </summary>
internal sealed class TimerWatchingTimeProvider : FakeTimeProvider
{
    private readonly ConcurrentDictionary<TimeSpan, TaskCompletionSource> _created = new();

    /// <summary>Completes once a timer due after <paramref name="dueTime"/> has been created.</summary>
    public Task CreatedAsync(TimeSpan dueTime) => Created(dueTime).Task;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = base.CreateTimer(callback, state, dueTime, period);
        Created(dueTime).TrySetResult();
        return timer;
    }

    private TaskCompletionSource Created(TimeSpan dueTime) =>
        _created.GetOrAdd(dueTime, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
}
