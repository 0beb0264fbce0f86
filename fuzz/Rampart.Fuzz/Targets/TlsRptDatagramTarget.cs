using Rampart.Core.TlsRpt;
using Rampart.Postfix.TlsRpt;

namespace Rampart.Fuzz;

/// <summary>
/// One datagram on the TLS-RPT socket (libtlsrpt's protocol). Contract: <see cref="LibTlsRptDatagram.Read"/> never
/// throws; a datagram is rejected exactly when it yields no result, and then says why; every problem is of a known
/// kind; every result has a report domain in lower case without a trailing dot, an RFC 8460 policy type and result
/// types; the results are bounded by the input; reading again gives the same.
/// </summary>
internal static class TlsRptDatagramTarget
{
    private static readonly DateTimeOffset s_at = new(2026, 12, 7, 12, 0, 0, TimeSpan.Zero);

    public static void Run(byte[] input)
    {
        var reading = LibTlsRptDatagram.Read(input, s_at);
        Contract.Holds(reading.Rejected == (reading.Results.Count == 0), "Rejected disagrees with the results");
        Contract.Holds(!reading.Rejected || reading.Problems.Count > 0, "a rejected datagram without a problem");
        foreach (var problem in reading.Problems)
        {
            Contract.Holds(LibTlsRptDatagram.Kinds.Contains(problem.Kind), $"unknown problem kind '{problem.Kind}'");
            Contract.Bounded(problem.Detail, input.Length, "a problem's detail");
        }
        Contract.Holds(reading.Results.Count <= input.Length / 10 + 1, $"{reading.Results.Count} results from {input.Length} bytes");
        foreach (var result in reading.Results)
        {
            Contract.Holds(result.ReportDomain.Length > 0 && !result.ReportDomain.Any(char.IsUpper) && !result.ReportDomain.EndsWith('.'),
                $"report domain '{result.ReportDomain}' is not normalised");
            Contract.Holds(TlsRptPolicyTypes.IsKnown(result.Policy.PolicyType), $"policy type '{result.Policy.PolicyType}'");
            Contract.Holds(result.Failures.All(f => TlsRptResultTypes.IsKnown(f.ResultType)), "an unknown result type");
            Contract.Holds(result.At == s_at, "the result's time is not the arrival time");
        }
        var again = LibTlsRptDatagram.Read(input, s_at);
        Contract.Holds(again.Results.Count == reading.Results.Count && again.Problems.SequenceEqual(reading.Problems), "reading again differs");
    }
}
