using Rampart.Core.Dns;
using Rampart.Core.MtaSts;
using Rampart.Core.Smtp;
using Rampart.Core.Tls;

namespace Rampart.Core.Check;

/// <summary>
/// The receiving-domain audit behind <c>rampart check</c>: gathers what DNS, the MTA-STS policy host and every MX
/// address show, then runs each check family over it and collects every finding. Several domains run with bounded
/// concurrency (<see cref="CheckSettings.MaxConcurrentDomains"/>) and at most one connection at a time per MX address.
/// Network outcomes, timeouts included, become findings; only the caller's cancellation throws.
/// </summary>
/// <remarks>Rotation safety (<see cref="CheckSettings.NextCertificates"/>) is one more check over the same observation; the <c>--watch</c> monitor (CheckWatch, WatchDiff) drives it per round.</remarks>
public sealed class DomainChecker
{
    private readonly ObservationCollector _collector;
    private readonly CheckSettings _settings;

    public DomainChecker(IDnsResolver dns, IMtaStsPolicyFetcher fetcher, ISmtpTlsProbe probe, WebPkiValidator webPki, CheckSettings settings, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(dns);
        ArgumentNullException.ThrowIfNull(fetcher);
        ArgumentNullException.ThrowIfNull(probe);
        ArgumentNullException.ThrowIfNull(webPki);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(time);
        settings.Validate();
        _settings = settings;
        _collector = new ObservationCollector(dns, fetcher, probe, webPki, settings, time);
    }

    /// <summary>The limits and thresholds this checker runs with (the monitor reads <see cref="CheckSettings.TestingLimit"/> here).</summary>
    public CheckSettings Settings => _settings;

    /// <summary>The check families, in report order.</summary>
    public static IReadOnlyList<IDomainCheck> Checks { get; } =
        [new MxCheck(), new DnssecCheck(), new SmtpTlsCheck(), new DaneCheck(), new RotationCheck(), new MtaStsCheck(), new MtaStsRotationCheck(), new TlsRptCheck(), new ConsistencyCheck()];

    /// <summary>Checks one domain. An invalid name gives a report with one <c>check.domain-invalid</c> finding.</summary>
    public async Task<DomainCheckReport> CheckAsync(string domain, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(domain);
        if (!DomainName.TryNormalize(domain, out var name, out var error))
        {
            return new DomainCheckReport(domain, [CheckCatalog.DomainInvalid.For(domain, error)]);
        }
        var observation = await _collector.ObserveAsync(name, cancellationToken).ConfigureAwait(false);
        return Evaluate(observation, _settings);
    }

    /// <summary>Checks several domains, at most <see cref="CheckSettings.MaxConcurrentDomains"/> at once; reports come back in input order.</summary>
    public async Task<IReadOnlyList<DomainCheckReport>> CheckAsync(IReadOnlyList<string> domains, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(domains);
        using var slots = new SemaphoreSlim(_settings.MaxConcurrentDomains, _settings.MaxConcurrentDomains);
        var tasks = domains.Select(async domain =>
        {
            await slots.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                return await CheckAsync(domain, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                slots.Release();
            }
        }).ToList();
        return await Task.WhenAll(tasks).ConfigureAwait(false);
    }

    /// <summary>Runs every check family over an observation (pure: no network).</summary>
    public static DomainCheckReport Evaluate(DomainObservation observation, CheckSettings settings)
    {
        ArgumentNullException.ThrowIfNull(observation);
        var findings = Checks.SelectMany(c => c.Evaluate(observation, settings)).Select(f => Named(f, observation.Domain)).ToList();
        return new DomainCheckReport(observation.Domain, findings);
    }

    /// <summary>The finding with the domain where the catalogue writes <c>&lt;domain&gt;</c> (fix and detail): the operator copies it as it is.</summary>
    private static CheckFinding Named(CheckFinding finding, string domain)
    {
        const string Placeholder = "<domain>";
        return finding.Fix.Contains(Placeholder, StringComparison.Ordinal) || finding.Detail.Contains(Placeholder, StringComparison.Ordinal)
            ? finding with
            {
                Fix = finding.Fix.Replace(Placeholder, domain, StringComparison.Ordinal),
                Detail = finding.Detail.Replace(Placeholder, domain, StringComparison.Ordinal),
            }
            : finding;
    }
}
