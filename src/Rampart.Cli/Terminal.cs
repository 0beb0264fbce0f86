using Rampart.Core.Policy;

namespace Rampart.Cli;

/// <summary>Human output: colour only when the stream is a terminal and NO_COLOR is unset.</summary>
internal static class Terminal
{
    private static readonly bool s_colour = !Console.IsOutputRedirected && Environment.GetEnvironmentVariable("NO_COLOR") is null;

    public static string Paint(string text, ConsoleColor colour)
    {
        if (!s_colour)
        {
            return text;
        }
        var code = colour switch
        {
            ConsoleColor.Red => "31",
            ConsoleColor.Green => "32",
            ConsoleColor.Yellow => "33",
            ConsoleColor.Cyan => "36",
            _ => "90",
        };
        return $"\u001b[{code}m{text}\u001b[0m";
    }

    public static string Outcome(EvidenceOutcome outcome) => outcome switch
    {
        EvidenceOutcome.Pass => Paint("pass", ConsoleColor.Green),
        EvidenceOutcome.Warning => Paint("warn", ConsoleColor.Yellow),
        EvidenceOutcome.Fail => Paint("FAIL", ConsoleColor.Red),
        _ => Paint("info", ConsoleColor.Gray),
    };

    /// <summary>One-line error on stderr, naming what failed: never a stack trace.</summary>
    public static int Error(string message, int exitCode = ExitCodes.InputError)
    {
        Console.Error.WriteLine("rampart: " + message);
        return exitCode;
    }
}
