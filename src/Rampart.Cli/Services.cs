using System.CommandLine;
using Rampart.Core;
using Rampart.Core.Dns;
using Rampart.Core.IO;
using Rampart.Core.MtaSts;
using Rampart.Core.Policy;
using Rampart.Core.Policy.Pinned;
using Rampart.Core.Tls;
using Rampart.Hosting;

namespace Rampart.Cli;

/// <summary>Builds the Core objects a verb needs from the global options; option faults become one-line errors.</summary>
internal sealed class Services
{
    private Services(DnsResolverSettings dnsSettings, TrustAnchors anchors, PinnedPolicySet? pinned, IReadOnlyList<string> warnings)
    {
        Pinned = pinned;
        DnsSettings = dnsSettings;
        Dns = new DnsClientResolver(dnsSettings);
        Anchors = anchors;
        Warnings = warnings;
    }

    public DnsResolverSettings DnsSettings { get; }
    public PinnedPolicySet? Pinned { get; }
    public IDnsResolver Dns { get; }
    public TrustAnchors Anchors { get; }
    public IReadOnlyList<string> Warnings { get; }
    public TimeProvider Time { get; } = TimeProvider.System;

    /// <summary>Builds from the global options.</summary>
    public static Services Create(ParseResult parse) => Create(ServiceInputs.From(parse));

    /// <summary>Builds from the values the command line (merged with a configuration file by <see cref="SettingsMerge"/>) gives.</summary>
    public static Services Create(ServiceInputs inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var options = new DnsResolverOptions { Resolver = inputs.Resolver };
        if (!DnsResolverSettings.TryFromOptions(options, ResolvConf.DefaultPath, out var settings, out var errors))
        {
            // Core names the setting; on the command line it is --resolver.
            throw new RampartException(string.Join("; ", errors) + (options.Resolver is null ? " (--resolver IP[:PORT])" : ""));
        }
        var anchors = TrustAnchors.Load(inputs.CaFile);
        var warnings = settings.Warning is null ? new List<string>() : [settings.Warning];
        var pinned = LoadPinned(inputs.Overrides, inputs.PolicyList, warnings);
        if (inputs.Verbose)
        {
            Console.Error.WriteLine($"rampart: resolver {settings.Endpoint} ({settings.Source}), DNSSEC {(settings.TrustAd ? "trusted" : "not trusted")}, " +
                                    $"timeout {settings.Timeout.TotalSeconds:0.#} s; extra CA files: {(anchors.Sources.Count == 0 ? "none" : string.Join(", ", anchors.Sources))}");
        }
        return new Services(settings, anchors, pinned, warnings);
    }

    /// <summary>Reads --overrides and --policy-list; an unreadable file or an invalid override line is an error, a bad list entry a warning.</summary>
    private static PinnedPolicySet? LoadPinned(string? overridesPath, string? listPath, List<string> warnings)
    {
        if (overridesPath is null && listPath is null)
        {
            return null;
        }
        PinnedOverrides? overrides = null;
        if (overridesPath is not null)
        {
            overrides = PinnedOverrides.Parse(ReadText(overridesPath, "--overrides"), overridesPath);
            if (!overrides.IsValid)
            {
                throw new RampartException($"--overrides {overridesPath}: {overrides.Errors.Count} invalid line(s); first: {overrides.Errors[0]}");
            }
        }
        StartTlsPolicyList? list = null;
        if (listPath is not null)
        {
            list = StartTlsPolicyList.Parse(ReadText(listPath, "--policy-list"), listPath);
            if (!list.IsUsable && list.Errors.Count > 0)
            {
                throw new RampartException($"--policy-list {listPath}: {list.Errors[0]}");
            }
            warnings.AddRange(list.Errors.Concat(list.Warnings).Select(d => $"--policy-list {listPath}: {d}"));
        }
        var set = new PinnedPolicySet(overrides, list);
        if (set.ListWarning(TimeProvider.System.GetUtcNow()) is { } expired)
        {
            warnings.Add(expired);
        }
        return set;
    }

    private static string ReadText(string path, string option)
    {
        try
        {
            return UserFile.ReadAllText(path, option, UserFile.Limits.PinnedPolicies);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new RampartException($"{option} {path}: cannot be read ({ex.Message})", ex);
        }
    }

