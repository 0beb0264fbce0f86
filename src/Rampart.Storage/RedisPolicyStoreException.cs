using Rampart.Core;

namespace Rampart.Storage;

/// <summary>
/// The Redis policy cache failed: the server is unreachable, too slow, refused the credentials or the command. The
/// message is one line naming the server (never the password) and what failed. <see cref="IsTransient"/> is true
/// when the server may come back (no connection, no answer in time): the caller goes on without the cache.
/// </summary>
public sealed class RedisPolicyStoreException : RampartException
{
    private readonly bool _transient;

    public RedisPolicyStoreException() { }

    public RedisPolicyStoreException(string message) : base(message) { }

    public RedisPolicyStoreException(string message, Exception? innerException) : base(message, innerException) { }

    internal RedisPolicyStoreException(string message, Exception? innerException, bool transient) : base(message, innerException) =>
        _transient = transient;

    /// <inheritdoc />
    public override bool IsTransient => _transient;
}
