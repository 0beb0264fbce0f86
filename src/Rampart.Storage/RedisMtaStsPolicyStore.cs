using System.Globalization;
using System.Text;
using Rampart.Core.MtaSts;
using StackExchange.Redis;

namespace Rampart.Storage;

/// <summary>
/// The MTA-STS policy cache (RFC 8461 §5) one Redis server keeps for a fleet of daemons: a policy one MTA fetched is
/// enforced by all. One string key per domain (<see cref="KeyPrefix"/> + lower-case domain), its value in
/// <see cref="RedisPolicyValue"/>'s versioned format, its Redis expiry at the policy's ExpiresAt, so the server
/// itself forgets expired policies.
/// </summary>
/// <remarks>
/// <para>
/// Writes are "last writer wins" with one exception, checked on the server in one script: an entry never replaces
/// one fetched later (two daemons refreshing the same domain, the slower one holding the older policy).
/// </para>
/// <para>
/// A cache must never stall a lookup: every round trip has <see cref="RedisPolicyStoreOptions.OperationTimeout"/>
/// (250 ms by default) and fails at once while the connection is down (no queueing); StackExchange.Redis reconnects
/// in the background. Faults are <see cref="RedisPolicyStoreException"/>s, one line naming the server. Bad data is
/// never an exception: a value that does not decode, or whose policy text no longer parses, is deleted and reads as
/// absent (<see cref="DroppedEntries"/>).
/// </para>
/// <para>Whole-cache operations walk the prefix with SCAN in bounded batches (never KEYS, which blocks the server).</para>
/// </remarks>
public sealed class RedisMtaStsPolicyStore : IPersistentMtaStsPolicyStore
{
    /// <summary>
    /// Stores ARGV[1] with expiry ARGV[3] ms unless the stored value was fetched after ARGV[2] (Unix ms). A readable
    /// stored value's DANE verdict (the header's optional sixth field, <see cref="RedisPolicyValue"/>) is carried into
    /// the new value; any value that is not ours (another type, an unreadable header) is replaced. Returns the verdict
    /// now stored: 1 decided without DANE, 0 not.
    /// </summary>
    private const string SetKeepingVerdictScript = """
        local function header(v)
          return string.match(v, '^1 %-?%d+ %-?%d+ %-?%d+ %d+[^\n]*\n')
        end
        local function without(v)
          return string.find(string.match(v, '^[^\n]*'), ' not-without-dane', 1, true) == nil
        end
        local value = ARGV[1]
        local current = redis.pcall('GET', KEYS[1])
        if type(current) == 'string' then
          local fetched = string.match(current, '^%d+ (%-?%d+) ')
          if fetched and tonumber(fetched) > tonumber(ARGV[2]) then
            return without(current) and 1 or 0
          end
          if header(current) then
            local newline = string.find(value, '\n', 1, true)
            local first = (string.gsub(string.sub(value, 1, newline - 1), ' not%-without%-dane$', ''))
            if not without(current) then
              first = first .. ' not-without-dane'
            end
            value = first .. string.sub(value, newline)
          end
        end
        redis.call('SET', KEYS[1], value, 'PX', ARGV[3])
        return without(value) and 1 or 0
        """;

    /// <summary>
    /// Sets the DANE verdict (ARGV[1]: 1 decided without DANE, 0 not) in the header of KEYS[1]'s readable value,
    /// keeping its expiry; a missing or unreadable value is left alone. Returns 1 when written.
    /// </summary>
    private const string SetVerdictScript = """
        local current = redis.pcall('GET', KEYS[1])
        if type(current) ~= 'string' or not string.match(current, '^1 %-?%d+ %-?%d+ %-?%d+ %d+[^\n]*\n') then
          return 0
        end
        local newline = string.find(current, '\n', 1, true)
        local first = (string.gsub(string.sub(current, 1, newline - 1), ' not%-without%-dane$', ''))
        if ARGV[1] == '0' then
          first = first .. ' not-without-dane'
        end
        redis.call('SET', KEYS[1], first .. string.sub(current, newline), 'KEEPTTL')
        return 1
        """;

