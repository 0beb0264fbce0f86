using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Rampart.Core.Dane;
using Rampart.Core.Dns;
using Rampart.Core.MtaSts;
using Rampart.Core.Smtp;
using Rampart.Core.Tls;

namespace Rampart.Core.Check;

/// <summary>
/// Gathers a <see cref="DomainObservation"/>: MX, MTA-STS and TLS-RPT lookups run side by side; then each MX host's
/// addresses and TLSA records (RFC 7672 §2.2, through <see cref="DaneHostLookup"/>); then one STARTTLS probe per address,
/// with SNI set to the TLSA base domain when DANE applies, else the MX host name. Every network step has a deadline
/// (<see cref="CheckSettings.Timeout"/>). A per-address gate, shared by all domains of a run, keeps it to one connection
/// at a time per MX address.
/// </summary>
internal sealed class ObservationCollector
{
    private readonly DeadlineDnsResolver _dns;
    private readonly IMtaStsPolicyFetcher _fetcher;
    private readonly ISmtpTlsProbe _probe;
    private readonly WebPkiValidator _webPki;
    private readonly CheckSettings _settings;
    private readonly TimeProvider _time;
    private readonly Deadlines _deadlines;
    private readonly DaneHostLookup _daneLookup;
    private readonly ConcurrentDictionary<IPAddress, SemaphoreSlim> _addressGates = new();

    public ObservationCollector(IDnsResolver dns, IMtaStsPolicyFetcher fetcher, ISmtpTlsProbe probe, WebPkiValidator webPki, CheckSettings settings, TimeProvider time)
    {
        _deadlines = new Deadlines(settings.Timeout, time);
        _dns = new DeadlineDnsResolver(dns, _deadlines);
        _fetcher = fetcher;
        _probe = probe;
        _webPki = webPki;
        _settings = settings;
        _time = time;
        _daneLookup = new DaneHostLookup(_dns, settings.Port);
    }

    public async Task<DomainObservation> ObserveAsync(string domain, CancellationToken cancellationToken)
    {
        var mxTask = _dns.QueryMxAsync(domain, cancellationToken);
        var stsTask = ObserveMtaStsAsync(domain, cancellationToken);
        var rptTask = _dns.QueryTxtAsync("_smtp._tls." + domain, cancellationToken);
        var mx = await mxTask.ConfigureAwait(false);
        var hostTask = ObserveHostsAsync(mx, cancellationToken);
        var signatures = mx.Outcome == DnsOutcome.Records && mx.IsSecure
            ? await SignaturesAsync(domain, "MX", cancellationToken).ConfigureAwait(false)
            : [];
        var hosts = await hostTask.ConfigureAwait(false);
        var sts = await stsTask.ConfigureAwait(false);
        return new DomainObservation(domain, _time.GetUtcNow(), mx, hosts, signatures, sts, await rptTask.ConfigureAwait(false))
        {
            NextWebPki = JudgeNextCertificates(hosts, sts),
        };
    }

    /// <summary>
    /// WebPKI verdicts on the next certificates for the MX hosts whose names they carry, as MTA-STS senders would judge
    /// them (only with a policy in mode testing or enforce: otherwise no sender applies WebPKI to the MX).
    /// </summary>
    private List<NextCertificateWebPki> JudgeNextCertificates(IReadOnlyList<MxHostObservation> hosts, MtaStsObservation sts)
    {
        var verdicts = new List<NextCertificateWebPki>();
        if (_settings.NextCertificates.Count == 0 || sts.Policy?.Mode is not (MtaStsMode.Testing or MtaStsMode.Enforce))
        {
            return verdicts;
        }
        foreach (var next in _settings.NextCertificates)
        {
            foreach (var host in hosts.Where(h => next.Leaf.MatchesHostname(h.Host, allowWildcards: true, allowCommonName: false)))
            {
                verdicts.Add(new NextCertificateWebPki(next, host.Host, _webPki.Validate(next.Leaf, next.Chain, host.Host)));
            }
        }
        return verdicts;
    }

    private async Task<IReadOnlyList<MxHostObservation>> ObserveHostsAsync(DnsResult<MxRecord> mx, CancellationToken cancellationToken)
    {
        if (mx.Outcome != DnsOutcome.Records)
        {
            return [];
        }
        var hosts = mx.Records
            .Where(r => r.Exchange.Length > 0)
            .GroupBy(r => r.Exchange, StringComparer.OrdinalIgnoreCase)
            .Select(g => g.OrderBy(r => r.Preference).First())
            .OrderBy(r => r.Preference)
            .ThenBy(r => r.Exchange, StringComparer.Ordinal)
            .ToList();
        return await Task.WhenAll(hosts.Select(h => ObserveHostAsync(h, cancellationToken))).ConfigureAwait(false);
    }

