using System.Net;
using Rampart.Core.Dns;

namespace Rampart.Core.Tests.Fakes;

/// <summary>
/// A resolver whose every answer waits for the next round: the test releases all questions asked so far at once, as a
/// network with one fixed delay per query would answer them. The number of rounds a decision needed is the number of
/// DNS round trips it made in sequence (issue 18), counted without a clock. Answers come from <paramref name="answers"/>.
/// </summary>
internal sealed class RoundTripDns(IDnsResolver answers) : IDnsResolver
{
    private readonly Lock _lock = new();
    private List<Action> _waiting = [];
    private int _asked;

    /// <summary>Questions asked so far, and how many are waiting for the next round.</summary>
    public (int Asked, int Waiting) State
    {
        get
        {
            lock (_lock)
            {
                return (_asked, _waiting.Count);
            }
        }
    }

    /// <summary>
    /// Runs <paramref name="work"/> and answers its questions round by round: a round is released once the work has
    /// asked everything it can ask without an answer (nothing new for 200 ms, generous under load; at most 30 s in all). Returns the result
    /// and the number of rounds.
    /// </summary>
    public async Task<(T Result, int Rounds)> CountRoundsAsync<T>(Func<Task<T>> work)
    {
        var task = work();
        int rounds = 0;
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!task.IsCompleted)
        {
            var seen = State;
            int still = 0;
            while (!task.IsCompleted && still < 20)
            {
                await Task.Delay(10, bound.Token);
                var now = State;
                still = now == seen && now.Waiting > 0 ? still + 1 : 0;
                seen = now;
            }
            if (task.IsCompleted)
            {
                break;
            }
            List<Action> release;
            lock (_lock)
            {
                (release, _waiting) = (_waiting, []);
            }
            rounds++;
            release.ForEach(answer => answer());
        }
        return (await task, rounds);
    }

    public Task<DnsResult<string>> QueryTxtAsync(string name, CancellationToken cancellationToken) =>
        Wait(() => answers.QueryTxtAsync(name, cancellationToken));

    public Task<DnsResult<MxRecord>> QueryMxAsync(string name, CancellationToken cancellationToken) =>
        Wait(() => answers.QueryMxAsync(name, cancellationToken));

    public Task<DnsResult<IPAddress>> QueryAddressesAsync(string name, CancellationToken cancellationToken) =>
        Wait(() => answers.QueryAddressesAsync(name, cancellationToken));

    public Task<DnsResult<TlsaRecordData>> QueryTlsaAsync(string name, CancellationToken cancellationToken) =>
        Wait(() => answers.QueryTlsaAsync(name, cancellationToken));

    private Task<T> Wait<T>(Func<Task<T>> ask)
    {
        var answer = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lock)
        {
            _asked++;
            _waiting.Add(() => ask().ContinueWith(t => answer.SetResult(t.Result), TaskScheduler.Default));
        }
        return answer.Task;
    }
}
