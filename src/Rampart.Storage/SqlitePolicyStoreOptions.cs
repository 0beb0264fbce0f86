namespace Rampart.Storage;

/// <summary>Settings of the embedded SQLite policy cache (<see cref="SqliteMtaStsPolicyStore"/>).</summary>
public sealed class SqlitePolicyStoreOptions
{
    /// <summary>The cache's file name inside the state directory.</summary>
    public const string FileName = "policy-cache.sqlite";

    /// <summary>Default bound on the number of cached domains.</summary>
    public const int DefaultMaxEntries = 100_000;

    /// <summary>
    /// Most domains kept. Inserting a new domain into a full cache first drops expired entries, then the oldest
    /// fetched, as <see cref="Rampart.Core.MtaSts.InMemoryMtaStsPolicyStore"/> does.
    /// </summary>
    public int MaxEntries { get; set; } = DefaultMaxEntries;

    /// <summary>How long a statement waits for another process's lock on the file (SQLite busy_timeout).</summary>
    public TimeSpan BusyTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The cache file in <paramref name="stateDirectory"/>.</summary>
    public static string PathIn(string stateDirectory)
    {
        ArgumentException.ThrowIfNullOrEmpty(stateDirectory);
        return Path.Combine(stateDirectory, FileName);
    }
}
