using Microsoft.Data.Sqlite;

namespace Rampart.Storage;

/// <summary>
/// A SQLite store's one connection and the gate that lets one caller at a time use it (Microsoft.Data.Sqlite
/// connections are not thread-safe). Each call does <see cref="EnterAsync"/>, uses <see cref="Connection"/>, then
/// <see cref="Exit"/> in a <c>finally</c>.
/// </summary>
internal sealed class SerializedConnection : IAsyncDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly string _owner;
    private bool _disposed;

    /// <param name="connection">The open connection; it is closed by <see cref="DisposeAsync"/>.</param>
    /// <param name="owner">The store's name, for the <see cref="ObjectDisposedException"/> of calls after disposal.</param>
    public SerializedConnection(SqliteConnection connection, string owner)
    {
        Connection = connection;
        _owner = owner;
    }

    /// <summary>The connection; use it only between <see cref="EnterAsync"/> and <see cref="Exit"/>.</summary>
    public SqliteConnection Connection { get; }

    /// <summary>Waits for the gate.</summary>
    /// <exception cref="ObjectDisposedException">The connection is closed (the gate is not held then).</exception>
    public async Task EnterAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        if (_disposed)
        {
            _gate.Release();
            throw new ObjectDisposedException(_owner);
        }
    }

    /// <summary>Lets the next caller in.</summary>
    public void Exit() => _gate.Release();

    /// <summary>
    /// Runs <paramref name="body"/> holding the gate; a SQLite fault becomes <paramref name="fault"/>'s one-line
    /// exception (<see cref="StateFiles.Fault"/>, naming the file and what failed).
    /// </summary>
    public async Task<T> UseAsync<T>(Func<Task<T>> body, Func<SqliteException, Exception> fault, CancellationToken cancellationToken)
    {
        await EnterAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await body().ConfigureAwait(false);
        }
        catch (SqliteException ex)
        {
            throw fault(ex);
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>A command on <see cref="Connection"/> (use it between <see cref="EnterAsync"/> and <see cref="Exit"/>), in <paramref name="transaction"/> when given.</summary>
    public SqliteCommand Command(string sql, SqliteTransaction? transaction = null)
    {
        var command = Connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        return command;
    }

    /// <summary>
    /// Closes the connection once, after the calls already waiting have finished; later calls to
    /// <see cref="EnterAsync"/> throw <see cref="ObjectDisposedException"/>.
    /// </summary>
    public ValueTask DisposeAsync() => DisposeAsync(null);

    /// <summary>
    /// As <see cref="DisposeAsync()"/>; <paramref name="beforeClose"/> (when given) runs first, once, under the gate:
    /// the store disposes its prepared commands there, before their connection.
    /// </summary>
    public async ValueTask DisposeAsync(Func<ValueTask>? beforeClose)
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            if (beforeClose is not null)
            {
                await beforeClose().ConfigureAwait(false);
            }
            await Connection.DisposeAsync().ConfigureAwait(false); // the last connection checkpoints and removes the WAL
        }
        finally
        {
            _gate.Release();
        }
    }
}
