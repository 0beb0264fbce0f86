using System.Diagnostics;
using System.Text;

namespace Rampart.Tests.Shared;

/// <summary>The outcome of one <c>rampart</c> run.</summary>
internal sealed record CliResult(int ExitCode, string Stdout, string Stderr, TimeSpan Elapsed)
{
    public override string ToString() => $"exit {ExitCode} after {Elapsed.TotalSeconds:0.0} s\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}";
}

/// <summary>
/// Runs the real <c>rampart</c> executable (the rampart.dll built next to the test assembly) as a child process,
/// with a hard deadline, so tests see exactly what an operator sees: stdout, stderr and the exit code.
/// </summary>
internal static class CliRunner
{
    public static string RampartDll { get; } = Path.Combine(AppContext.BaseDirectory, "rampart.dll");

    public static Task<CliResult> RunAsync(IEnumerable<string> args, byte[]? stdin = null, TimeSpan? timeout = null, IReadOnlyDictionary<string, string>? environment = null) =>
        RunUnderAsync(["dotnet", RampartDll], args, stdin, timeout, environment);

    /// <summary>Runs <paramref name="launcher"/> (a command line that ends with dotnet and a rampart.dll) with <paramref name="args"/>.</summary>
    public static async Task<CliResult> RunUnderAsync(IReadOnlyList<string> launcher, IEnumerable<string> args, byte[]? stdin = null, TimeSpan? timeout = null,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(launcher[0])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var arg in launcher.Skip(1))
        {
            info.ArgumentList.Add(arg);
        }
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        info.Environment["NO_COLOR"] = "1";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }
        var started = Stopwatch.StartNew();
        using var process = Process.Start(info) ?? throw new InvalidOperationException("cannot start dotnet");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            await process.StandardInput.BaseStream.WriteAsync(stdin);
        }
        process.StandardInput.Close();
        using var deadline = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"rampart {string.Join(' ', args)} did not finish within {(timeout ?? TimeSpan.FromSeconds(60)).TotalSeconds} s");
        }
        return new CliResult(process.ExitCode, await stdout, await stderr, started.Elapsed);
    }

    public static Task<CliResult> RunAsync(params string[] args) => RunAsync(args, null, null);

    /// <summary>True when the output shows a .NET stack trace or an unhandled exception: never acceptable.</summary>
    public static bool HasStackTrace(CliResult result) =>
        result.Stderr.Contains("Unhandled exception", StringComparison.Ordinal)
        || result.Stderr.Contains("   at ", StringComparison.Ordinal)
        || result.Stdout.Contains("   at Rampart", StringComparison.Ordinal);
}
