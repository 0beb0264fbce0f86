using Rampart.Core.TlsRpt;
using static Rampart.Core.Check.CheckCatalog;

namespace Rampart.Core.Check;

/// <summary>TLS-RPT (RFC 8460 §3): exactly one <c>v=TLSRPTv1</c> record at <c>_smtp._tls.&lt;domain&gt;</c>, its syntax and its rua URIs.</summary>
public sealed class TlsRptCheck : IDomainCheck
{
    public IEnumerable<CheckFinding> Evaluate(DomainObservation observation, CheckSettings settings)
    {
        ArgumentNullException.ThrowIfNull(observation);
        var txt = observation.TlsRpt;
        var name = "_smtp._tls." + observation.Domain;
        if (txt.IsLookupError)
        {
            yield return TlsRptLookupError.For(name, $"TXT lookup failed: {txt.ErrorMessage ?? txt.Error.ToString()}");
            yield break;
        }
        var candidates = txt.Records.Where(TlsRptRecord.IsTlsRptV1).ToList();
        if (candidates.Count == 0)
        {
            var near = txt.Records.FirstOrDefault(r => r.TrimStart().StartsWith("v=TLSRPT", StringComparison.OrdinalIgnoreCase));
            var what = txt.Records.Count == 0
                ? $" ({txt.Describe()})"
                : $": {txt.Describe()}, none beginning with 'v={TlsRptRecord.Version}' (first: '{txt.Records[0]}')";
            yield return near is null
                ? TlsRptNone.For(observation.Domain, $"no TLS-RPT record at {name}{what}")
                : TlsRptInvalid.For(name, $"'{near}' does not begin with 'v={TlsRptRecord.Version}', so senders ignore it");
            yield break;
        }
        if (candidates.Count > 1)
        {
            yield return TlsRptMultiple.For(name, $"{candidates.Count} records begin with 'v={TlsRptRecord.Version}'; senders need exactly one and will send no reports");
            yield break;
        }
        if (TlsRptRecord.TryParse(candidates[0], out var record, out var errors))
        {
            yield return TlsRptOk.For(name, $"reports go to {string.Join(", ", record.Rua)}");
            yield break;
        }
        var uriErrors = errors.Where(e => e.StartsWith("rua URI", StringComparison.Ordinal) || e.StartsWith("rua has", StringComparison.Ordinal)).ToList();
        var other = errors.Except(uriErrors).ToList();
        if (other.Count > 0)
        {
            yield return TlsRptInvalid.For(name, $"'{candidates[0]}': {string.Join("; ", other)}");
        }
        if (uriErrors.Count > 0)
        {
            yield return TlsRptRuaInvalid.For(name, string.Join("; ", uriErrors));
        }
    }
}
