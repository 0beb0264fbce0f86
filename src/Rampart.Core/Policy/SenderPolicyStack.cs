using Rampart.Core.Dane;
using Rampart.Core.Dns;
using Rampart.Core.MtaSts;
using Rampart.Core.Policy.Pinned;
using Rampart.Core.Tls;

namespace Rampart.Core.Policy;

/// <summary>
/// How the sender decision is put together, the one place every host (CLI, daemon, benchmarks) assembles it: an
/// MTA-STS fetcher over the resolver and the WebPKI validator, the MTA-STS provider over a policy store, and the
/// <see cref="SenderPolicyResolver"/> over the provider and DANE lookups on the same resolver.
/// </summary>
public static class SenderPolicyStack
{
    /// <summary>
    /// The MTA-STS provider (default <see cref="MtaStsPolicySettings"/>) whose fetcher fetches with
    /// <paramref name="fetch"/>; <paramref name="decorateFetcher"/>, when given, wraps that fetcher (the daemon counts
    /// fetches with it).
    /// </summary>
    public static MtaStsPolicyProvider MtaStsProvider(IDnsResolver dns, WebPkiValidator validator, MtaStsFetchSettings fetch,
        IMtaStsPolicyStore store, TimeProvider time, Func<IMtaStsPolicyFetcher, IMtaStsPolicyFetcher>? decorateFetcher = null)
    {
        IMtaStsPolicyFetcher fetcher = new MtaStsPolicyFetcher(dns, validator, fetch, time);
        if (decorateFetcher is not null)
        {
            fetcher = decorateFetcher(fetcher);
        }
        return new MtaStsPolicyProvider(dns, fetcher, store, new MtaStsPolicySettings(), time);
    }

    /// <summary>The sender decision over <paramref name="mtaSts"/>, with DANE looked up through the same <paramref name="dns"/>.</summary>
    public static SenderPolicyResolver Resolver(IDnsResolver dns, MtaStsPolicyProvider mtaSts, SenderPolicySettings settings,
        PinnedPolicySet? pinned, TimeProvider time) =>
        new(dns, new DaneHostLookup(dns), mtaSts, settings, pinned, time);
}