    /// <summary>
    /// Deletes KEYS[1] if it still holds ARGV[1] (or, with ARGV[2] = 'any-type', if it is not a string at all), so a
    /// value another daemon wrote meanwhile survives. Returns the number deleted.
    /// </summary>
    private const string DeleteIfUnchangedScript = """
        local kind = redis.call('TYPE', KEYS[1]).ok
        if kind == 'none' then
          return 0
        end
        if kind == 'string' then
          if ARGV[2] == 'any-type' or redis.call('GET', KEYS[1]) ~= ARGV[1] then
            return 0
          end
        elseif ARGV[2] ~= 'any-type' then
          return 0
        end
        return redis.call('DEL', KEYS[1])
        """;

    /// <summary>A Set is stored at least this long even when already expired by its own clock.</summary>
    private static readonly TimeSpan s_minimumExpiry = TimeSpan.FromSeconds(1);

    private readonly ConnectionMultiplexer _connection;
    private readonly IDatabase _database;
    private readonly TimeProvider _time;
    private readonly TimeSpan _operationTimeout;
    private readonly int _scanBatch;
    private readonly string _matchPattern;
    private long _dropped;
    private int _disposed;

    private RedisMtaStsPolicyStore(ConnectionMultiplexer connection, RedisServerAddress address, RedisPolicyStoreOptions options, TimeProvider time)
    {
        _connection = connection;
        _database = connection.GetDatabase(address.Database);
        _time = time;
        _operationTimeout = options.OperationTimeout;
        _scanBatch = options.ScanBatchSize;
        KeyPrefix = options.KeyPrefix;
        _matchPattern = EscapeGlob(options.KeyPrefix) + "*";
        Location = address.Location;
    }

    /// <summary>The server and database, e.g. <c>redis://10.0.0.5:6379/0</c> (never the password).</summary>
    public string Location { get; }

    /// <summary>What every key of this store starts with.</summary>
    public string KeyPrefix { get; }

    /// <summary>Values found unreadable (another format, damaged, text that no longer parses) and deleted by this instance.</summary>
    public long DroppedEntries => Interlocked.Read(ref _dropped);

    /// <summary>
    /// Connects to the server in <see cref="RedisPolicyStoreOptions.Url"/> and checks it answers (credentials,
    /// database). The daemon refuses to start on a wrong configuration, so this fails at once rather than waiting for
    /// a server that may come up later; a server that goes away after opening only makes calls fail quickly.
    /// </summary>
    /// <exception cref="Rampart.Core.RampartException">
    /// The url is not usable, or the server cannot be reached or refuses us within
    /// <see cref="RedisPolicyStoreOptions.ConnectTimeout"/>; one line naming the server and what failed.
    /// </exception>
    public static async Task<RedisMtaStsPolicyStore> OpenAsync(
        RedisPolicyStoreOptions options, TimeProvider time, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentException.ThrowIfNullOrEmpty(options.KeyPrefix);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.OperationTimeout, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.ConnectTimeout, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.ScanBatchSize, 1);
        cancellationToken.ThrowIfCancellationRequested();

        var address = RedisServerAddress.Parse(options.Url);
        var configuration = address.ToConfiguration();
        configuration.AbortOnConnectFail = false; // keep reconnecting in the background after a later outage
        configuration.ConnectRetry = 1;
        configuration.ConnectTimeout = Milliseconds(options.ConnectTimeout);
        configuration.SyncTimeout = Milliseconds(options.OperationTimeout);
        configuration.AsyncTimeout = Milliseconds(options.OperationTimeout);
        configuration.BacklogPolicy = BacklogPolicy.FailFast; // while disconnected, fail now instead of queueing
        configuration.ClientName ??= "rampart";
        configuration.CommandMap = CommandMap.Create(["SUBSCRIBE"], available: false); // no pub/sub: one connection, not two

