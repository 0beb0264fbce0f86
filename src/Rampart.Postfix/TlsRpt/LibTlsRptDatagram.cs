using System.Text;
using System.Text.Json;
using Rampart.Core;
using Rampart.Core.TlsRpt;

namespace Rampart.Postfix.TlsRpt;

/*
 * libtlsrpt's datagram protocol (sys4/libtlsrpt libtlsrpt.c, tlsrpt.h; 0.5.x), which Postfix 3.10+ speaks with
 * smtp_tlsrpt_enable = yes: one JSON object per delivery attempt, sent to a Unix datagram socket.
 *
 *   {"dpv": "1","d": "<domain whose _smtp._tls record was found>","pr": "<that raw TXT record>",
 *    "policies":[{"policy-type":1|2|9,"policy-domain":"…","policy-string":["…"],"mx-host":["…"],
 *                 "failure-details":[{"c":201,"s":"<sending ip>","n":"<mx name>","h":"<mx helo>",
 *                                     "r":"<mx ip>","a":"<additional info>","f":"<failure-reason-code>"}],
 *                 "t":<failure-details count>,"f":0|1}]}
 *
 * - "dpv" (datagram protocol version) since libtlsrpt 0.5.0 and "pr" since 4dc2d36: older libraries omit both.
 * - A NULL argument omits its key ("policy-domain", and any of s n h r a f); empty lists are omitted too.
 * - Strings are escaped byte by byte: bytes above 127 pass through raw, so a datagram need not be valid UTF-8.
 * - The library checks no meaning: a success may carry failure-details and a failure none.
 *
 * Each policies[] entry is one session result under that policy, as tlsrpt-reporter counts it (one session per
 * policy entry; failed when f = 1; each failure-details entry counted once). What cannot be read is a Problem of a
 * kind: the datagram, a policy or a failure detail is dropped (Rejects*), or it is read and the oddity noted.
 */

/// <summary>What was odd about a datagram, by kind (the kinds are metric labels and log keys).</summary>
/// <param name="Kind">One of the <see cref="LibTlsRptDatagram"/> kind constants.</param>
/// <param name="Detail">One line for the log, naming the value.</param>
internal readonly record struct DatagramProblem(string Kind, string Detail);

/// <summary>A datagram read: the session results it holds (possibly none) and what was odd about it.</summary>
internal sealed record DatagramReading(IReadOnlyList<TlsSessionResult> Results, IReadOnlyList<DatagramProblem> Problems)
{
    /// <summary>True when nothing of the datagram could be counted.</summary>
    public bool Rejected => Results.Count == 0;
}

/// <summary>Reads one libtlsrpt datagram (see the protocol above) into <see cref="TlsSessionResult"/>s. Pure; never throws for bad input.</summary>
internal static class LibTlsRptDatagram
{
    /// <summary>The largest datagram read; a longer one is dropped (kind <see cref="Oversized"/>). libtlsrpt's are a few hundred bytes.</summary>
    public const int MaxBytes = 65536;

    /// <summary>The datagram protocol version this reader knows.</summary>
    public const string KnownVersion = "1";

    // Kinds that drop the whole datagram.
    public const string Oversized = "oversized";
    public const string InvalidJson = "invalid-json";
    public const string BadShape = "bad-shape";
    public const string BadDomain = "bad-domain";
    public const string NoPolicies = "no-policies";

    // Kinds that drop one policy (one session result) or one failure detail.
    public const string BadPolicy = "bad-policy";
    public const string UnknownPolicyType = "unknown-policy-type";
    public const string UnknownFailureCode = "unknown-failure-code";

    // Kinds that are read anyway.
    public const string UnknownVersion = "unknown-version";
    public const string FailureCountMismatch = "failure-count-mismatch";
    public const string InvalidUtf8 = "invalid-utf8";

    /// <summary>Every kind, in the order the metrics list them.</summary>
    public static IReadOnlyList<string> Kinds { get; } =
    [
        Oversized, InvalidJson, BadShape, BadDomain, NoPolicies, BadPolicy, UnknownPolicyType, UnknownFailureCode,
        UnknownVersion, FailureCountMismatch, InvalidUtf8,
    ];

