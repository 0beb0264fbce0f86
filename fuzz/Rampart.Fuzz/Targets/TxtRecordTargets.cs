using System.Text;
using Rampart.Core.MtaSts;
using Rampart.Core.TlsRpt;

namespace Rampart.Fuzz;

/// <summary>
/// TXT record text as DNS returns it (the strings of one record joined). Contract: parsing never throws except
/// <see cref="MtaStsTxtRecord.Parse"/>'s documented <see cref="FormatException"/>; Parse and TryParse agree; discovery
/// agrees with the version check; a parsed record written out canonically parses back to the same values.
/// </summary>
internal static class TxtRecordTargets
{
    public static void RunMtaSts(byte[] input)
    {
        var text = Encoding.UTF8.GetString(input);
        var ok = MtaStsTxtRecord.TryParse(text, out var record, out var error);
        Contract.Bounded(error, input.Length, "the error");
        try
        {
            var parsed = MtaStsTxtRecord.Parse(text);
            Contract.Holds(ok && parsed.Id == record!.Id, "Parse accepts what TryParse refuses");
        }
        catch (FormatException ex)
        {
            Contract.Holds(!ok && ex.Message == error, "Parse refuses what TryParse accepts, or with another message");
        }

        var isV1 = MtaStsTxtRecord.IsStsV1(text);
        var alone = MtaStsTxtRecord.Select([text, "v=spf1 -all"]);
        Contract.Holds(alone.Status == (!isV1 ? MtaStsTxtStatus.NoRecord : ok ? MtaStsTxtStatus.Found : MtaStsTxtStatus.Invalid),
            $"discovery says {alone.Status} for a record with IsStsV1={isV1}, valid={ok}");
        Contract.Holds(MtaStsTxtRecord.Select([text, text]).Status == (isV1 ? MtaStsTxtStatus.Multiple : MtaStsTxtStatus.NoRecord),
            "discovery over the record twice is not 'multiple'");
        Contract.Holds(!ok || isV1, "a valid record does not begin with v=STSv1");

        if (record is null)
        {
            return;
        }
        Contract.Holds(record.Id.Length is >= 1 and <= 32 && record.Id.All(char.IsAsciiLetterOrDigit), $"id '{record.Id}' is not 1-32 letters and digits");
        var canonical = new StringBuilder("v=STSv1; id=").Append(record.Id).Append(';');
        foreach (var (name, value) in record.Extensions)
        {
            canonical.Append(' ').Append(name).Append('=').Append(value).Append(';');
        }
        Contract.Holds(MtaStsTxtRecord.TryParse(canonical.ToString(), out var again, out var againError)
            && again.Id == record.Id && again.Extensions.Count == record.Extensions.Count
            && record.Extensions.All(e => again.Extensions.TryGetValue(e.Key, out var v) && v == e.Value),
            $"'{canonical}' does not parse back: {againError}");
    }

    public static void RunTlsRpt(byte[] input)
    {
        var text = Encoding.UTF8.GetString(input);
        var ok = TlsRptRecord.TryParse(text, out var record, out var errors);
        Contract.Holds(ok == (errors.Count == 0), $"valid={ok} with {errors.Count} error(s)");
        Contract.Holds(!ok || TlsRptRecord.IsTlsRptV1(text), "a valid record does not begin with v=TLSRPTv1");
        foreach (var error in errors)
        {
            Contract.Bounded(error, input.Length, "an error");
        }
        if (record is null)
        {
            return;
        }
        Contract.Holds(record.Rua.Count > 0 && record.Rua.All(u => u.Scheme is "mailto" or "https"), "a record without a mailto: or https: rua");
        var canonical = $"v=TLSRPTv1; rua={string.Join(',', record.Rua.Select(u => u.OriginalString))}";
        Contract.Holds(TlsRptRecord.TryParse(canonical, out var again, out var againErrors)
            && again.Rua.Select(u => u.OriginalString).SequenceEqual(record.Rua.Select(u => u.OriginalString)),
            $"'{canonical}' does not parse back: {string.Join("; ", againErrors)}");
    }
}
