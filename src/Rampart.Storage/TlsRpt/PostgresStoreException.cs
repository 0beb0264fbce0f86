using Rampart.Core;

namespace Rampart.Storage.TlsRpt;

/// <summary>
/// The PostgreSQL report store failed: the server is unreachable or too slow, refused the credentials, or refused a
/// statement. The message is one line naming the server (never the password), what failed and what to do.
/// <see cref="IsTransient"/> is true when trying again later may help (no connection, a server starting or shutting
/// down, a serialization failure).
/// </summary>
public sealed class PostgresStoreException : RampartException
{
    private readonly bool _transient;

    public PostgresStoreException() { }

    public PostgresStoreException(string message) : base(message) { }

    public PostgresStoreException(string message, Exception? innerException) : base(message, innerException) { }

    internal PostgresStoreException(string message, Exception? innerException, bool transient) : base(message, innerException) =>
        _transient = transient;

    /// <inheritdoc />
    public override bool IsTransient => _transient;
}