    /// <summary>libtlsrpt's <c>tlsrpt_policy_type_t</c> (tlsrpt.h) → RFC 8460 §4.4 policy-type.</summary>
    public static string? PolicyType(long code) => code switch
    {
        1 => TlsRptPolicyTypes.Tlsa,            // TLSRPT_POLICY_TLSA
        2 => TlsRptPolicyTypes.Sts,             // TLSRPT_POLICY_STS
        9 => TlsRptPolicyTypes.NoPolicyFound,   // TLSRPT_NO_POLICY_FOUND
        _ => null,
    };

    /// <summary>libtlsrpt's <c>tlsrpt_failure_t</c> (tlsrpt.h) → RFC 8460 §4.3 result-type; null for any other code (901 is the library's own "unfinished policy").</summary>
    public static string? ResultType(long code) => code switch
    {
        201 => TlsRptResultTypes.StartTlsNotSupported,     // TLSRPT_STARTTLS_NOT_SUPPORTED
        202 => TlsRptResultTypes.CertificateHostMismatch,  // TLSRPT_CERTIFICATE_HOST_MISMATCH
        203 => TlsRptResultTypes.CertificateNotTrusted,    // TLSRPT_CERTIFICATE_NOT_TRUSTED
        204 => TlsRptResultTypes.CertificateExpired,       // TLSRPT_CERTIFICATE_EXPIRED
        205 => TlsRptResultTypes.ValidationFailure,        // TLSRPT_VALIDATION_FAILURE
        301 => TlsRptResultTypes.StsPolicyFetchError,      // TLSRPT_STS_POLICY_FETCH_ERROR
        302 => TlsRptResultTypes.StsPolicyInvalid,         // TLSRPT_STS_POLICY_INVALID
        303 => TlsRptResultTypes.StsWebpkiInvalid,         // TLSRPT_STS_WEBPKI_INVALID
        304 => TlsRptResultTypes.TlsaInvalid,              // TLSRPT_TLSA_INVALID
        305 => TlsRptResultTypes.DnssecInvalid,            // TLSRPT_DNSSEC_INVALID
        306 => TlsRptResultTypes.DaneRequired,             // TLSRPT_DANE_REQUIRED
        _ => null,
    };

    private static readonly JsonReaderOptions s_options = new() { MaxDepth = 8, CommentHandling = JsonCommentHandling.Disallow };

