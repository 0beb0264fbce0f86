using System.Text;
using Rampart.Core.MtaSts;

namespace Rampart.Fuzz;

/// <summary>
/// A policy body as fetched from <c>https://mta-sts.DOMAIN/.well-known/mta-sts.txt</c>. Contract: parsing never throws;
/// a policy comes back exactly when there is no error; every diagnostic is one line, bounded, and names a line of the
/// input (or 0); bytes and their UTF-8 text give the same verdict; a valid policy written out canonically parses back to
/// the same mode, max_age and mx patterns.
/// </summary>
internal static class MtaStsPolicyTarget
{
    public static void Run(byte[] input)
    {
        var result = MtaStsPolicyParser.Parse(input);
        Check(result, input.Length, input.AsSpan().Count((byte)'\n') + 1);

        if (System.Text.Unicode.Utf8.IsValid(input))
        {
            var text = MtaStsPolicyParser.Parse(Encoding.UTF8.GetString(input));
            Contract.Holds(text.IsValid == result.IsValid && text.Errors.Count == result.Errors.Count && text.Warnings.Count == result.Warnings.Count,
                "the bytes and their text give different verdicts");
        }

        if (result.Policy is not { } policy)
        {
            return;
        }
        Contract.Holds(policy.MaxAge is >= 0 and <= MtaStsPolicyParser.MaxMaxAge, $"max_age {policy.MaxAge} out of range");
        Contract.Holds(policy.Mode == MtaStsMode.None || policy.Mx.Count > 0, "an enforce or testing policy without mx");
        _ = policy.PolicyStrings();
        Contract.Holds(policy.MxAsWritten().Count == policy.Mx.Count, "MxAsWritten and Mx disagree on the count");

        var canonical = new StringBuilder()
            .Append("version: STSv1\r\nmode: ").Append(MtaStsPolicy.ModeName(policy.Mode))
            .Append("\r\nmax_age: ").Append(policy.MaxAge).Append("\r\n");
        foreach (var mx in policy.Mx)
        {
            canonical.Append("mx: ").Append(mx.Value).Append("\r\n");
        }
        var again = MtaStsPolicyParser.Parse(canonical.ToString());
        Contract.Holds(again.Policy is { } p && p.Mode == policy.Mode && p.MaxAge == policy.MaxAge
            && p.Mx.Select(m => m.Value).SequenceEqual(policy.Mx.Select(m => m.Value)),
            $"the policy written out does not parse back: {string.Join("; ", again.Errors.Select(e => e.Message))}");
    }

    private static void Check(MtaStsParseResult result, int inputLength, int lines)
    {
        Contract.Holds(result.IsValid == (result.Errors.Count == 0), $"valid={result.IsValid} with {result.Errors.Count} error(s)");
        foreach (var diagnostic in result.Errors.Concat(result.Warnings))
        {
            Contract.OneLine(diagnostic.Message, "a diagnostic");
            Contract.Holds(diagnostic.Message.AsSpan().IndexOfAny(MtaStsSyntax.s_controlChars) < 0, $"a diagnostic carries a control character: {diagnostic.Message}");
            Contract.Bounded(diagnostic.Message, 0, "a diagnostic");
            Contract.Holds(diagnostic.Line >= 0 && diagnostic.Line <= lines, $"diagnostic on line {diagnostic.Line} of {lines}");
        }
    }
}
