using System.Diagnostics.CodeAnalysis;
using System.Net;
using Rampart.Core.Dns;

namespace Rampart.Core;

/// <summary>
/// A mail destination domain as every edge receives it (CLI arguments, socketmap keys): normalised like any DNS name
/// (<see cref="DnsName"/>: lower case, no trailing dot, A-labels), and then held to host-name syntax: no IP literal,
/// no underscore, no label starting or ending with a hyphen.
/// </summary>
public static class DomainName
{
    public static bool TryNormalize(string? input, [NotNullWhen(true)] out string? domain, [NotNullWhen(false)] out string? error)
    {
        domain = null;
        var trimmed = input?.Trim() ?? "";
        if (IPAddress.TryParse(trimmed.TrimStart('[').TrimEnd(']', '.'), out _))
        {
            error = $"'{trimmed}' is an IP address, not a domain";
            return false;
        }
        if (!DnsName.TryNormalize(trimmed, out var normalized, out error))
        {
            return false;
        }
        var bad = normalized.Split('.').FirstOrDefault(l => l.Contains('_', StringComparison.Ordinal) || l.StartsWith('-') || l.EndsWith('-'));
        if (bad is not null)
        {
            error = $"'{trimmed}' is not a mail domain: label '{bad}' is not a host-name label";
            return false;
        }
        domain = normalized;
        return true;
    }
}