    /// <summary>Reads <paramref name="datagram"/>, received at <paramref name="receivedAt"/> (the datagram carries no time).</summary>
    public static DatagramReading Read(ReadOnlySpan<byte> datagram, DateTimeOffset receivedAt)
    {
        var problems = new List<DatagramProblem>(0);
        datagram = datagram.TrimEnd((byte)0); // a C sender may count the string's NUL
        if (datagram.Length > MaxBytes)
        {
            problems.Add(new(Oversized, $"a datagram of more than {MaxBytes} bytes"));
            return new([], problems);
        }
        byte[]? repaired = null;
        if (!System.Text.Unicode.Utf8.IsValid(datagram))
        {
            // libtlsrpt copies bytes above 127 as they are (an EHLO name in Latin-1): keep the datagram, replace those bytes.
            repaired = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(datagram));
            problems.Add(new(InvalidUtf8, "bytes that are not UTF-8, read as U+FFFD"));
        }
        var results = new List<TlsSessionResult>(1);
        try
        {
            var reader = new Utf8JsonReader(repaired ?? datagram, s_options);
            ReadDatagram(ref reader, receivedAt, results, problems);
        }
        catch (JsonException ex)
        {
            results.Clear();
            var reason = ex.Message.Split(" LineNumber:", 2)[0].TrimEnd().TrimEnd('.');
            problems.Add(new(InvalidJson, $"not JSON at byte {ex.BytePositionInLine ?? 0}: {reason}"));
        }
        return new(results, problems);
    }

    private sealed class Header
    {
        public string? Version;
        public string? Domain;
        public bool DomainSeen;
        public string? Record;
    }

    private sealed class PolicyEntry
    {
        public long? Type;
        public string? Domain;
        public List<string> Strings = [];
        public List<string> MxHosts = [];
        public List<TlsSessionFailure> Failures = [];
        public int DetailsGiven;
        public long? Count;
        public long? Final;
        public string? Error;
    }

    private static void ReadDatagram(ref Utf8JsonReader reader, DateTimeOffset receivedAt, List<TlsSessionResult> results, List<DatagramProblem> problems)
    {
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            problems.Add(new(BadShape, "not a JSON object"));
            reader.Skip();
            return;
        }
        var header = new Header();
        List<PolicyEntry>? policies = null;
        var shapeError = (string?)null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = reader.ValueSpan;
            reader.Read();
            if (name.SequenceEqual("dpv"u8))
            {
                header.Version = ScalarText(ref reader);
            }
            else if (name.SequenceEqual("d"u8))
            {
                header.DomainSeen = true;
                header.Domain = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                reader.Skip();
            }
            else if (name.SequenceEqual("pr"u8))
            {
                header.Record = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                reader.Skip();
            }
            else if (name.SequenceEqual("policies"u8))
            {
                if (reader.TokenType != JsonTokenType.StartArray)
                {
                    shapeError = "policies is not a list";
                    reader.Skip();
                    continue;
                }
                policies = [];
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    policies.Add(ReadPolicy(ref reader));
                }
            }
            else
            {
                reader.Skip(); // a later protocol's key: ignored
            }
        }
        // The rest of the input must be nothing: a second object or trailing garbage is not a datagram.
        if (reader.Read())
        {
            throw new JsonException("more than one JSON value");
        }

        if (shapeError is not null)
        {
            problems.Add(new(BadShape, shapeError));
            return;
        }
        if (!DomainName.TryNormalize(header.Domain, out var domain, out var domainError))
        {
            problems.Add(new(BadDomain, header.DomainSeen ? "d: " + domainError : "no d (the domain whose TLSRPT record was found)"));
            return;
        }
        if (policies is not { Count: > 0 })
        {
            problems.Add(new(NoPolicies, $"no policies for {domain}"));
            return;
        }
        if (header.Version is { } version && version != KnownVersion)
        {
            problems.Add(new(UnknownVersion, $"datagram protocol version {DisplayText.Quote(version)} (this Rampart knows {KnownVersion}); read as version {KnownVersion}"));
        }
        var record = string.IsNullOrEmpty(header.Record) ? null : header.Record;
        foreach (var entry in policies)
        {
            if (entry.Error is { } error)
            {
                problems.Add(new(BadPolicy, $"{domain}: {error}"));
                continue;
            }
            if (entry.Type is not { } typeCode || entry.Final is not { } final)
            {
                problems.Add(new(BadPolicy, $"{domain}: a policy without {(entry.Type is null ? "policy-type" : "f (its final result)")}"));
                continue;
            }
            if (PolicyType(typeCode) is not { } type)
            {
                problems.Add(new(UnknownPolicyType, $"{domain}: policy-type {typeCode} (known: 1 tlsa, 2 sts, 9 no-policy-found)"));
                continue;
            }
            if (final is not (0 or 1))
            {
                problems.Add(new(BadPolicy, $"{domain}: f is {final} (0 success, 1 failure)"));
                continue;
            }
            if (entry.Count is { } count && count != entry.DetailsGiven)
            {
                problems.Add(new(FailureCountMismatch, $"{domain}: t says {count} failure-details, the datagram has {entry.DetailsGiven}"));
            }
            if (entry.Failures.Count < entry.DetailsGiven)
            {
                problems.Add(new(UnknownFailureCode, $"{domain}: {entry.DetailsGiven - entry.Failures.Count} failure-details with a code that is not one of 201-205, 301-306 (left out, the session is counted)"));
            }
            var policyDomain = entry.Domain is { Length: > 0 } given
                ? (DomainName.TryNormalize(given, out var normalized, out _) ? normalized : given.Trim().TrimEnd('.').ToLowerInvariant())
                : null;
            results.Add(new TlsSessionResult(
                domain, record,
                new TlsSessionPolicy(type, policyDomain, entry.Strings, entry.MxHosts),
                Succeeded: final == 0,
                entry.Failures,
                receivedAt));
        }
        if (results.Count == 0 && !problems.Any(p => p.Kind is BadPolicy or UnknownPolicyType))
        {
            problems.Add(new(NoPolicies, $"no policies for {domain}"));
        }
    }

    private static PolicyEntry ReadPolicy(ref Utf8JsonReader reader)
    {
        var entry = new PolicyEntry();
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            entry.Error = "a policies entry that is not an object";
            reader.Skip();
            return entry;
        }
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = reader.ValueSpan;
            reader.Read();
            if (name.SequenceEqual("policy-type"u8))
            {
                entry.Type = Integer(ref reader, entry, "policy-type");
            }
            else if (name.SequenceEqual("policy-domain"u8))
            {
                entry.Domain = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                reader.Skip();
            }
            else if (name.SequenceEqual("policy-string"u8))
            {
                ReadStrings(ref reader, entry.Strings, entry, "policy-string");
            }
            else if (name.SequenceEqual("mx-host"u8))
            {
                ReadStrings(ref reader, entry.MxHosts, entry, "mx-host");
            }
            else if (name.SequenceEqual("failure-details"u8))
            {
                if (reader.TokenType != JsonTokenType.StartArray)
                {
                    entry.Error ??= "failure-details is not a list";
                    reader.Skip();
                    continue;
                }
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    entry.DetailsGiven++;
                    if (ReadFailure(ref reader, entry) is { } failure)
                    {
                        entry.Failures.Add(failure);
                    }
                }
            }
            else if (name.SequenceEqual("t"u8))
            {
                entry.Count = Integer(ref reader, entry, "t");
            }
            else if (name.SequenceEqual("f"u8))
            {
                entry.Final = Integer(ref reader, entry, "f");
            }
            else
            {
                reader.Skip();
            }
        }
        return entry;
    }

    /// <summary>One failure-details entry; null (the detail left out) when its code is unknown or missing.</summary>
    private static TlsSessionFailure? ReadFailure(ref Utf8JsonReader reader, PolicyEntry entry)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            entry.Error ??= "a failure-details entry that is not an object";
            reader.Skip();
            return null;
        }
        long? code = null;
        string? s = null, n = null, h = null, r = null, a = null, f = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = reader.ValueSpan;
            reader.Read();
            if (name.Length != 1)
            {
                reader.Skip();
                continue;
            }
            switch ((char)name[0])
            {
                case 'c':
                    code = Integer(ref reader, entry, "c");
                    break;
                case 's':
                    s = Text(ref reader);
                    break;
                case 'n':
                    n = Text(ref reader);
                    break;
                case 'h':
                    h = Text(ref reader);
                    break;
                case 'r':
                    r = Text(ref reader);
                    break;
                case 'a':
                    a = Text(ref reader);
                    break;
                case 'f':
                    f = Text(ref reader);
                    break;
                default:
                    reader.Skip();
                    break;
            }
        }
        return code is { } c && ResultType(c) is { } resultType
            ? new TlsSessionFailure(resultType, s, n?.TrimEnd('.').ToLowerInvariant(), h, r, a, f)
            : null;
    }

    private static void ReadStrings(ref Utf8JsonReader reader, List<string> into, PolicyEntry entry, string key)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            entry.Error ??= key + " is not a list";
            reader.Skip();
            return;
        }
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType == JsonTokenType.String)
            {
                into.Add(reader.GetString()!);
            }
            else
            {
                entry.Error ??= key + " holds something other than text";
                reader.Skip();
            }
        }
    }

    private static long? Integer(ref Utf8JsonReader reader, PolicyEntry entry, string key)
    {
        if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var value))
        {
            return value;
        }
        entry.Error ??= $"{key} is not a whole number";
        reader.Skip();
        return null;
    }

    /// <summary>A string value; null for an empty string or any other token (skipped).</summary>
    private static string? Text(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.String)
        {
            return NullIfEmpty(reader.GetString());
        }
        reader.Skip();
        return null;
    }

    private static string? ScalarText(ref Utf8JsonReader reader)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.String:
                return reader.GetString();
            case JsonTokenType.Number:
                return Encoding.UTF8.GetString(reader.ValueSpan);
            default:
                reader.Skip();
                return reader.TokenType is JsonTokenType.EndObject or JsonTokenType.EndArray ? "a structure" : reader.TokenType.ToString().ToLowerInvariant();
        }
    }

    private static string? NullIfEmpty(string? text) => string.IsNullOrEmpty(text) ? null : text;
}
