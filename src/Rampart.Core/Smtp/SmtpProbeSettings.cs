using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace Rampart.Core.Smtp;

/// <summary>
/// Limits and identity for <see cref="SmtpTlsProbe"/>. Every wait is bounded twice: by its own limit
/// (<see cref="ConnectTimeout"/> for the TCP connect, <see cref="CommandTimeout"/> for each reply and for the TLS
/// handshake) and by <see cref="TotalTimeout"/> for the whole probe, so a server that drips bytes cannot stretch it.
/// </summary>
public sealed record SmtpProbeSettings
{
    /// <summary>Used when the machine's own name is not a fully qualified domain name. ".invalid" is reserved (RFC 2606).</summary>
    public const string FallbackEhloName = "rampart.invalid";

    private static readonly Lazy<string> s_defaultEhloName = new(ComputeDefaultEhloName);

    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Limit for one command's complete reply (the greeting counts as one) and for the TLS handshake.</summary>
    public TimeSpan CommandTimeout { get; init; } = TimeSpan.FromSeconds(30);

    public TimeSpan TotalTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>The name sent in EHLO/HELO (RFC 5321 §4.1.1.1): the machine's FQDN, else <see cref="FallbackEhloName"/>.</summary>
    public string EhloName { get; init; } = s_defaultEhloName.Value;

    /// <summary>Longest reply line accepted, without its CRLF. RFC 5321 §4.5.3.1.5 allows 512 octets; real servers stay far below 4096.</summary>
    public int MaxLineBytes { get; init; } = 4096;

    /// <summary>Throws <see cref="ArgumentException"/> for settings no probe could run with (a bug in the caller, not a network outcome).</summary>
    internal void Validate()
    {
        RequirePositive(ConnectTimeout, nameof(ConnectTimeout));
        RequirePositive(CommandTimeout, nameof(CommandTimeout));
        RequirePositive(TotalTimeout, nameof(TotalTimeout));
        if (MaxLineBytes < 512)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxLineBytes), MaxLineBytes, "must be at least 512, the reply line length every SMTP server may use (RFC 5321 §4.5.3.1.5)");
        }
        // The name goes on the wire inside a command line: no spaces, no control characters, printable ASCII only.
        if (string.IsNullOrEmpty(EhloName) || EhloName.Length > 255 || EhloName.Any(c => c is <= ' ' or > '~'))
        {
            throw new ArgumentException($"EhloName '{EhloName}' is not a domain or address literal usable in EHLO", nameof(EhloName));
        }
    }

    private static void RequirePositive(TimeSpan value, string name)
    {
        if (value <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(name, value, "must be positive");
        }
    }

    /// <summary>
    /// The host name as the kernel has it, if that is already fully qualified; else host name plus the system's domain
    /// name; else <see cref="FallbackEhloName"/>. No DNS lookup is made: it would block and would go through the system
    /// resolver, which Rampart does not trust.
    /// </summary>
    private static string ComputeDefaultEhloName()
    {
        try
        {
            var host = System.Net.Dns.GetHostName();
            if (IsFullyQualified(host, out var fqdn))
            {
                return fqdn;
            }
            var domain = IPGlobalProperties.GetIPGlobalProperties().DomainName;
            if (!string.IsNullOrEmpty(domain) && domain != "(none)" && !host.Contains('.', StringComparison.Ordinal)
                && IsFullyQualified($"{host}.{domain}", out fqdn))
            {
                return fqdn;
            }
        }
        catch (Exception ex) when (ex is SocketException or NetworkInformationException or PlatformNotSupportedException)
        {
        }
        return FallbackEhloName;
    }

    internal static bool IsFullyQualified(string name, out string fqdn)
    {
        fqdn = "";
        if (!DomainName.TryNormalize(name, out var normalized, out _) || !normalized.Contains('.', StringComparison.Ordinal)
            || normalized.EndsWith(".localdomain", StringComparison.Ordinal))
        {
            return false;
        }
        fqdn = normalized;
        return true;
    }
}
