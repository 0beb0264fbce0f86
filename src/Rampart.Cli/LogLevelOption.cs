using System.CommandLine;
using Microsoft.Extensions.Logging;
using Rampart.Hosting.Logging;

namespace Rampart.Cli;

/// <summary><c>--log-level</c> of the long-running verbs (daemon, serve, check --watch).</summary>
internal static class LogLevelOption
{
    public static Option<string?> Create() =>
        Validated(new Option<string?>("--log-level")
        {
            Description = $"Least severe log lines written: {string.Join(", ", HostLogging.LevelNames)}. Default info (debug with -v). " +
                          "Stack traces of failures appear at debug and trace only.",
            HelpName = "LEVEL",
        });

    private static Option<string?> Validated(Option<string?> option)
    {
        option.Validators.Add(result =>
        {
            if (!HostLogging.TryParseLevel(result.GetValueOrDefault<string?>(), out _, out var error))
            {
                result.AddError("--log-level " + error);
            }
        });
        return option;
    }

    /// <summary>The level asked for: <c>--log-level</c>, else debug with <c>-v</c>, else info.</summary>
    public static LogLevel Read(ParseResult parse, Option<string?> option)
    {
        ArgumentNullException.ThrowIfNull(parse);
        return HostLogging.TryParseLevel(parse.GetValue(option), out var level, out _)
            ? level
            : parse.GetValue(GlobalOptions.Verbose) ? LogLevel.Debug : LogLevel.Information;
    }
}
