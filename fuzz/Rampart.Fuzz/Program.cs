using SharpFuzz;

namespace Rampart.Fuzz;

/// <summary>
/// <c>Rampart.Fuzz TARGET</c> runs one target under afl-fuzz (SharpFuzz's out-of-process fork server: the input arrives
/// on stdin, a target that throws is a crash). <c>Rampart.Fuzz --replay TARGET PATH...</c> runs files or directories
/// of inputs once each, without AFL, and names every input that breaks the target's contract. <c>--list</c> names the
/// targets.
/// </summary>
internal static class Program
{
    /// <summary>Inputs larger than this are cut: every parser here has its own, smaller limit to hit first.</summary>
    private const int MaxInputBytes = 1 << 20;

    public static int Main(string[] args)
    {
        switch (args)
        {
            case ["--list"]:
                foreach (var target in FuzzTargets.All)
                {
                    Console.WriteLine($"{target.Name}\t{target.Description}");
                }
                return 0;
            case ["--replay", var name, .. var paths] when paths.Length > 0:
                return FuzzTargets.Find(name) is { } replayed ? Replay(replayed, paths) : Unknown(name);
            case [var name] when !name.StartsWith('-'):
                if (FuzzTargets.Find(name) is not { } fuzzed)
                {
                    return Unknown(name);
                }
                Fuzzer.OutOfProcess.Run(stream => fuzzed.Run(ReadAll(stream)));
                return 0;
            default:
                Console.Error.WriteLine("usage: Rampart.Fuzz TARGET (under afl-fuzz, input on stdin) | --replay TARGET FILE|DIR... | --list");
                return 2;
        }
    }

    private static int Unknown(string name)
    {
        Console.Error.WriteLine($"no fuzz target '{name}'; known: {string.Join(", ", FuzzTargets.All.Select(t => t.Name))}");
        return 2;
    }

    private static unsafe int Replay(FuzzTarget target, string[] paths)
    {
        // Instrumented assemblies (fuzz/.build) count branches into SharpFuzz's trace map; outside afl-fuzz give them one.
        SharpFuzz.Common.Trace.SharedMem = (byte*)System.Runtime.InteropServices.NativeMemory.AllocZeroed(1 << 16);
        var files = paths.SelectMany(p => Directory.Exists(p) ? Directory.EnumerateFiles(p, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal) : (IEnumerable<string>)[p]).ToList();
        var failures = 0;
        foreach (var file in files)
        {
            try
            {
                target.Run(Cut(File.ReadAllBytes(file)));
            }
            catch (Exception ex)
            {
                failures++;
                Console.Error.WriteLine($"{target.Name}: {file}: {ex.GetType().Name}: {ex.Message}");
                Console.Error.WriteLine(ex.StackTrace);
            }
        }
        Console.WriteLine($"{target.Name}: replayed {files.Count} input(s), {failures} broke the contract");
        return failures == 0 ? 0 : 1;
    }

    private static byte[] ReadAll(Stream stream)
    {
        using var copy = new MemoryStream();
        var buffer = new byte[64 * 1024];
        int read;
        while (copy.Length < MaxInputBytes && (read = stream.Read(buffer, 0, buffer.Length)) > 0)
        {
            copy.Write(buffer, 0, read);
        }
        return Cut(copy.ToArray());
    }

    private static byte[] Cut(byte[] input) => input.Length <= MaxInputBytes ? input : input[..MaxInputBytes];
}
