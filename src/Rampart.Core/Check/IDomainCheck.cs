namespace Rampart.Core.Check;

/// <summary>One family of checks: a pure function from what was observed to findings. It reports every problem it sees, not the first.</summary>
public interface IDomainCheck
{
    IEnumerable<CheckFinding> Evaluate(DomainObservation observation, CheckSettings settings);
}

internal static class Subjects
{
    public static string Address(MxHostObservation host, AddressObservation address) => $"{host.Host} [{address.Address}]";
}
