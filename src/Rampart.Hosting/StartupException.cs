namespace Rampart.Hosting;

/// <summary>
/// An operator error found while a host starts (an address that cannot be bound, a state directory that cannot be
/// written, no state directory at all). Its message is one line naming the address or file, the cause and the fix; the
/// command prints it as it is, with a non-zero exit code and no stack trace.
/// </summary>
internal sealed class StartupException(string message, Exception? inner = null) : Exception(message, inner);
