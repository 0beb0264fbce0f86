using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using Rampart.Core.Dns;

namespace Rampart.Core.Dane;

/// <summary>Certificate usage (RFC 6698 §2.1.1, RFC 7218 acronyms). Only DANE-TA and DANE-EE are usable for SMTP (RFC 7672 §3.1).</summary>
public enum TlsaUsage : byte
{
    PkixTa = 0,
    PkixEe = 1,
    DaneTa = 2,
    DaneEe = 3,
}

/// <summary>Selector (RFC 6698 §2.1.2): the whole certificate or its SubjectPublicKeyInfo.</summary>
public enum TlsaSelector : byte
{
    Cert = 0,
    Spki = 1,
}

/// <summary>Matching type (RFC 6698 §2.1.3): the selected content itself, or its SHA-256 / SHA-512 digest.</summary>
public enum TlsaMatchingType : byte
{
    Full = 0,
    Sha256 = 1,
    Sha512 = 2,
}

/// <summary>
/// A TLSA record (RFC 6698 §2.1). Wire form: usage (1 octet), selector (1), matching type (1), association data.
/// Presentation form: <c>3 1 1 0123…ABCD</c>. Values outside the known enums are kept (as unusable).
/// </summary>
public sealed record TlsaRecord(TlsaUsage Usage, TlsaSelector Selector, TlsaMatchingType MatchingType, byte[] Data)
{
    public static TlsaRecord FromData(TlsaRecordData data)
    {
        ArgumentNullException.ThrowIfNull(data);
        return new((TlsaUsage)data.Usage, (TlsaSelector)data.Selector, (TlsaMatchingType)data.MatchingType, data.Data);
    }

    /// <summary>Why this record cannot be used for SMTP (RFC 7672 §3.1, RFC 7671 §5), or null when it can.</summary>
    public string? UnusableReason => this switch
    {
        { Usage: TlsaUsage.PkixTa or TlsaUsage.PkixEe } => $"usage {(byte)Usage} (PKIX) is not used for SMTP (RFC 7672 §3.1.3)",
        { Usage: > TlsaUsage.DaneEe } => $"unknown usage {(byte)Usage}",
        { Selector: > TlsaSelector.Spki } => $"unknown selector {(byte)Selector}",
        { MatchingType: > TlsaMatchingType.Sha512 } => $"unknown matching type {(byte)MatchingType}",
        { MatchingType: TlsaMatchingType.Sha256, Data.Length: not 32 } => $"SHA-256 data is {Data.Length} bytes, not 32",
        { MatchingType: TlsaMatchingType.Sha512, Data.Length: not 64 } => $"SHA-512 data is {Data.Length} bytes, not 64",
        { MatchingType: TlsaMatchingType.Full, Data.Length: 0 } => "empty association data",
        _ => null,
    };

    public bool IsUsable => UnusableReason is null;

    /// <summary>Presentation form <c>U S M HEX</c> with upper-case hex, as zone files and <c>tlsa match --json</c> show it.</summary>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{(byte)Usage} {(byte)Selector} {(byte)MatchingType} {Convert.ToHexString(Data)}");

    public bool Equals(TlsaRecord? other) =>
        other is not null && Usage == other.Usage && Selector == other.Selector && MatchingType == other.MatchingType && Data.AsSpan().SequenceEqual(other.Data);

    public override int GetHashCode() => HashCode.Combine(Usage, Selector, MatchingType, Data.Length > 0 ? Data[0] : 0, Data.Length);

    public static TlsaRecord Parse(string text) =>
        TryParse(text, throwOnError: true, out var record, out _) ? record : throw new InvalidOperationException();

    public static bool TryParse(string? text, [NotNullWhen(true)] out TlsaRecord? record, [NotNullWhen(false)] out string? error) =>
        TryParse(text, throwOnError: false, out record, out error);

    /// <summary>Parses <c>U S M HEX</c>: three decimal octets and hex data (white space inside the hex allowed, as in zone files).</summary>
    private static bool TryParse(string? text, bool throwOnError, [NotNullWhen(true)] out TlsaRecord? record, [NotNullWhen(false)] out string? error)
    {
        record = null;
        error = Parse(text, out var parsed);
        if (error is null)
        {
            record = parsed!;
            return true;
        }
        error = $"TLSA record '{text}': {error}";
        return throwOnError ? throw new FormatException(error) : false;
    }

    private static string? Parse(string? text, out TlsaRecord? record)
    {
        record = null;
        var parts = (text ?? "").Split((char[]?)null, 4, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length < 4)
        {
            return "expected 'usage selector matching-type hex-data', e.g. '3 1 1 8f3a…'";
        }
        var fields = new byte[3];
        string[] names = ["usage", "selector", "matching type"];
        for (var i = 0; i < 3; i++)
        {
            if (!byte.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out fields[i]))
            {
                return $"{names[i]} '{parts[i]}' is not a number from 0 to 255";
            }
        }
        if (TryHex(parts[3], out var data) is { } hexError)
        {
            return hexError;
        }
        record = new TlsaRecord((TlsaUsage)fields[0], (TlsaSelector)fields[1], (TlsaMatchingType)fields[2], data!);
        return null;
    }

    private static string? TryHex(string text, out byte[]? data)
    {
        data = null;
        var hex = string.Concat(text.Where(c => !char.IsWhiteSpace(c)));
        if (hex.Length == 0 || hex.Length % 2 != 0 || !hex.All(char.IsAsciiHexDigit))
        {
            return "association data is not an even number of hex digits";
        }
        data = Convert.FromHexString(hex);
        return null;
    }
}
