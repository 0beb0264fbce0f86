using System.Runtime.CompilerServices;

namespace Rampart.Postfix.Socketmap;

/// <summary>
/// Where a connection that has more requests queued than one turn answers (<c>RepliesPerTurn</c>) continues: one lane,
/// shared by all such connections, that runs one turn at a time. Postfix sends a request and waits for its reply, so
/// its lookups never reach the end of a turn and never enter the lane; a peer that pipelines (a bulk client, or a
/// flood of connections that never read their replies) answers its backlog here, on at most one thread, and the other
/// cores stay free for the one-at-a-time lookups that mail is waiting for (docs/benchmarks.md §10).
/// </summary>
/// <remarks>
/// Only the synchronous part of a turn holds the lane: when the turn awaits something that is not done (a lookup that
/// asks DNS, a flush to a peer that does not read, the next read), its continuation runs on the thread pool and the
/// lane takes the next turn. The lane runs at most <see cref="TurnsPerVisit"/> turns before it queues itself behind the
/// thread pool's other work again. Code on the lane sees <see cref="TaskScheduler.Default"/> as its current scheduler.
/// </remarks>
internal static class PipelinedTurns
{
    /// <summary>Turns the lane runs before it lets the thread pool's queued work go first.</summary>
    private const int TurnsPerVisit = 8;

    private static readonly TaskScheduler s_lane =
        new ConcurrentExclusiveSchedulerPair(TaskScheduler.Default, maxConcurrencyLevel: 1, maxItemsPerTask: TurnsPerVisit)
            .ConcurrentScheduler;

    /// <summary>Ends the current turn: <c>await PipelinedTurns.NextAsync()</c> continues in the lane.</summary>
    public static LaneAwaitable NextAsync() => default;

    public readonly struct LaneAwaitable
    {
        public LaneAwaiter GetAwaiter() => default;
    }

    public readonly struct LaneAwaiter : ICriticalNotifyCompletion
    {
        public bool IsCompleted => false;

        public void OnCompleted(Action continuation) => Queue(continuation);

        public void UnsafeOnCompleted(Action continuation) => Queue(continuation);

        public void GetResult()
        {
        }

        private static void Queue(Action continuation) =>
            _ = Task.Factory.StartNew(continuation, CancellationToken.None,
                TaskCreationOptions.DenyChildAttach | TaskCreationOptions.HideScheduler, s_lane);
    }
}
