namespace Rampart.Core.Tests;

/// <summary>One run per key at a time, shared by every caller, freed when it completes.</summary>
public class SingleFlightTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private readonly SingleFlight<string, int> _flights = new(StringComparer.OrdinalIgnoreCase);

    [Fact]
    public async Task Run_ConcurrentCallersOfOneKey_ShareOneRun()
    {
        var release = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = 0;
        Task<int> Work(string _)
        {
            Interlocked.Increment(ref started);
            return release.Task;
        }

        var first = _flights.Run("a.example", Work, out var firstJoined);
        var second = _flights.Run("A.EXAMPLE", Work, out var secondJoined);
        var other = _flights.Run("b.example", _ => Task.FromResult(7), out _);
        release.SetResult(42);

        Assert.False(firstJoined);
        Assert.True(secondJoined);
        Assert.Same(first, second);
        Assert.Equal(1, started);
        Assert.Equal(42, await second);
        Assert.Equal(7, await other);
    }

    [Fact]
    public async Task Run_AfterTheRunCompletes_KeyIsFreeAndTheNextCallerStartsANewRun()
    {
        var release = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var run = _flights.Run("a.example", _ => release.Task, out _);
        Assert.Same(run, _flights.InFlight("a.example"));
        Assert.Equal(1, _flights.Count);

        release.SetResult(1);
        await run;

        Assert.Null(_flights.InFlight("a.example"));
        Assert.Equal(0, _flights.Count);
        Assert.Equal(2, await _flights.Run("a.example", _ => Task.FromResult(2), out var joined));
        Assert.False(joined);
    }

    [Fact]
    public async Task Run_OneCallerCancels_TheSharedRunGoesOnForTheOthers()
    {
        var release = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var giveUp = new CancellationTokenSource();
        var shared = _flights.Run("a.example", _ => release.Task, out _);
        var impatient = _flights.Run("a.example", _ => throw new InvalidOperationException("not called"), out _).WaitAsync(giveUp.Token);

        await giveUp.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => impatient);
        Assert.False(shared.IsCompleted);
        release.SetResult(5);

        Assert.Equal(5, await shared);
    }

    [Fact]
    public async Task Run_WorkFails_EveryWaiterSeesTheExceptionAndTheKeyIsFreed()
    {
        var release = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var first = _flights.Run("a.example", _ => release.Task, out _);
        var second = _flights.Run("a.example", _ => Task.FromResult(0), out _);

        release.SetException(new TimeoutException("resolver did not answer"));

        Assert.Equal("resolver did not answer", (await Assert.ThrowsAsync<TimeoutException>(() => first)).Message);
        Assert.Equal("resolver did not answer", (await Assert.ThrowsAsync<TimeoutException>(() => second)).Message);
        Assert.Null(_flights.InFlight("a.example"));
    }

    [Fact]
    public async Task Run_WorkThrowsBeforeReturningATask_AFaultedRunAndTheKeyIsFreed()
    {
        var run = _flights.Run("a.example", _ => throw new InvalidOperationException("bad input"), out _);

        await Assert.ThrowsAsync<InvalidOperationException>(() => run);
        Assert.Null(_flights.InFlight("a.example"));
        Assert.Equal(3, await _flights.Run("a.example", _ => Task.FromResult(3), out _).WaitAsync(Ct));
    }
}