        ConnectionMultiplexer? connection = null;
        using var connectLog = new StringWriter(CultureInfo.InvariantCulture);
        try
        {
            // ConnectAsync returns after its first attempt (AbortOnConnectFail=false); the deadline is a backstop.
            var connect = ConnectionMultiplexer.ConnectAsync(configuration, connectLog);
            var deadline = options.ConnectTimeout + TimeSpan.FromSeconds(1);
            connection = await WithDeadlineAsync(connect, deadline, cancellationToken).ConfigureAwait(false);
            var store = new RedisMtaStsPolicyStore(connection, address, options, time);

            // A real round trip on the chosen database, even when not connected: with FailFast it fails at once, and its
            // exception carries why (refused, no such socket, wrong password, no such database).
            await store.RunAsync("connecting", db => db.KeyExistsAsync(store.KeyPrefix + "\u0001probe"), cancellationToken, options.ConnectTimeout).ConfigureAwait(false);
            return store;
        }
        catch (RedisPolicyStoreException ex)
        {
            await DisposeQuietlyAsync(connection).ConfigureAwait(false);

            // Why the handshake failed is in StackExchange.Redis's connect log, not always in the probe's exception.
            if (IsAuthError(connectLog.ToString()) && !ex.Message.Contains("authentication failed", StringComparison.Ordinal))
            {
                throw new RedisPolicyStoreException(
                    $"redis policy cache '{address.Location}': connecting failed: authentication failed; check the user and password in the url", ex, transient: false);
            }

            throw;
        }
        catch (OperationCanceledException)
        {
            await DisposeQuietlyAsync(connection).ConfigureAwait(false);
            throw;
        }
        catch (Exception ex) when (ex is RedisException or RedisCommandException or TimeoutException or IOException or System.Net.Sockets.SocketException
            or System.Security.Authentication.AuthenticationException or ArgumentException or NotSupportedException)
        {
            await DisposeQuietlyAsync(connection).ConfigureAwait(false);
            throw new RedisPolicyStoreException(
                $"redis policy cache '{address.Location}': cannot connect: {Reason(ex, options.ConnectTimeout)}", ex, transient: IsTransientFault(ex));
        }
    }

    /// <summary>
    /// The cached entry for <paramref name="domain"/> (any case), expired or not by the injected clock; null when
    /// absent or unreadable (it is then deleted).
    /// </summary>
    public async ValueTask<CachedMtaStsPolicy?> GetAsync(string domain, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(domain);
        string name = Name(domain);
        string key = KeyPrefix + name;
        RedisValue value;
        try
        {
            value = await RunAsync($"reading '{name}'", db => db.StringGetAsync(key), cancellationToken).ConfigureAwait(false);
        }
        catch (RedisPolicyStoreException ex) when (ex.InnerException is RedisServerException server && IsWrongType(server))
        {
            await DropAsync(key, RedisValue.Null, cancellationToken).ConfigureAwait(false); // not a string: not ours to read
            return null;
        }

        if (value.IsNull)
        {
            return null;
        }

        if (RedisPolicyValue.TryDecode(name, (byte[])value!) is { } entry)
        {
            return entry;
        }

        await DropAsync(key, value, cancellationToken).ConfigureAwait(false);
        return null;
    }

    /// <summary>
    /// Stores <paramref name="entry"/> (domain lower case) until its ExpiresAt by the injected clock (at least 1 s),
    /// unless the server holds an entry for the domain fetched later: that one is kept. Either way the domain's stored
    /// DANE verdict is kept (<see cref="IMtaStsPolicyStore.SetAsync"/>) and returned with the entry.
    /// </summary>
    public async ValueTask<CachedMtaStsPolicy> SetAsync(CachedMtaStsPolicy entry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentException.ThrowIfNullOrEmpty(entry.Domain);
        ArgumentNullException.ThrowIfNull(entry.Id);
        ArgumentNullException.ThrowIfNull(entry.Policy);
        string name = Name(entry.Domain);
        var expiry = entry.ExpiresAt - _time.GetUtcNow();
        long expiryMs = (long)Math.Ceiling(Math.Max(expiry.TotalMilliseconds, s_minimumExpiry.TotalMilliseconds));
        RedisKey[] keys = [KeyPrefix + name];
        RedisValue[] args =
        [
            RedisPolicyValue.Encode(entry),
            entry.FetchedAt.ToUnixTimeMilliseconds(),
            expiryMs,
        ];
        var withoutDane = await RunAsync($"writing '{name}'", db => db.ScriptEvaluateAsync(SetKeepingVerdictScript, keys, args), cancellationToken).ConfigureAwait(false);
        return entry with { DecidedWithoutDane = (long)withoutDane == 1 };
    }

    /// <summary>Sets the DANE verdict of the domain's stored entry, if there is one, keeping its expiry.</summary>
    public async ValueTask SetDaneVerdictAsync(string domain, bool decidedWithoutDane, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(domain);
        string name = Name(domain);
        RedisKey[] keys = [KeyPrefix + name];
        RedisValue[] args = [decidedWithoutDane ? 1 : 0];
        await RunAsync($"writing the DANE verdict of '{name}'", db => db.ScriptEvaluateAsync(SetVerdictScript, keys, args), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>How many keys carry the prefix (Redis forgets expired ones itself).</summary>
    public async ValueTask<int> CountAsync(CancellationToken cancellationToken = default)
    {
        int count = 0;
        await foreach (var batch in ScanAsync("counting", cancellationToken).ConfigureAwait(false))
        {
            count += batch.Length;
        }

        return count;
    }

    /// <summary>
    /// Deletes entries expired by the injected clock that have no Redis expiry (written by hand or by another tool);
    /// returns how many, usually 0 since Redis expires what this store writes. Unreadable values without expiry go too.
    /// </summary>
    public async ValueTask<int> PurgeExpiredAsync(CancellationToken cancellationToken = default)
    {
        int purged = 0;
        var now = _time.GetUtcNow();
        await foreach (var batch in ScanAsync("purging", cancellationToken).ConfigureAwait(false))
        {
            var ttls = await RunAsync("purging", db => Task.WhenAll(batch.Select(k => db.KeyTimeToLiveAsync(k))), cancellationToken).ConfigureAwait(false);
            RedisKey[] persistent = [.. batch.Where((_, i) => ttls[i] is null)];
            if (persistent.Length == 0)
            {
                continue;
            }

            var values = await RunAsync("purging", db => db.StringGetAsync(persistent), cancellationToken).ConfigureAwait(false);
            for (int i = 0; i < persistent.Length; i++)
            {
                string key = persistent[i]!;
                var entry = values[i].IsNull ? null : RedisPolicyValue.TryDecode(key[KeyPrefix.Length..], (byte[])values[i]!);
                if (entry is null || !entry.IsValidAt(now))
                {
                    purged += await DeleteIfUnchangedAsync(key, values[i], "purging", cancellationToken).ConfigureAwait(false);
                }
            }
        }

        return purged;
    }

    /// <summary>
    /// Every entry still valid by the injected clock, a SCAN batch at a time (only one batch of values is in memory);
    /// unreadable values are deleted and left out.
    /// </summary>
    public async IAsyncEnumerable<CachedMtaStsPolicy> EnumerateValidAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var now = _time.GetUtcNow();
        await foreach (var batch in ScanAsync("loading", cancellationToken).ConfigureAwait(false))
        {
            var values = await RunAsync("loading", db => db.StringGetAsync(batch), cancellationToken).ConfigureAwait(false);
            for (int i = 0; i < batch.Length; i++)
            {
                if (values[i].IsNull)
                {
                    continue; // expired or deleted since the scan (or not a string: GetAsync drops those)
                }

                string key = batch[i]!;
                string name = key[KeyPrefix.Length..];
                var entry = name == Name(name) ? RedisPolicyValue.TryDecode(name, (byte[])values[i]!) : null;
                if (entry is null)
                {
                    await DropAsync(key, values[i], cancellationToken).ConfigureAwait(false);
                }
                else if (entry.IsValidAt(now))
                {
                    yield return entry;
                }
            }
        }
    }

    /// <summary>Closes the connection. Later calls throw <see cref="ObjectDisposedException"/>.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            await DisposeQuietlyAsync(_connection).ConfigureAwait(false);
        }
    }

    /// <summary>The keys under the prefix, each once, in batches of about <see cref="RedisPolicyStoreOptions.ScanBatchSize"/>.</summary>
    private async IAsyncEnumerable<RedisKey[]> ScanAsync(string action, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // SCAN may return a key twice (the table is rehashed meanwhile): count each once.
        var seen = new HashSet<string>(StringComparer.Ordinal);
        RedisValue cursor = "0";
        do
        {
            var reply = await RunAsync(action,
                db => db.ExecuteAsync("SCAN", cursor, "MATCH", _matchPattern, "COUNT", _scanBatch), cancellationToken).ConfigureAwait(false);
            var parts = (RedisResult[])reply!;
            cursor = (RedisValue)parts[0];
            RedisKey[] fresh = [.. ((RedisKey[])parts[1]!).Where(k => seen.Add(k!))];
            if (fresh.Length > 0)
            {
                yield return fresh;
            }
        }
        while (cursor != "0");
    }

    /// <summary>Deletes an unreadable value (unless rewritten meanwhile) and counts it.</summary>
    private async Task DropAsync(string key, RedisValue badValue, CancellationToken cancellationToken)
    {
        if (await DeleteIfUnchangedAsync(key, badValue, "dropping an unreadable entry", cancellationToken).ConfigureAwait(false) > 0)
        {
            Interlocked.Increment(ref _dropped);
        }
    }

    private async Task<int> DeleteIfUnchangedAsync(string key, RedisValue expected, string action, CancellationToken cancellationToken)
    {
        RedisKey[] keys = [key];
        RedisValue[] args = expected.IsNull ? ["", "any-type"] : [expected, "same-value"];
        var deleted = await RunAsync(action, db => db.ScriptEvaluateAsync(DeleteIfUnchangedScript, keys, args), cancellationToken).ConfigureAwait(false);
        return (int)deleted;
    }

    /// <summary>
    /// One round trip with this store's deadline; every failure becomes a <see cref="RedisPolicyStoreException"/>
    /// naming the server, except cancellation by <paramref name="cancellationToken"/>.
    /// </summary>
    private async Task<T> RunAsync<T>(string action, Func<IDatabase, Task<T>> operation, CancellationToken cancellationToken, TimeSpan? timeout = null)
    {
        var deadline = timeout ?? _operationTimeout;
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            return await WithDeadlineAsync(operation(_database), deadline, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex) when (ex is RedisException or RedisCommandException or TimeoutException or IOException or ObjectDisposedException or InvalidOperationException)
        {
            if (ex is ObjectDisposedException && Volatile.Read(ref _disposed) != 0)
            {
                throw;
            }

            throw new RedisPolicyStoreException($"redis policy cache '{Location}': {action} failed: {Reason(ex, deadline)}", ex, IsTransientFault(ex));
        }
    }

    /// <summary>
    /// Waits for <paramref name="task"/> at most <paramref name="deadline"/>. StackExchange.Redis checks its own
    /// timeouts only on its heartbeat (about once a second); this bounds the wait precisely. A task left behind is
    /// observed so its late failure is not reported as unobserved.
    /// </summary>
    private static async Task<T> WithDeadlineAsync<T>(Task<T> task, TimeSpan deadline, CancellationToken cancellationToken)
    {
        try
        {
            return await task.WaitAsync(deadline, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException && !task.IsCompleted)
        {
            _ = task.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
            throw;
        }
    }

    private static async Task DisposeQuietlyAsync(ConnectionMultiplexer? connection)
    {
        if (connection is null)
        {
            return;
        }

        try
        {
            await connection.CloseAsync(allowCommandsToComplete: false).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisException or IOException or ObjectDisposedException or TimeoutException)
        {
            // closing a connection to a server that is gone: nothing left to release but the multiplexer itself
        }
        finally
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>What went wrong, in one short line (StackExchange.Redis's own messages carry pages of diagnostics).</summary>
    private static string Reason(Exception ex, TimeSpan operationTimeout)
    {
        var chain = Chain(ex).ToList();
        if (chain.Any(e => e is RedisConnectionException { FailureType: ConnectionFailureType.AuthenticationFailure }
            || (e is RedisServerException or RedisConnectionException && IsAuthError(e.Message))))
        {
            return "authentication failed; check the user and password in the url";
        }

        if (chain.OfType<System.Net.Sockets.SocketException>().FirstOrDefault() is { } socket)
        {
            return $"no connection to the server ({Short(socket.Message).ToLowerInvariant()})";
        }

        return ex switch
        {
            TimeoutException => $"no answer within {Describe(operationTimeout)} (the server is slow, blocked or unreachable)",
            RedisConnectionException connection => $"no connection to the server ({Words((chain.OfType<RedisConnectionException>().LastOrDefault() ?? connection).FailureType.ToString())})",
            RedisServerException server => $"the server said: {Short(server.Message)}",
            _ => Short(ex.Message),
        };
    }

    private static IEnumerable<Exception> Chain(Exception ex)
    {
        for (Exception? e = ex; e is not null; e = e.InnerException)
        {
            yield return e;
        }
    }

    private static bool IsAuthError(string message) =>
        message.Contains("NOAUTH", StringComparison.Ordinal) || message.Contains("WRONGPASS", StringComparison.Ordinal)
        || message.Contains(nameof(ConnectionFailureType.AuthenticationFailure), StringComparison.Ordinal);

    private static bool IsTransientFault(Exception ex) =>
        (ex is TimeoutException or IOException or System.Net.Sockets.SocketException or RedisConnectionException)
        && !Chain(ex).Any(e => e is RedisConnectionException { FailureType: ConnectionFailureType.AuthenticationFailure } || IsAuthError(e.Message));

    private static bool IsWrongType(RedisServerException ex) => ex.Message.StartsWith("WRONGTYPE", StringComparison.Ordinal);

    private static string Short(string message)
    {
        string line = message.ReplaceLineEndings(" ").Trim().TrimEnd('.');
        return line.Length <= 160 ? line : line[..160] + "…";
    }

    /// <summary>"UnableToConnect" → "unable to connect".</summary>
    private static string Words(string pascal)
    {
        var words = new StringBuilder(pascal.Length + 8);
        foreach (char c in pascal)
        {
            if (char.IsUpper(c) && words.Length > 0)
            {
                words.Append(' ');
            }
            words.Append(char.ToLowerInvariant(c));
        }

        return words.ToString();
    }

    private static string Describe(TimeSpan span) =>
        span.TotalMilliseconds < 10_000
            ? string.Create(CultureInfo.InvariantCulture, $"{span.TotalMilliseconds:0} ms")
            : string.Create(CultureInfo.InvariantCulture, $"{span.TotalSeconds:0} s");

    private static int Milliseconds(TimeSpan span) => (int)Math.Clamp(Math.Ceiling(span.TotalMilliseconds), 1, int.MaxValue);

    private static string Name(string domain) => domain.ToLowerInvariant();

    /// <summary>The prefix as a literal in a SCAN MATCH glob.</summary>
    private static string EscapeGlob(string prefix)
    {
        var escaped = new StringBuilder(prefix.Length + 4);
        foreach (char c in prefix)
        {
            if (c is '*' or '?' or '[' or ']' or '\\')
            {
                escaped.Append('\\');
            }
            escaped.Append(c);
        }

        return escaped.ToString();
    }
}
