using System.Text;
using Rampart.Core.MtaSts;

namespace Rampart.Core.Tests.Fakes;

/// <summary>Serves policy bodies from a table; a domain without an entry fails with the configured error.</summary>
internal sealed class FakePolicyFetcher : IMtaStsPolicyFetcher
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, MtaStsFetchResult> _results = new(StringComparer.OrdinalIgnoreCase);
    private int _fetches;

    public int Fetches => Volatile.Read(ref _fetches);

    public FakePolicyFetcher Serve(string domain, string body)
    {
        _results[domain] = new(MtaStsFetchError.None, MtaStsPolicyFetcher.PolicyUrl(domain), "fake fetch", 200, Encoding.UTF8.GetBytes(body));
        return this;
    }

    public FakePolicyFetcher Fail(string domain, MtaStsFetchError error)
    {
        _results[domain] = new(error, MtaStsPolicyFetcher.PolicyUrl(domain), $"fake {error}");
        return this;
    }

    /// <summary>When set, each fetch signals <see cref="Started"/> and then waits for this before it answers.</summary>
    public TaskCompletionSource? Hold { get; set; }

    /// <summary>Completed when a fetch has begun while <see cref="Hold"/> is set.</summary>
    public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public async Task<MtaStsFetchResult> FetchAsync(string domain, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _fetches);
        if (Hold is { } hold)
        {
            Started.TrySetResult();
            await hold.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        return _results.TryGetValue(domain, out var result)
            ? result
            : new MtaStsFetchResult(MtaStsFetchError.ConnectFailed, MtaStsPolicyFetcher.PolicyUrl(domain), "fake: no server");
    }
}
