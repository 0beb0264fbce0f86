using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Rampart.Core.Dns;

/// <summary>Where the resolver address came from; it decides whether its AD bit is trusted.</summary>
public enum ResolverSource
{
    /// <summary>Named by the operator (<c>--resolver</c> or the config file).</summary>
    Explicit,
    /// <summary>The first nameserver of resolv.conf.</summary>
    ResolvConf,
}

/// <summary>
/// The immutable DNS settings a <see cref="DnsClientResolver"/> runs with.
/// <see cref="TrustAd"/>: the AD bit is believed only from a loopback resolver or one the operator named
/// explicitly (RFC 7672 §2.1.1; as Postfix and maddy do). Otherwise every answer is reported insecure and
/// <see cref="Warning"/> says so.
/// </summary>
public sealed record DnsResolverSettings
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(3);
    public static readonly TimeSpan MaxTimeout = TimeSpan.FromSeconds(60);
    public const int DefaultRetries = 1;
    public const int MaxRetries = 10;
    public const int DefaultMaxCnameHops = 8;
    public const int MaxMaxCnameHops = 32;

    public required ResolverEndpoint Endpoint { get; init; }

    public required ResolverSource Source { get; init; }

    /// <summary>Whether an AD bit from <see cref="Endpoint"/> makes an answer secure.</summary>
    public required bool TrustAd { get; init; }

    /// <summary>Per-try timeout.</summary>
    public TimeSpan Timeout { get; init; } = DefaultTimeout;

    /// <summary>Extra tries after a timeout.</summary>
    public int Retries { get; init; } = DefaultRetries;

    public bool UseTcpFallback { get; init; } = true;

    public int MaxCnameHops { get; init; } = DefaultMaxCnameHops;

    /// <summary>Set when AD is not trusted: one line saying every answer is insecure, and how to fix it.</summary>
    public string? Warning { get; init; }

    /// <summary>Settings for a resolver the caller names itself (tests, the lab, <c>--resolver</c>): AD trusted.</summary>
    public static DnsResolverSettings ForEndpoint(ResolverEndpoint endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        return new DnsResolverSettings { Endpoint = endpoint, Source = ResolverSource.Explicit, TrustAd = true };
    }

    /// <summary>
    /// Applies "the explicit resolver, else the first nameserver of resolv.conf" and the trust rule.
    /// </summary>
    /// <exception cref="ArgumentException">The options are invalid or no resolver can be found; the message lists every problem.</exception>
    public static DnsResolverSettings FromOptions(DnsResolverOptions options, string resolvConfPath = ResolvConf.DefaultPath)
    {
        if (TryFromOptions(options, resolvConfPath, out var settings, out var errors))
        {
            return settings;
        }

        throw new ArgumentException(string.Join("; ", errors), nameof(options));
    }

    /// <summary>Like <see cref="FromOptions"/>, but collects every problem into <paramref name="errors"/> instead of throwing.</summary>
    public static bool TryFromOptions(
        DnsResolverOptions options,
        string resolvConfPath,
        [NotNullWhen(true)] out DnsResolverSettings? settings,
        out IReadOnlyList<string> errors)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(resolvConfPath);
        settings = null;
        var problems = new List<string>();

        if (options.Timeout <= TimeSpan.Zero || options.Timeout > MaxTimeout)
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture,
                $"DNS Timeout must be more than 0 and at most {MaxTimeout.TotalSeconds} s (got {options.Timeout})"));
        }

        if (options.Retries is < 0 or > MaxRetries)
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture,
                $"DNS Retries must be from 0 to {MaxRetries} (got {options.Retries})"));
        }

        if (options.MaxCnameHops is < 1 or > MaxMaxCnameHops)
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture,
                $"DNS MaxCnameHops must be from 1 to {MaxMaxCnameHops} (got {options.MaxCnameHops})"));
        }

        ResolverEndpoint? endpoint = null;
        ResolverSource source;
        var trustAd = false;
        string? warning = null;
        if (!string.IsNullOrWhiteSpace(options.Resolver))
        {
            source = ResolverSource.Explicit;
            if (ResolverEndpoint.TryParse(options.Resolver, out endpoint, out var error))
            {
                trustAd = true;
            }
            else
            {
                problems.Add(error);
            }
        }
        else
        {
            source = ResolverSource.ResolvConf;
            if (!ResolvConf.TryLoad(resolvConfPath, out var conf, out var error))
            {
                problems.Add($"no resolver: {error}; name one in the resolver setting");
            }
            else if (conf.FirstNameserver is null)
            {
                var skipped = conf.Notes.Count > 0 ? $" ({string.Join("; ", conf.Notes)})" : "";
                problems.Add($"no resolver: {resolvConfPath} has no usable nameserver line{skipped}; name one in the resolver setting");
            }
            else
            {
                endpoint = conf.FirstNameserver;
                trustAd = endpoint.IsLoopback;
                if (!trustAd)
                {
                    warning = UntrustedWarning(endpoint, resolvConfPath, conf.TrustAd);
                }
            }
        }

        errors = problems;
        if (problems.Count > 0)
        {
            return false;
        }

        settings = new DnsResolverSettings
        {
            Endpoint = endpoint!,
            Source = source,
            TrustAd = trustAd,
            Timeout = options.Timeout,
            Retries = options.Retries,
            UseTcpFallback = options.UseTcpFallback,
            MaxCnameHops = options.MaxCnameHops,
            Warning = warning,
        };
        return true;
    }

    private static string UntrustedWarning(ResolverEndpoint endpoint, string path, bool trustAdOption)
    {
        var note = trustAdOption ? $" ('options trust-ad' in {path} is not enough: Rampart does not rely on it.)" : "";
        return $"DNSSEC not trusted: resolver {endpoint} comes from {path} and is not on loopback, so its AD bit is "
            + "ignored and every DNS answer is treated as insecure (DANE never applies). Fix: run a validating resolver "
            + $"on loopback (e.g. unbound on 127.0.0.1) and point {path} or the resolver setting at it, or, if the network path to "
            + $"{endpoint} is trusted, name it explicitly in the resolver setting ({endpoint})." + note;
    }
}
