using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;

namespace Rampart.Hosting.Logging;

/// <summary>Options of <see cref="HostLogFormatter"/>.</summary>
internal sealed class HostLogFormatterOptions : ConsoleFormatterOptions
{
    /// <summary>Print an exception's stack trace under its line (only at debug or trace level).</summary>
    public bool StackTraces { get; set; }

    /// <summary>Clock of the timestamps (tests fix it).</summary>
    public TimeProvider Time { get; set; } = TimeProvider.System;
}

/// <summary>
/// The one log line format of every Rampart host (daemon, serve, check --watch):
/// <code>2026-12-07T12:27:00.123Z info daemon: rampart daemon listening on 127.0.0.1:8461; …</code>
/// UTC ISO-8601 with milliseconds, the level as a short word (trace, debug, info, warn, error, crit), the component
/// (<see cref="LogComponents"/>, never a class name), the message. One line per event: line breaks inside a message
/// become spaces and an exception's message follows on the same line; its stack trace only with
/// <see cref="HostLogFormatterOptions.StackTraces"/> (debug or trace level).
/// </summary>
internal sealed class HostLogFormatter : ConsoleFormatter
{
    public const string FormatterName = "rampart";

    private readonly Func<HostLogFormatterOptions> _options;

    public HostLogFormatter(IOptionsMonitor<HostLogFormatterOptions> options)
        : base(FormatterName)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = () => options.CurrentValue;
    }

    internal HostLogFormatter(HostLogFormatterOptions options)
        : base(FormatterName)
    {
        _options = () => options;
    }

    public static string LevelWord(LogLevel level) => level switch
    {
        LogLevel.Trace => "trace",
        LogLevel.Debug => "debug",
        LogLevel.Information => "info",
        LogLevel.Warning => "warn",
        LogLevel.Error => "error",
        LogLevel.Critical => "crit",
        _ => "none",
    };

    public override void Write<TState>(in LogEntry<TState> logEntry, IExternalScopeProvider? scopeProvider, TextWriter textWriter)
    {
        ArgumentNullException.ThrowIfNull(textWriter);
        var message = logEntry.Formatter?.Invoke(logEntry.State, logEntry.Exception) ?? "";
        var exception = logEntry.Exception;
        if (message.Length == 0 && exception is null)
        {
            return;
        }
        var options = _options();
        var line = new StringBuilder(64 + message.Length);
        line.Append(options.Time.GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture))
            .Append(' ').Append(LevelWord(logEntry.LogLevel))
            .Append(' ').Append(LogComponents.For(logEntry.Category)).Append(": ");
        var text = OneLine(message);
        if (exception is not null)
        {
            text = WithExceptionMessages(text, exception);
        }
        line.Append(text).Append('\n');
        if (exception is not null && options.StackTraces)
        {
            foreach (var traceLine in exception.ToString().Split('\n'))
            {
                line.Append("    ").Append(traceLine.TrimEnd('\r')).Append('\n');
            }
        }
        textWriter.Write(line.ToString());
    }

    /// <summary>
    /// <paramref name="text"/> followed by the messages of <paramref name="exception"/> and its inner exceptions that it
    /// does not already say, joined with ": ", as one line.
    /// </summary>
    public static string WithExceptionMessages(string text, Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        var result = new StringBuilder(text);
        for (var e = exception; e is not null; e = e.InnerException)
        {
            var said = OneLine(e.Message).TrimEnd('.');
            if (said.Length > 0 && !result.ToString().Contains(said, StringComparison.OrdinalIgnoreCase))
            {
                result.Append(result.Length == 0 ? "" : ": ").Append(said);
            }
        }
        return result.ToString();
    }

    /// <summary>
    /// Line breaks become spaces and every other control character is shown as <c>\uXXXX</c> (text from outside — a
    /// report, a DNS record, a policy — may be part of a message: it must not forge a line or drive the terminal that
    /// follows the log); the text is trimmed.
    /// </summary>
    public static string OneLine(string text) => Core.DisplayText.Sanitize(text.ReplaceLineEndings(" ").Trim(), int.MaxValue);

    /// <summary>Formats one entry as the console would write it (tests, and hosts that write a line themselves).</summary>
    public string Format(LogLevel level, string category, string message, Exception? exception = null)
    {
        using var writer = new StringWriter(CultureInfo.InvariantCulture);
        Write(new LogEntry<string>(level, category, default, message, exception, (m, _) => m), null, writer);
        return writer.ToString();
    }
}
