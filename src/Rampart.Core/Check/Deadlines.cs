using System.Globalization;
using System.Net;
using Rampart.Core.Dns;
using Rampart.Core.MtaSts;
using Rampart.Core.Smtp;

namespace Rampart.Core.Check;

/// <summary>
/// Gives every network step of the auditor its own deadline, whatever the component underneath does: a resolver that
/// never answers, a probe or a fetch that hangs all come back as values naming the limit, never as a hang. Only the
/// caller's own cancellation throws.
/// </summary>
internal sealed class Deadlines(TimeSpan limit, TimeProvider time)
{
    /// <summary>Probes and fetches keep their own (nicer) timeout messages: this backstop fires only a little later.</summary>
    private static readonly TimeSpan s_backstopGrace = TimeSpan.FromSeconds(2);

    public TimeSpan Limit => limit;

    public async Task<T> RunAsync<T>(Func<CancellationToken, Task<T>> step, Func<string, T> onTimeout, TimeSpan stepLimit, CancellationToken cancellationToken)
    {
        using var timer = new CancellationTokenSource(stepLimit, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timer.Token);
        try
        {
            return await step(linked.Token).WaitAsync(linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return onTimeout(string.Create(CultureInfo.InvariantCulture, $"no answer within {stepLimit.TotalSeconds:0.###} s"));
        }
    }

    public Task<DnsResult<T>> DnsAsync<T>(string name, string type, Func<CancellationToken, Task<DnsResult<T>>> query, CancellationToken cancellationToken) =>
        RunAsync(query, why => DnsResult<T>.Failed(name, DnsErrorKind.Timeout, $"timeout: {why} for {name} {type}"), limit, cancellationToken);

    public Task<SmtpTlsProbeResult> ProbeAsync(ISmtpTlsProbe probe, IPEndPoint endpoint, string? serverName, CancellationToken cancellationToken) =>
        RunAsync(ct => probe.ProbeAsync(endpoint, serverName, ct),
            why => new SmtpTlsProbeResult(endpoint, SmtpProbeStage.Connect, false, null, [], null, null, [], $"the SMTP conversation gave {why}", limit + s_backstopGrace),
            limit + s_backstopGrace, cancellationToken);

    public Task<MtaStsFetchResult> FetchAsync(IMtaStsPolicyFetcher fetcher, string domain, CancellationToken cancellationToken) =>
        RunAsync(ct => fetcher.FetchAsync(domain, ct),
            why => new MtaStsFetchResult(MtaStsFetchError.Timeout, MtaStsPolicyFetcher.PolicyUrl(domain), $"timeout: {why}"),
            limit + s_backstopGrace, cancellationToken);
}

/// <summary>An <see cref="IDnsResolver"/> whose every question ends within the limit (a timeout is a lookup error).</summary>
internal sealed class DeadlineDnsResolver(IDnsResolver inner, Deadlines deadlines) : IDnsResolver, IDnsSignatureSource
{
    public bool CanReadSignatures => inner is IDnsSignatureSource;

    public Task<DnsResult<string>> QueryTxtAsync(string name, CancellationToken cancellationToken) =>
        deadlines.DnsAsync(name, "TXT", ct => inner.QueryTxtAsync(name, ct), cancellationToken);

    public Task<DnsResult<MxRecord>> QueryMxAsync(string name, CancellationToken cancellationToken) =>
        deadlines.DnsAsync(name, "MX", ct => inner.QueryMxAsync(name, ct), cancellationToken);

    public Task<DnsResult<IPAddress>> QueryAddressesAsync(string name, CancellationToken cancellationToken) =>
        deadlines.DnsAsync(name, "A/AAAA", ct => inner.QueryAddressesAsync(name, ct), cancellationToken);

    public Task<DnsResult<TlsaRecordData>> QueryTlsaAsync(string name, CancellationToken cancellationToken) =>
        deadlines.DnsAsync(name, "TLSA", ct => inner.QueryTlsaAsync(name, ct), cancellationToken);

    public Task<DnsResult<DnsSignature>> QuerySignaturesAsync(string name, string type, CancellationToken cancellationToken) =>
        inner is IDnsSignatureSource signatures
            ? deadlines.DnsAsync(name, "RRSIG " + type, ct => signatures.QuerySignaturesAsync(name, type, ct), cancellationToken)
            : Task.FromResult(new DnsResult<DnsSignature>(name, DnsOutcome.NoData, false, [], []));
}