    /// <summary>Writes the warnings to stderr; the resolver's (from Core, naming the setting) gets the option that sets it.</summary>
    public void WriteWarnings()
    {
        foreach (var warning in Warnings)
        {
            Console.Error.WriteLine("rampart: warning: " + (warning == DnsSettings.Warning ? $"{warning} On the command line: --resolver {DnsSettings.Endpoint}." : warning));
        }
    }

    public MtaStsPolicyProvider MtaSts(MtaStsFetchSettings fetch, IMtaStsPolicyStore? store = null) =>
        SenderPolicyStack.MtaStsProvider(Dns, new WebPkiValidator(Anchors, Time), fetch, store ?? new InMemoryMtaStsPolicyStore(), Time);

    public SenderPolicyResolver SenderPolicy(MtaStsFetchSettings fetch, SenderPolicySettings settings) =>
        SenderPolicyStack.Resolver(Dns, MtaSts(fetch), settings, Pinned, Time);
}

/// <summary>The values <see cref="Services"/> are built from: the global options, or those merged with a configuration file.</summary>
internal sealed record ServiceInputs(string? Resolver, string? CaFile, string? Overrides, string? PolicyList, bool Verbose)
{
    public static ServiceInputs From(ParseResult parse)
    {
        ArgumentNullException.ThrowIfNull(parse);
        return new(parse.GetValue(GlobalOptions.Resolver), parse.GetValue(GlobalOptions.CaFile), parse.GetValue(GlobalOptions.Overrides),
            parse.GetValue(GlobalOptions.PolicyList), parse.GetValue(GlobalOptions.Verbose));
    }
}

/// <summary>
/// Runs a verb body, turning configuration faults into one-line errors with exit code 2, and a stop signal (the
/// token System.CommandLine cancels on SIGINT/SIGTERM) that ends the body early into a defined exit code instead of
/// System.CommandLine's silent exit 1.
/// </summary>
internal static class Verb
{
    /// <summary>A one-shot verb: stopped early, it exits <see cref="ExitCodes.Interrupted"/>.</summary>
    public static Task<int> RunAsync(Func<Task<int>> body, CancellationToken stop = default) =>
        RunAsync(body, ExitCodes.Interrupted, stop);

    /// <summary>A service (<c>daemon</c>, <c>serve</c>): a stop signal is how it ends, also while it is still starting.</summary>
    public static Task<int> RunServiceAsync(Func<Task<int>> body, CancellationToken stop) =>
        RunAsync(body, ExitCodes.Ok, stop);

    /// <summary>A started server: waits for the stop signal, then gives <paramref name="stopServer"/> 5 s to let requests in flight finish.</summary>
    public static async Task WaitForStopAsync(Func<CancellationToken, Task> stopServer, CancellationToken stop)
    {
        try
        {
            await Task.Delay(Timeout.Infinite, stop).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await stopServer(grace.Token).ConfigureAwait(false);
    }

    /// <summary>
    /// <see cref="WaitForStopAsync"/> for a server a unit runs as <c>Type=notify</c> (rampart-serve.service): tells the
    /// service manager <c>READY=1</c> with <paramref name="status"/> now, pings its watchdog while serving (when the
    /// unit sets <c>WatchdogSec=</c>), and says <c>STOPPING=1</c> before the server stops. Started by hand (no
    /// <c>$NOTIFY_SOCKET</c>) it is <see cref="WaitForStopAsync"/>.
    /// </summary>
    public static async Task ServeUntilStoppedAsync(string status, Func<CancellationToken, Task> stopServer, CancellationToken stop)
    {
        using var systemd = SystemdNotify.FromEnvironment();
        systemd.Ready(status);
        using var serving = CancellationTokenSource.CreateLinkedTokenSource(stop);
        var watchdog = systemd.PingWatchdogAsync(TimeProvider.System, serving.Token);
        await WaitForStopAsync(grace =>
        {
            systemd.Stopping();
            return stopServer(grace);
        }, stop).ConfigureAwait(false);
        await serving.CancelAsync().ConfigureAwait(false);
        await watchdog.ConfigureAwait(false);
    }

    private static async Task<int> RunAsync(Func<Task<int>> body, int stoppedExitCode, CancellationToken stop)
    {
        try
        {
            return await body().ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            return stoppedExitCode;
        }
        catch (RampartException ex)
        {
            return Terminal.Error(ex.Message);
        }
        catch (FormatException ex)
        {
            return Terminal.Error(ex.Message);
        }
        catch (Rampart.Hosting.StartupException ex)
        {
            return Terminal.Error(ex.Message);
        }
    }
}
