namespace Rampart.Storage;

/// <summary>Settings of the Redis policy cache shared by a fleet of daemons (<see cref="RedisMtaStsPolicyStore"/>).</summary>
public sealed class RedisPolicyStoreOptions
{
    /// <summary>The default <see cref="KeyPrefix"/>.</summary>
    public const string DefaultKeyPrefix = "rampart:mta-sts:";

    /// <summary>
    /// Where the server is: postfix-mta-sts-resolver's <c>cache.options.url</c> (<c>redis://[[user]:password@]host[:port][/db]</c>,
    /// <c>rediss://…</c> for TLS, <c>unix://[[user]:password@]/path/redis.sock?db=N</c>) or a StackExchange.Redis
    /// configuration string (<c>host:port,password=…,defaultDatabase=N</c>). See <see cref="RedisServerAddress.Parse"/>.
    /// </summary>
    public string Url { get; set; } = "";

    /// <summary>
    /// Prepended to the lower-case domain to form each key, so several programs (or several Rampart fleets) can share
    /// one server. Every daemon of a fleet must use the same prefix to share entries.
    /// </summary>
    public string KeyPrefix { get; set; } = DefaultKeyPrefix;

    /// <summary>
    /// Longest wait for one answer from the server. A lookup must never stall on a slow cache: past this the
    /// operation fails (a <see cref="RedisPolicyStoreException"/>) and the caller goes on without the cache.
    /// </summary>
    public TimeSpan OperationTimeout { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Longest wait for the connection when opening (and for each reconnection attempt later).</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Keys asked for per SCAN round trip (its COUNT hint) by the whole-cache operations.</summary>
    public int ScanBatchSize { get; set; } = 500;
}
