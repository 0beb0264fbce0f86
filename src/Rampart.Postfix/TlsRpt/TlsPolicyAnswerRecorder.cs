using System.Security.Cryptography;
using System.Text;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Rampart.Core;
using Rampart.Core.Policy;
using Rampart.Core.TlsRpt;

namespace Rampart.Postfix.TlsRpt;

/// <summary>
/// Keeps the daemon's record of what it answered per next-hop domain (<see cref="TlsPolicyAnswer"/>) for the Postfix 3.7
/// log source: each decision the policy caches make (<see cref="SenderPolicyDecided"/>) becomes an answer, recorded
/// when it differs from the domain's last one. Lookups never wait for it: answers are queued (at most
/// <see cref="QueueCapacity"/>; past that they are dropped and counted) and written in batches by a task of its own.
/// </summary>
internal sealed partial class TlsPolicyAnswerRecorder
{
    /// <summary>Answers waiting to be written at most.</summary>
    public const int QueueCapacity = 10_000;

    private const int MaxBatch = 1000;

    private readonly ITlsPolicyAnswerStore _store;
    private readonly TimeProvider _time;
    private readonly Func<ILogger> _log;
    private readonly Channel<TlsPolicyAnswer> _queue = Channel.CreateBounded<TlsPolicyAnswer>(
        new BoundedChannelOptions(QueueCapacity) { SingleReader = true, FullMode = BoundedChannelFullMode.DropWrite });

    // Per domain, a 64-bit hash of its last answer: 100,000 domains cost a few MiB, not their policies.
    private readonly Dictionary<string, ulong> _last = new(StringComparer.Ordinal);
    private readonly Lock _lastLock = new();
    /// <summary>How long a superseded answer is kept: long enough to replay a week of rotated logs with <c>ingest-log</c>.</summary>
    public static readonly TimeSpan Keep = TimeSpan.FromDays(8);

    private DateTimeOffset _purgedAt = DateTimeOffset.MinValue;
    private long _dropped;
    private StoreFaultLatch _fault;

    /// <param name="log">The logger, read when something is logged (the daemon's exists only once its host does).</param>
    public TlsPolicyAnswerRecorder(ITlsPolicyAnswerStore store, TimeProvider time, Func<ILogger> log)
    {
        _store = store;
        _time = time;
        _log = log;
    }

    /// <summary>Answers dropped because the queue was full.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Takes a decision (the caches' callback; cheap, never blocks). A refresh that failed and kept the previous answer records nothing.</summary>
    public void Decided(SenderPolicyDecided decided)
    {
        ArgumentNullException.ThrowIfNull(decided);
        if (decided.KeptInstead is not null)
        {
            return; // Postfix is still answered the previous decision, already recorded
        }
        var answer = TlsPolicyAnswer.For(decided.Decision, _time.GetUtcNow());
        var hash = Hash(answer);
        lock (_lastLock)
        {
            if (_last.TryGetValue(answer.Domain, out var last) && last == hash)
            {
                return;
            }
            _last[answer.Domain] = hash;
        }
        if (!_queue.Writer.TryWrite(answer))
        {
            Interlocked.Increment(ref _dropped);
            lock (_lastLock)
            {
                _last.Remove(answer.Domain); // recorded with the next decision
            }
        }
    }

    /// <summary>Writes what is queued until <paramref name="stop"/>, then what is left. Never throws but for a bug.</summary>
    public async Task RunAsync(CancellationToken stop)
    {
        var batch = new List<TlsPolicyAnswer>(MaxBatch);
        try
        {
            while (await _queue.Reader.WaitToReadAsync(stop).ConfigureAwait(false))
            {
                await DrainAsync(batch, stop).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        await DrainAsync(batch, CancellationToken.None).ConfigureAwait(false);
    }

    private async Task DrainAsync(List<TlsPolicyAnswer> batch, CancellationToken stop)
    {
        while (_queue.Reader.TryRead(out var answer))
        {
            batch.Add(answer);
            if (batch.Count < MaxBatch && _queue.Reader.Count > 0)
            {
                continue;
            }
            try
            {
                await _store.RecordAsync(batch, CancellationToken.None).ConfigureAwait(false);
                _fault.Clear();
                var now = _time.GetUtcNow();
                if (now - _purgedAt >= TimeSpan.FromHours(1))
                {
                    // Answers superseded more than Keep ago go (each domain's answer in force stays).
                    _purgedAt = now;
                    await _store.PurgeBeforeAsync(now - Keep, CancellationToken.None).ConfigureAwait(false);
                }
            }
            catch (RampartException ex)
            {
                Interlocked.Add(ref _dropped, batch.Count);
                lock (_lastLock)
                {
                    batch.ForEach(a => _last.Remove(a.Domain));
                }
                if (_fault.Fail())
                {
                    LogFault(_log(), ex.Message);
                }
                if (!stop.IsCancellationRequested)
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), _time, CancellationToken.None).ConfigureAwait(false);
                }
            }
            batch.Clear();
        }
    }

    private static ulong Hash(TlsPolicyAnswer answer)
    {
        var text = new StringBuilder(256).Append(answer.Policy.PolicyType).Append('\n').Append(answer.Policy.PolicyDomain).Append('\n')
            .Append(answer.PolicyFailure).Append('\n').AppendJoin('\u0001', answer.Policy.PolicyStrings).Append('\n').AppendJoin('\u0001', answer.Policy.MxHostPatterns);
        return BitConverter.ToUInt64(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }

    [LoggerMessage(EventId = 366, Level = LogLevel.Error,
        Message = "TLS-RPT: the daemon's answers cannot be recorded (logged sessions to those domains will lack their policy): {Message}")]
    private static partial void LogFault(ILogger logger, string message);
}
