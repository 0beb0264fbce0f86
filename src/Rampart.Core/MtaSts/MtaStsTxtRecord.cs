using System.Collections.ObjectModel;
using System.Diagnostics.CodeAnalysis;

namespace Rampart.Core.MtaSts;

/// <summary>
/// The MTA-STS TXT record published at <c>_mta-sts.&lt;domain&gt;</c> (RFC 8461 §3.1), e.g.
/// <c>v=STSv1; id=20240101T000000;</c>.
/// </summary>
/// <remarks>
/// <code>
/// sts-text-record = sts-version 1*(sts-sep sts-field) [sts-sep]
/// sts-version     = %s"v=" %s"STSv1"
/// sts-id          = %s"id=" 1*32(ALPHA / DIGIT)
/// sts-extension   = sts-ext-name "=" sts-ext-value
/// sts-ext-name    = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")
/// sts-ext-value   = 1*(%x21-3A / %x3C / %x3E-7E)   ; printable ASCII except ";" and "="
/// sts-sep         = *WSP %x3B *WSP
/// </code>
/// Leniencies: white space is also allowed around <c>=</c>, and empty fields (<c>;;</c>) are skipped.
/// Field names are case-sensitive. The strings of one TXT record must already be concatenated with no
/// separator (see <see cref="Rampart.Core.Dns.IDnsResolver.QueryTxtAsync"/>).
/// </remarks>
public sealed class MtaStsTxtRecord
{
    /// <summary>The only record version defined.</summary>
    public const string StsV1 = "STSv1";

    private const string Rfc = "(RFC 8461 §3.1)";
    private const int MaxIdLength = 32;
    private const int MaxExtensionNameLength = 32;

    private static readonly ReadOnlyDictionary<string, string> s_noExtensions = new(new Dictionary<string, string>());

    private MtaStsTxtRecord(string id, IReadOnlyDictionary<string, string> extensions, string text)
    {
        Id = id;
        Extensions = extensions;
        Text = text;
    }

    /// <summary>Always <c>STSv1</c>.</summary>
    public string Version => StsV1;

    /// <summary>The policy instance id (1–32 ASCII letters and digits); a change means "fetch the policy again" (§3.1, §5.1).</summary>
    public string Id { get; }

    /// <summary>Extension fields in the order-independent form name → value (first occurrence kept); otherwise ignored.</summary>
    public IReadOnlyDictionary<string, string> Extensions { get; }

    /// <summary>The record text as published.</summary>
    public string Text { get; }

