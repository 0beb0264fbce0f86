using System.Runtime.InteropServices;

namespace Rampart.Cli;

/// <summary>
/// SIGINT and SIGTERM from the first line of <c>Main</c> on: a signal cancels <see cref="Token"/>, which every verb's
/// action receives, instead of killing the process. Without it a signal that arrives before System.CommandLine
/// registers its own handlers (while the runtime loads the verb, the configuration, the store) ended the process with
/// the runtime's default (exit 143, no log line); with it a daemon told to stop while still starting stops cleanly
/// (<see cref="Verb.RunServiceAsync"/>). Once an action runs, System.CommandLine's handler runs too and keeps its
/// forced exit for a verb that does not stop within its grace time.
/// </summary>
internal sealed class StopSignal : IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly PosixSignalRegistration _sigint;
    private readonly PosixSignalRegistration _sigterm;

    private StopSignal()
    {
        _sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        _sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
    }

    /// <summary>Cancelled on the first SIGINT or SIGTERM.</summary>
    public CancellationToken Token => _stop.Token;

    public static StopSignal Listen() => new();

    private void OnSignal(PosixSignalContext context)
    {
        context.Cancel = true;
        _stop.Cancel();
    }

    public void Dispose()
    {
        _sigint.Dispose();
        _sigterm.Dispose();
        _stop.Dispose();
    }
}
