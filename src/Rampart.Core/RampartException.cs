namespace Rampart.Core;

/// <summary>
/// Root of Rampart's small fault tree. Expected protocol outcomes are values, not exceptions; this is for faults
/// (unusable configuration, broken input files). <see cref="IsTransient"/> tells the edge whether a retry may help.
/// </summary>
public class RampartException : Exception
{
    public RampartException() { }

    public RampartException(string message) : base(message) { }

    public RampartException(string message, Exception? innerException) : base(message, innerException) { }

    public virtual bool IsTransient => false;
}
