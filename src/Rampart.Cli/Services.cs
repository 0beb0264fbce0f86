using System.CommandLine;
using Rampart.Core;
using Rampart.Core.Dane;
using Rampart.Core.Dns;
using Rampart.Core.MtaSts;
using Rampart.Core.Policy;
using Rampart.Core.Tls;

namespace Rampart.Cli;

/// <summary>Builds the Core objects a verb needs from the global options; option faults become one-line errors.</summary>
internal sealed class Services
{
    private Services(DnsResolverSettings dnsSettings, TrustAnchors anchors, IReadOnlyList<string> warnings)
    {
        DnsSettings = dnsSettings;
        Dns = new DnsClientResolver(dnsSettings);
        Anchors = anchors;
        Warnings = warnings;
    }

    public DnsResolverSettings DnsSettings { get; }
    public IDnsResolver Dns { get; }
    public TrustAnchors Anchors { get; }
    public IReadOnlyList<string> Warnings { get; }
    public TimeProvider Time { get; } = TimeProvider.System;

    public static Services Create(ParseResult parse)
    {
        var options = new DnsResolverOptions { Resolver = parse.GetValue(GlobalOptions.Resolver) };
        if (!DnsResolverSettings.TryFromOptions(options, ResolvConf.DefaultPath, out var settings, out var errors))
        {
            throw new RampartException(string.Join("; ", errors));
        }
        var anchors = TrustAnchors.Load(parse.GetValue(GlobalOptions.CaFile));
        var warnings = settings.Warning is null ? Array.Empty<string>() : [settings.Warning];
        if (parse.GetValue(GlobalOptions.Verbose))
        {
            Console.Error.WriteLine($"rampart: resolver {settings.Endpoint} ({settings.Source}), DNSSEC {(settings.TrustAd ? "trusted" : "not trusted")}, " +
                                    $"timeout {settings.Timeout.TotalSeconds:0.#} s; extra CA files: {(anchors.Sources.Count == 0 ? "none" : string.Join(", ", anchors.Sources))}");
        }
        return new Services(settings, anchors, warnings);
    }

    public MtaStsPolicyProvider MtaSts(MtaStsFetchSettings fetch, IMtaStsPolicyStore? store = null) =>
        new(Dns, new MtaStsPolicyFetcher(Dns, new WebPkiValidator(Anchors, Time), fetch, Time),
            store ?? new InMemoryMtaStsPolicyStore(), new MtaStsPolicySettings(), Time);

    public SenderPolicyResolver SenderPolicy(MtaStsFetchSettings fetch, SenderPolicySettings settings) =>
        new(Dns, new DaneHostLookup(Dns), MtaSts(fetch), settings);
}

/// <summary>Runs a verb body, turning configuration faults into one-line errors with exit code 2.</summary>
internal static class Verb
{
    public static async Task<int> RunAsync(Func<Task<int>> body)
    {
        try
        {
            return await body().ConfigureAwait(false);
        }
        catch (RampartException ex)
        {
            return Terminal.Error(ex.Message);
        }
        catch (FormatException ex)
        {
            return Terminal.Error(ex.Message);
        }
    }
}