    /// <summary>Parses one record; throws <see cref="FormatException"/> listing every problem found.</summary>
    public static MtaStsTxtRecord Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return ParseCore(text, out string? error) ?? throw new FormatException(error);
    }

    /// <summary>Parses one record. On failure <paramref name="error"/> lists every problem found, in one line.</summary>
    public static bool TryParse(string text, [NotNullWhen(true)] out MtaStsTxtRecord? record, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(text);
        record = ParseCore(text, out error);
        return record is not null;
    }

    /// <summary>
    /// True when the record begins with <c>v=STSv1</c> as a whole field (so not <c>v=STSv10</c> or
    /// <c>v=STSv1x</c>), white space around <c>=</c> allowed. Only such records take part in discovery.
    /// </summary>
    public static bool IsStsV1(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var s = SkipWsp(text);
        if (!s.StartsWith('v'))
        {
            return false;
        }

        s = SkipWsp(s[1..]);
        if (!s.StartsWith('='))
        {
            return false;
        }

        s = SkipWsp(s[1..]);
        if (!s.StartsWith(StsV1))
        {
            return false;
        }

        s = s[StsV1.Length..];
        return s.IsEmpty || s[0] == ';' || MtaStsSyntax.IsWsp(s[0]);
    }

    /// <summary>
    /// Discovery (RFC 8461 §3.1): from all TXT records at <c>_mta-sts.&lt;domain&gt;</c> (each one's strings
    /// already joined), records not beginning with <c>v=STSv1</c> are ignored; if not exactly one remains,
    /// there is no policy; if that one is invalid, there is no policy either.
    /// </summary>
    public static MtaStsTxtLookup Select(IReadOnlyList<string> txtStrings)
    {
        ArgumentNullException.ThrowIfNull(txtStrings);
        string? candidate = null;
        int count = 0;
        foreach (string txt in txtStrings)
        {
            if (txt is not null && IsStsV1(txt))
            {
                count++;
                candidate ??= txt;
            }
        }

        if (count == 0)
        {
            return new MtaStsTxtLookup(MtaStsTxtStatus.NoRecord, null, null);
        }

        if (count > 1)
        {
            return new MtaStsTxtLookup(MtaStsTxtStatus.Multiple, null,
                $"{count} TXT records begin with 'v=STSv1'; exactly one is required, so there is no policy {Rfc}");
        }

        return TryParse(candidate!, out var record, out string? error)
            ? new MtaStsTxtLookup(MtaStsTxtStatus.Found, record, null)
            : new MtaStsTxtLookup(MtaStsTxtStatus.Invalid, null, error);
    }

    private static MtaStsTxtRecord? ParseCore(string text, out string? error)
    {
        List<string>? errors = null;
        void Add(string message) => (errors ??= []).Add(message);

        string? id = null;
        Dictionary<string, string>? extensions = null;
        string? caseVariantId = null;
        bool first = true;
        ReadOnlySpan<char> rest = text;
        while (true)
        {
            int semi = rest.IndexOf(';');
            var field = MtaStsSyntax.TrimWsp(semi < 0 ? rest : rest[..semi]);
            if (first)
            {
                if (!IsVersionField(field))
                {
                    Add($"the record must begin with 'v=STSv1', not {MtaStsSyntax.Quote(field)} {Rfc}");
                }

                first = false;
            }
            else if (!field.IsEmpty)
            {
                ParseField(field, ref id, ref extensions, ref caseVariantId, Add);
            }

            if (semi < 0)
            {
                break;
            }

            rest = rest[(semi + 1)..];
        }

        if (id is null)
        {
            Add(caseVariantId is null
                ? $"missing required field 'id' (1 to {MaxIdLength} letters and digits) {Rfc}"
                : $"missing required field 'id'; found {MtaStsSyntax.Quote(caseVariantId)}, but field names are case-sensitive {Rfc}");
        }

        if (errors is not null)
        {
            error = string.Join("; ", errors);
            return null;
        }

        error = null;
        var ext = extensions is null ? s_noExtensions : new ReadOnlyDictionary<string, string>(extensions);
        return new MtaStsTxtRecord(id!, ext, text);
    }

    private static void ParseField(ReadOnlySpan<char> field, ref string? id, ref Dictionary<string, string>? extensions,
        ref string? caseVariantId, Action<string> add)
    {
        int eq = field.IndexOf('=');
        if (eq < 0)
        {
            add($"field {MtaStsSyntax.Quote(field)} has no '='; fields are 'name=value' {Rfc}");
            return;
        }

        var name = MtaStsSyntax.TrimWsp(field[..eq]);
        var value = MtaStsSyntax.TrimWsp(field[(eq + 1)..]);
        if (name.SequenceEqual("id"))
        {
            if (id is not null)
            {
                add($"field 'id' given more than once {Rfc}");
            }
            else if (!IsValidId(value))
            {
                add($"id {MtaStsSyntax.Quote(value)} must be 1 to {MaxIdLength} ASCII letters and digits {Rfc}");
                id = string.Empty; // present but invalid: do not also report it missing
            }
            else
            {
                id = value.ToString();
            }

            return;
        }

        if (name.SequenceEqual("v"))
        {
            add($"field 'v' given more than once; 'v=STSv1' belongs only at the start {Rfc}");
            return;
        }

        if (!IsValidExtensionName(name))
        {
            add($"field name {MtaStsSyntax.Quote(name)} is not valid (a letter or digit, then up to 31 letters, digits, '_', '-', '.') {Rfc}");
            return;
        }

        if (!IsValidExtensionValue(value))
        {
            add($"value of field {MtaStsSyntax.Quote(name)} must be 1 or more printable ASCII characters other than ';' and '=', got {MtaStsSyntax.Quote(value)} {Rfc}");
            return;
        }

        if (name.Equals("id", StringComparison.OrdinalIgnoreCase))
        {
            caseVariantId ??= name.ToString();
        }

        extensions ??= new Dictionary<string, string>(StringComparer.Ordinal);
        extensions.TryAdd(name.ToString(), value.ToString());
    }

    private static bool IsVersionField(ReadOnlySpan<char> field)
    {
        int eq = field.IndexOf('=');
        return eq >= 0
            && MtaStsSyntax.TrimWsp(field[..eq]).SequenceEqual("v")
            && MtaStsSyntax.TrimWsp(field[(eq + 1)..]).SequenceEqual(StsV1);
    }

    private static bool IsValidId(ReadOnlySpan<char> value)
    {
        if (value.IsEmpty || value.Length > MaxIdLength)
        {
            return false;
        }

        foreach (char c in value)
        {
            if (!char.IsAsciiLetterOrDigit(c))
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsValidExtensionName(ReadOnlySpan<char> name)
    {
        if (name.IsEmpty || name.Length > MaxExtensionNameLength || !char.IsAsciiLetterOrDigit(name[0]))
        {
            return false;
        }

        foreach (char c in name)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('_' or '-' or '.'))
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsValidExtensionValue(ReadOnlySpan<char> value)
    {
        if (value.IsEmpty)
        {
            return false;
        }

        foreach (char c in value)
        {
            if (c is < '\x21' or > '\x7E' or ';' or '=')
            {
                return false;
            }
        }

        return true;
    }

    private static ReadOnlySpan<char> SkipWsp(ReadOnlySpan<char> s)
    {
        int i = 0;
        while (i < s.Length && MtaStsSyntax.IsWsp(s[i]))
        {
            i++;
        }

        return s[i..];
    }
}

/// <summary>The outcome of TXT discovery at <c>_mta-sts.&lt;domain&gt;</c> (RFC 8461 §3.1).</summary>
public enum MtaStsTxtStatus
{
    /// <summary>No record begins with <c>v=STSv1</c>: the domain has no MTA-STS policy.</summary>
    NoRecord,

    /// <summary>Exactly one valid <c>v=STSv1</c> record.</summary>
    Found,

    /// <summary>More than one record begins with <c>v=STSv1</c>: no policy.</summary>
    Multiple,

    /// <summary>Exactly one <c>v=STSv1</c> record, but it is malformed: no policy.</summary>
    Invalid,
}

/// <summary>TXT discovery result: <see cref="Record"/> is set only for <see cref="MtaStsTxtStatus.Found"/>; <see cref="Error"/> explains Multiple and Invalid.</summary>
public sealed record MtaStsTxtLookup(MtaStsTxtStatus Status, MtaStsTxtRecord? Record, string? Error)
{
    public bool IsFound => Status == MtaStsTxtStatus.Found;
}
