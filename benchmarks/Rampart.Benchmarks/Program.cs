using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace Rampart.Benchmarks;

/// <summary>
/// Six programs in one:
/// <list type="bullet">
/// <item><c>Rampart.Benchmarks resolve-lab [--count N] [--concurrency C] …</c>: the load run against the lab (<see cref="LabLoad"/>);</item>
/// <item><c>Rampart.Benchmarks resolve-dane --domain D [--repeat N] …</c>: one domain's decision latency in the lab, cold and warm (<see cref="LabDane"/>);</item>
/// <item><c>Rampart.Benchmarks socketmap-load --target HOST:PORT [--connections C] …</c>: load on a Postfix socketmap server such as <c>rampart daemon</c> (<see cref="SocketmapLoad"/>);</item>
/// <item><c>Rampart.Benchmarks socketmap-echo --listen IP:PORT</c>: a socketmap server that does no work, the machine's ceiling (<see cref="SocketmapEcho"/>);</item>
/// <item><c>Rampart.Benchmarks tlsrpt-datagrams --socket PATH --metrics URL --pid PID [--rate R] …</c>: libtlsrpt's datagrams on a TLS-RPT collector (<see cref="DatagramLoad"/>);</item>
/// <item>anything else goes to BenchmarkDotNet's switcher (micro-benchmarks of the parsers and the DANE matcher), e.g. <c>--filter '*'</c>.</item>
/// </list>
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        if (args is ["resolve-lab", .. var rest])
        {
            return await LabLoad.RunAsync(rest).ConfigureAwait(false);
        }
        if (args is ["resolve-dane", .. var daneArgs])
        {
            return await LabDane.RunAsync(daneArgs).ConfigureAwait(false);
        }

        if (args is ["socketmap-load", .. var loadArgs])
        {
            return SocketmapLoad.Run(loadArgs);
        }

        if (args is ["tlsrpt-datagrams", .. var datagramArgs])
        {
            return await DatagramLoad.RunAsync(datagramArgs).ConfigureAwait(false);
        }

        if (args is ["tlsrpt-report", .. var reportArgs])
        {
            return await ReportBuildLoad.RunAsync(reportArgs).ConfigureAwait(false);
        }

        if (args is ["socketmap-echo", .. var echoArgs])
        {
            return SocketmapEcho.Run(echoArgs);
        }

        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, DefaultConfig(args));
        return 0;
    }

    /// <summary>
    /// Unless the command line names a job, run ShortRun (3 warm-up, 5 measured iterations) in-process: the whole suite then takes a couple of minutes on
    /// two cores, and BenchmarkDotNet does not generate and build a child project (which would build Rampart.Core in
    /// place, beside the other builds of the repository). <c>--job</c> / <c>--runtimes</c> on the command line win.
    /// </summary>
    private static IConfig DefaultConfig(string[] args)
    {
        var config = ManualConfig.Create(BenchmarkDotNet.Configs.DefaultConfig.Instance)
            .WithArtifactsPath(Path.Combine(Path.GetTempPath(), "rampart-bdn"));
        bool jobGiven = args.Any(a => a is "--job" or "-j" or "--runtimes" or "-r" or "--inProcess" or "-i" || a.StartsWith("--job=", StringComparison.Ordinal));
        return jobGiven ? config : config.AddJob(Job.ShortRun.WithIterationCount(5).WithToolchain(InProcessEmitToolchain.Instance).WithId("Short5-InProcess"));
    }
}
