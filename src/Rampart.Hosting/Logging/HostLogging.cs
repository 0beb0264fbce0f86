using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace Rampart.Hosting.Logging;

/// <summary>
/// Console logging as every Rampart host does it: <see cref="HostLogFormatter"/> lines on standard output (the
/// console logger's own queue, so a lookup never waits for the terminal), Rampart's categories from
/// <c>--log-level</c>, the framework's from warn (its start-up failure reports are Rampart's own one-line errors instead).
/// </summary>
internal static class HostLogging
{
    /// <summary>The words <c>--log-level</c> accepts, least to most severe.</summary>
    public static readonly IReadOnlyList<string> LevelNames = ["trace", "debug", "info", "warn", "error"];

    /// <summary>Parses a <c>--log-level</c> word (also the long forms "information", "warning").</summary>
    public static bool TryParseLevel(string? text, out LogLevel level, [NotNullWhen(false)] out string? error)
    {
        level = text?.Trim().ToLowerInvariant() switch
        {
            "trace" => LogLevel.Trace,
            "debug" => LogLevel.Debug,
            "info" or "information" => LogLevel.Information,
            "warn" or "warning" => LogLevel.Warning,
            "error" => LogLevel.Error,
            _ => LogLevel.None,
        };
        error = level == LogLevel.None ? $"'{text}' is not a log level: use one of {string.Join(", ", LevelNames)}" : null;
        return error is null;
    }

    /// <summary>Replaces the builder's providers with Rampart's console lines at <paramref name="level"/>.</summary>
    public static ILoggingBuilder AddHostConsole(this ILoggingBuilder builder, LogLevel level, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.ClearProviders();
        builder.SetMinimumLevel(level);
        // The framework speaks from warn (from info at trace), never below Rampart's level.
        builder.AddFilter("Microsoft", level <= LogLevel.Trace ? LogLevel.Information : Max(level, LogLevel.Warning));
        builder.AddFilter("System", Max(level, LogLevel.Warning));
        // The generic host reports a failed start as "Hosting failed to start" with the exception; the host that
        // started it reports the same failure as one line (StartupException), so the framework's copy shows only at trace.
        builder.AddFilter("Microsoft.Extensions.Hosting", level <= LogLevel.Trace ? LogLevel.Debug : LogLevel.None);
        builder.AddConsole(o => o.FormatterName = HostLogFormatter.FormatterName);
        // Registered as an instance, not through AddConsoleFormatter<,> (whose options binding needs reflection: not AOT-safe).
        var formatter = new HostLogFormatter(new HostLogFormatterOptions { StackTraces = level <= LogLevel.Debug, Time = time ?? TimeProvider.System });
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<ConsoleFormatter>(formatter));
        return builder;
    }

    /// <summary>A logger factory writing Rampart's console lines, for hosts without a WebApplication of their own.</summary>
    public static ILoggerFactory CreateFactory(LogLevel level) => LoggerFactory.Create(b => b.AddHostConsole(level));

    private static LogLevel Max(LogLevel a, LogLevel b) => a > b ? a : b;
}