    private async Task<MxHostObservation> ObserveHostAsync(MxRecord mx, CancellationToken cancellationToken)
    {
        var host = mx.Exchange;
        var addresses = await _dns.QueryAddressesAsync(host, cancellationToken).ConfigureAwait(false);
        if (addresses.Outcome != DnsOutcome.Records)
        {
            return new MxHostObservation(host, mx.Preference, addresses, null, [], []);
        }
        DaneHostResult? dane = null;
        var signatures = new List<DnsSignature>();
        if (addresses.IsSecure)
        {
            dane = await _daneLookup.LookupAsync(host, cancellationToken).ConfigureAwait(false);
            if (addresses.Records.Any(a => a.AddressFamily == AddressFamily.InterNetwork))
            {
                signatures.AddRange(await SignaturesAsync(host, "A", cancellationToken).ConfigureAwait(false));
            }
            if (addresses.Records.Any(a => a.AddressFamily == AddressFamily.InterNetworkV6))
            {
                signatures.AddRange(await SignaturesAsync(host, "AAAA", cancellationToken).ConfigureAwait(false));
            }
            if (dane is { TlsaBaseDomain: { } baseDomain })
            {
                signatures.AddRange(await SignaturesAsync(_daneLookup.TlsaName(baseDomain), "TLSA", cancellationToken).ConfigureAwait(false));
            }
        }
        var serverName = dane?.Status == DaneHostStatus.Usable ? dane.TlsaBaseDomain! : host;
        var probes = await Task.WhenAll(addresses.Records.Select(a => ObserveAddressAsync(host, a, serverName, dane, cancellationToken))).ConfigureAwait(false);
        return new MxHostObservation(host, mx.Preference, addresses, dane, probes, signatures);
    }

    private async Task<AddressObservation> ObserveAddressAsync(string host, IPAddress address, string serverName, DaneHostResult? dane, CancellationToken cancellationToken)
    {
        var gate = _addressGates.GetOrAdd(address, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        SmtpTlsProbeResult probe;
        try
        {
            probe = await _deadlines.ProbeAsync(_probe, new IPEndPoint(address, _settings.Port), serverName, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            gate.Release();
        }
        if (!probe.TlsEstablished)
        {
            return new AddressObservation(address, serverName, probe, null, null);
        }
        var chain = probe.PresentedChain;
        var webPki = _webPki.Validate(chain.Count > 0 ? chain[0] : null, chain, host);
        DaneMatchResult? match = null;
        if (dane?.Status == DaneHostStatus.Usable)
        {
            var references = serverName.Equals(host, StringComparison.OrdinalIgnoreCase) ? new[] { serverName } : [serverName, host];
            match = DaneMatcher.Match(dane.Records, chain, new DaneMatchOptions(references, _time.GetUtcNow()));
        }
        return new AddressObservation(address, serverName, probe, webPki, match);
    }

    private async Task<MtaStsObservation> ObserveMtaStsAsync(string domain, CancellationToken cancellationToken)
    {
        var txt = await _dns.QueryTxtAsync("_mta-sts." + domain, cancellationToken).ConfigureAwait(false);
        if (txt.IsLookupError)
        {
            return new MtaStsObservation(txt, null, null, null);
        }
        var lookup = MtaStsTxtRecord.Select(txt.Records);
        if (!lookup.IsFound)
        {
            return new MtaStsObservation(txt, lookup, null, null);
        }
        var fetch = await _deadlines.FetchAsync(_fetcher, domain, cancellationToken).ConfigureAwait(false);
        if (!fetch.IsSuccess || fetch.Body is null)
        {
            return new MtaStsObservation(txt, lookup, fetch, null);
        }
        return new MtaStsObservation(txt, lookup, fetch, MtaStsPolicyParser.Parse(fetch.Body));
    }

    private async Task<IReadOnlyList<DnsSignature>> SignaturesAsync(string name, string type, CancellationToken cancellationToken)
    {
        if (!_dns.CanReadSignatures)
        {
            return [];
        }
        var result = await _dns.QuerySignaturesAsync(name, type, cancellationToken).ConfigureAwait(false);
        return result.Records;
    }
}
