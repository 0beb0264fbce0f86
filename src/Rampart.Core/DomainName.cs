using System.Diagnostics.CodeAnalysis;
using System.Net;
using Rampart.Core.Dns;

namespace Rampart.Core;

/// <summary>
/// A mail domain or host name, parsed once where it enters (a CLI argument, a socketmap key, a configuration value)
/// and passed on as this value: lower case, A-labels (RFC 5890), no trailing dot, host-name syntax (RFC 1123 §2.1:
/// letters, digits and inner hyphens; a top-level label that is not all digits), never an IP address or literal.
/// The rules themselves are <see cref="NameSyntax"/>'s, shared with <see cref="DnsName"/> and <see cref="MtaSts.MxPattern"/>.
/// </summary>
public readonly struct DomainName : IEquatable<DomainName>
{
    private readonly string? _value;

    private DomainName(string value) => _value = value;

    /// <summary>The normalised name, e.g. <c>xn--bcher-kva.example</c>; empty for <c>default</c>.</summary>
    public string Value => _value ?? "";

    /// <summary>Parses a domain; throws <see cref="FormatException"/> with a one-line reason when it is not one.</summary>
    public static DomainName Parse(string input) =>
        TryParse(input, out var domain, out var error) ? domain : throw new FormatException(error);

    /// <summary>Parses a domain. On failure <paramref name="error"/> says why, in one line naming the input and the rule.</summary>
    public static bool TryParse(string? input, out DomainName domain, [NotNullWhen(false)] out string? error)
    {
        domain = default;
        var trimmed = input?.Trim() ?? "";
        if (IPAddress.TryParse(trimmed.TrimStart('[').TrimEnd(']', '.'), out _))
        {
            error = $"'{trimmed}' is an IP address, not a domain";
            return false;
        }
        // One pass over the labels, with host-name rules (the lookup path parses every key: no second check).
        error = DnsName.Validate(trimmed, hostName: true, out var normalized);
        if (error is not null)
        {
            return false;
        }
        domain = new DomainName(normalized!);
        return true;
    }

    /// <summary><see cref="TryParse"/> for callers that keep the name as a string.</summary>
    public static bool TryNormalize(string? input, [NotNullWhen(true)] out string? domain, [NotNullWhen(false)] out string? error)
    {
        var parsed = TryParse(input, out var name, out error);
        domain = parsed ? name.Value : null;
        return parsed;
    }

    public bool Equals(DomainName other) => string.Equals(Value, other.Value, StringComparison.Ordinal);

    public override bool Equals(object? obj) => obj is DomainName other && Equals(other);

    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Value);

    public override string ToString() => Value;

    public static bool operator ==(DomainName left, DomainName right) => left.Equals(right);

    public static bool operator !=(DomainName left, DomainName right) => !left.Equals(right);
}
