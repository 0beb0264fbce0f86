using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Parsing;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Rampart.Hosting.Configuration;

namespace Rampart.Cli;

/// <summary>
/// Typed options whose values are checked while parsing, with messages in the user's terms
/// (<c>--timeout: 'abc' is not a number of seconds</c>): the parser's own messages name .NET types, so no typed option
/// may go without one of these parsers (<see cref="Guard"/> enforces it for the whole command tree).
/// </summary>
internal static partial class OptionValues
{
    /// <summary>The options made here, whose values are checked in the user's terms.</summary>
    private static readonly HashSet<Option> s_checked = [];

    /// <summary>A limit in seconds, more than 0 and at most <paramref name="max"/>.</summary>
    public static Option<double> Seconds(string name, string description, double defaultValue, double max = 600) => Checked(new Option<double>(name)
    {
        Description = description,
        HelpName = "SECONDS",
        DefaultValueFactory = _ => defaultValue,
        CustomParser = result => Parse(result, defaultValue, text =>
            !double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) || !double.IsFinite(seconds)
                ? (0, "is not a number of seconds")
                : seconds > 0 && seconds <= max
                    ? (seconds, null)
                    : (seconds, $"must be more than 0 and at most {max.ToString(CultureInfo.InvariantCulture)} seconds")),
    });

    /// <summary>A whole number from <paramref name="min"/> to <paramref name="max"/> of <paramref name="unit"/> (e.g. "days").</summary>
    public static Option<int> Count(string name, string description, int defaultValue, int min, int max, string unit, string? helpName = null) => Checked(new Option<int>(name)
    {
        Description = description,
        HelpName = helpName ?? unit.ToUpperInvariant(),
        DefaultValueFactory = _ => defaultValue,
        CustomParser = result => Parse(result, defaultValue, text => Whole(text, min, max, unit)),
    });

    /// <summary>Like <see cref="Count"/>, but absent when not given (the verb has its own default or rule).</summary>
    public static Option<int?> OptionalCount(string name, string description, int min, int max, string unit, string helpName) => Checked(new Option<int?>(name)
    {
        Description = description,
        HelpName = helpName,
        CustomParser = result => Parse<int?>(result, null, text => Whole(text, min, max, unit)),
    });

    /// <summary>A TCP port, 1 to 65535.</summary>
    public static Option<int> Port(string name, string description, int defaultValue) => Checked(new Option<int>(name)
    {
        Description = description,
        HelpName = "PORT",
        DefaultValueFactory = _ => defaultValue,
        CustomParser = result => Parse(result, defaultValue, text =>
            int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is >= 1 and <= 65535
                ? (port, null)
                : (0, "is not a port: give a number from 1 to 65535")),
    });

    /// <summary>One of a few numbers, each with its meaning (TLSA usage, selector, matching type): <c>(3, "DANE-EE")</c>.</summary>
    public static Option<int> Choice(string name, string description, int defaultValue, string what, params (int Value, string Meaning)[] choices) => Checked(new Option<int>(name)
    {
        Description = description,
        HelpName = string.Join('|', choices.Select(c => c.Value)),
        DefaultValueFactory = _ => defaultValue,
        CustomParser = result => Parse(result, defaultValue, text =>
            int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && choices.Any(c => c.Value == value)
                ? (value, null)
                : (0, $"is not a {what}: give {string.Join(" or ", choices.Select(c => $"{c.Value} ({c.Meaning})"))}")),
    });

    /// <summary>One of a few words, e.g. <c>--mode testing|enforce|none</c>; absent when not given.</summary>
    public static Option<T?> Word<T>(string name, string description, string what, params (string Word, T Value)[] choices) where T : struct => Checked(new Option<T?>(name)
    {
        Description = description,
        HelpName = string.Join('|', choices.Select(c => c.Word)),
        CustomParser = result => Parse<T?>(result, null, text =>
            choices.FirstOrDefault(c => c.Word == text) is { Word: not null } match
                ? (match.Value, null)
                : (null, $"is not a {what}: give {string.Join(", ", choices.Select(c => c.Word))}")),
    });

    /// <summary>A time such as 90s, 15m, 1h or 1d, from <paramref name="min"/> to <paramref name="max"/>; absent when not given.</summary>
    public static Option<TimeSpan?> Duration(string name, string description, TimeSpan min, TimeSpan max) => Checked(new Option<TimeSpan?>(name)
    {
        Description = description,
        HelpName = "TIME",
        CustomParser = result => Parse<TimeSpan?>(result, null, text => ReadDuration(text, min, max)),
    });

    /// <summary>An address to serve on, IP:PORT or [IPv6]:PORT (port 1 to 65535); absent when not given.</summary>
    public static Option<IPEndPoint?> Address(string name, string description, string example) => Checked(new Option<IPEndPoint?>(name)
    {
        Description = description,
        HelpName = "IP:PORT",
        CustomParser = result => Parse<IPEndPoint?>(result, null, text => ReadAddress(text, example, anyPort: false)),
    });

    /// <summary>Addresses to serve on, repeatable, each IP:PORT or [IPv6]:PORT (port 0 takes any free port).</summary>
    public static Option<IPEndPoint[]> Addresses(string name, string description, string example, ArgumentArity arity) =>
        List(name, description, "IP:PORT", text => ReadAddress(text, example, anyPort: true), arity);

    /// <summary>
    /// Values of a repeatable option, each read by <paramref name="read"/>: the value, or a problem that follows the
    /// quoted text. One value at least unless <paramref name="arity"/> says otherwise.
    /// </summary>
    public static Option<T[]> List<T>(string name, string description, string helpName, Func<string, (T? Value, string? Problem)> read, ArgumentArity? arity = null)
        where T : class =>
        Each<T>(name, description, helpName, text =>
        {
            var (value, problem) = read(text);
            return problem is null && value is not null ? (value, null) : (null, $"'{text}' {problem}");
        }, arity ?? ArgumentArity.OneOrMore);

    /// <summary>Checks and normalises a name (<c>DnsName.TryNormalize</c>, <c>DomainName.TryNormalize</c>); the error starts with the quoted name.</summary>
    public delegate bool NameRule(string? text, [NotNullWhen(true)] out string? normalized, [NotNullWhen(false)] out string? error);

    /// <summary>A value read by <paramref name="read"/>: the value, or a problem that follows the quoted text; absent when not given.</summary>
    public static Option<T?> Value<T>(string name, string description, string helpName, Func<string, (T? Value, string? Problem)> read) where T : class =>
        Checked(new Option<T?>(name)
        {
            Description = description,
            HelpName = helpName,
            Arity = ArgumentArity.ZeroOrOne,
            CustomParser = result => Parse(result, null, read),
        });

    /// <summary>A name by <paramref name="rule"/>, normalised (A-labels, lower case); absent when not given.</summary>
    public static Option<string?> Name(string name, string description, string helpName, NameRule rule) => Checked(new Option<string?>(name)
    {
        Description = description,
        HelpName = helpName,
        Arity = ArgumentArity.ZeroOrOne,
        CustomParser = result =>
        {
            if (result.Tokens.Count == 0)
            {
                return null;
            }
            if (rule(result.Tokens[^1].Value, out var normalized, out var error))
            {
                return normalized;
            }
            result.AddError($"{OptionName(result)}: {error}");
            return null;
        },
    });

    /// <summary>Names by <paramref name="rule"/>, repeatable, each normalised.</summary>
    public static Option<string[]> Names(string name, string description, string helpName, NameRule rule) =>
        Each<string>(name, description, helpName, text => rule(text, out var normalized, out var error) ? (normalized, null) : (null, error), ArgumentArity.ZeroOrMore);

    /// <summary>An absolute http:// or https:// URL; absent when not given.</summary>
    public static Option<Uri?> HttpUrl(string name, string description) => Checked(new Option<Uri?>(name)
    {
        Description = description,
        HelpName = "URL",
        CustomParser = result => Parse<Uri?>(result, null, text =>
            Uri.TryCreate(text, UriKind.Absolute, out var url) && url.Scheme is ("http" or "https")
                ? (url, null)
                : (null, "is not an http:// or https:// URL")),
    });

    /// <summary>
    /// Checks the whole command tree before parsing: a typed option without one of the parsers above is a programming
    /// error caught by the first run (and by the tests). Text options need none; a flag never takes a token that is not
    /// true or false (the parser leaves it for the next argument), so it cannot fail to parse either.
    /// </summary>
    public static void Guard(Command command)
    {
        foreach (var option in command.Options)
        {
            switch (option)
            {
                case Option<string> or Option<string[]> or Option<bool> or HelpOption or VersionOption:
                    break;
                default:
                    bool isChecked;
                    lock (s_checked)
                    {
                        isChecked = s_checked.Contains(option);
                    }
                    if (!isChecked)
                    {
                        throw new InvalidOperationException($"option {option.Name} of '{command.Name}' has no parser with a message in the user's terms (see OptionValues)");
                    }
                    break;
            }
        }
        foreach (var subcommand in command.Subcommands)
        {
            Guard(subcommand);
        }
    }

    private static Option<T> Checked<T>(Option<T> option)
    {
        lock (s_checked)
        {
            s_checked.Add(option);
        }
        return option;
    }

    /// <summary>A repeatable option whose every value is read by <paramref name="read"/>; each error is one "--NAME: ERROR" line.</summary>
    private static Option<T[]> Each<T>(string name, string description, string helpName, Func<string, (T? Value, string? Error)> read, ArgumentArity arity)
        where T : class =>
        Checked(new Option<T[]>(name)
        {
            Description = description,
            HelpName = helpName,
            Arity = arity,
            CustomParser = result =>
            {
                var values = new List<T>();
                foreach (var token in result.Tokens)
                {
                    var (value, error) = read(token.Value);
                    if (error is null && value is not null)
                    {
                        values.Add(value);
                    }
                    else
                    {
                        result.AddError($"{OptionName(result)}: {error}");
                    }
                }
                return [.. values];
            },
        });

    private static (IPEndPoint?, string?) ReadAddress(string text, string example, bool anyPort) =>
        ConfigReader.TryEndPoint(text, out var endPoint) && (anyPort || endPoint.Port != 0)
            ? (endPoint, null)
            : (null, $"is not an address: give IP:PORT or [IPv6]:PORT, e.g. {example}");

    private static (TimeSpan?, string?) ReadDuration(string text, TimeSpan min, TimeSpan max)
    {
        if (DurationPattern().Match(text) is not { Success: true } match
            || !long.TryParse(match.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n > 1_000_000)
        {
            return (null, "is not a time such as 90s, 15m, 1h or 1d");
        }
        var time = match.Groups[2].Value switch
        {
            "s" => TimeSpan.FromSeconds(n),
            "m" => TimeSpan.FromMinutes(n),
            "h" => TimeSpan.FromHours(n),
            _ => TimeSpan.FromDays(n),
        };
        return time >= min && time <= max ? (time, null) : (null, $"must be from {Short(min)} to {Short(max)}");
    }

    /// <summary>10s, 15m, 1h, 7d: the largest whole unit.</summary>
    private static string Short(TimeSpan time) =>
        time.TotalDays % 1 == 0 ? string.Create(CultureInfo.InvariantCulture, $"{time.TotalDays:0}d")
        : time.TotalHours % 1 == 0 ? string.Create(CultureInfo.InvariantCulture, $"{time.TotalHours:0}h")
        : time.TotalMinutes % 1 == 0 ? string.Create(CultureInfo.InvariantCulture, $"{time.TotalMinutes:0}m")
        : string.Create(CultureInfo.InvariantCulture, $"{time.TotalSeconds:0}s");

    [GeneratedRegex("^([0-9]+)(s|m|h|d)$", RegexOptions.CultureInvariant)]
    private static partial Regex DurationPattern();

    private static (int, string?) Whole(string text, int min, int max, string unit) =>
        !int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value)
            ? (0, $"is not a whole number of {unit}")
            : value >= min && value <= max
                ? (value, null)
                : (value, $"must be from {min} to {max} {unit}");

    /// <summary>The value of the one token (or <paramref name="absent"/> when there is none); a problem becomes the error "--NAME: 'TEXT' PROBLEM".</summary>
    private static T Parse<T>(ArgumentResult result, T absent, Func<string, (T Value, string? Problem)> read)
    {
        if (result.Tokens.Count == 0)
        {
            return absent;
        }
        var text = result.Tokens[^1].Value;
        var (value, problem) = read(text);
        if (problem is not null)
        {
            result.AddError($"{OptionName(result)}: '{text}' {problem}");
        }
        return value;
    }

    private static string OptionName(ArgumentResult result) => result.Parent is OptionResult option ? option.Option.Name : result.Argument.Name;
}
