using System.CommandLine;
using System.CommandLine.Parsing;
using Rampart.Hosting.Configuration;

namespace Rampart.Cli;

/// <summary>
/// What is wrong with a command line, one line each, prefixed with the verb (<c>rampart check: …</c>): unknown options
/// with the nearest known one (a token that starts with '-' is never taken as a domain or a file), unknown verbs
/// likewise, and the value errors of <see cref="OptionValues"/> and <see cref="DomainArgument"/>.
/// </summary>
internal static class UsageErrors
{
    public static IReadOnlyList<string> Describe(ParseResult parse)
    {
        var command = parse.CommandResult;
        var verb = string.Join(' ', Path(command).Select(c => c.Name));
        var prefix = verb.Length == 0 ? "rampart: " : $"rampart {verb}: ";
        var afterDoubleDash = parse.Tokens.SkipWhile(t => t.Type != TokenType.DoubleDash).ToHashSet(ReferenceEqualityComparer.Instance);
        var optionLike = parse.UnmatchedTokens.Where(LooksLikeOption)
            .Concat(command.Children.OfType<ArgumentResult>().SelectMany(a => a.Tokens)
                .Where(t => !afterDoubleDash.Contains(t)).Select(t => t.Value).Where(LooksLikeOption))
            .Distinct(StringComparer.Ordinal)
            .ToList();
        if (optionLike.Count > 0)
        {
            return optionLike.Select(token => prefix + UnknownOption(parse.RootCommandResult.Command, command, verb, token)).ToList();
        }
        var seeHelp = $"rampart: see '{(verb.Length == 0 ? "rampart" : "rampart " + verb)} --help'";
        var unmatched = parse.UnmatchedTokens;
        if (unmatched.Count > 0)
        {
            // The first token the parser could not place says what went wrong; the rest follow from it.
            var first = unmatched[0];
            return
            [
                prefix + (command.Command.Subcommands.Count > 0
                    ? $"unknown command '{first}'{Suggest(first, command.Command.Subcommands.SelectMany(c => c.Aliases.Prepend(c.Name)))}"
                    : $"unexpected argument '{first}'"),
                seeHelp,
            ];
        }
        if (parse.Errors.Count == 0)
        {
            return [];
        }
        var missing = Missing(parse.RootCommandResult, command).ToList();
        if (missing.Count > 0)
        {
            // The parser's own text ("Required argument 'file' missing for command: 'parse'.") names its symbols, not what to give.
            var missingSymbols = missing.Select(m => m.Result).ToHashSet();
            return
            [
                .. missing.Select(m => prefix + m.Message),
                .. parse.Errors.Where(e => e.SymbolResult is null || !missingSymbols.Contains(e.SymbolResult)).Select(e => prefix + e.Message),
                seeHelp,
            ];
        }
        return parse.Errors.Select(e => prefix + e.Message).ToList();
    }

    /// <summary>
    /// Arguments the verb needs that were not given ("missing FILE: policy file to validate, or - for standard input"),
    /// a group given without its verb ("missing COMMAND: give one of generate, verify and match") and options given without their value ("--timeout needs a value (SECONDS)"), each with the result the parser
    /// reported it on.
    /// </summary>
    private static IEnumerable<(SymbolResult Result, string Message)> Missing(CommandResult root, CommandResult command)
    {
        foreach (var option in Options(root))
        {
            if (!option.Implicit && option.Tokens.Count == 0 && option.Option.Arity.MinimumNumberOfValues > 0)
            {
                var value = option.Option.HelpName ?? "a value";
                yield return (option, $"{option.Option.Name} needs a value ({value})");
            }
        }
        if (command.Command.Subcommands.Count > 0 && command.Command.Action is null)
        {
            yield return (command, $"missing COMMAND: give one of {Join(command.Command.Subcommands.Where(c => !c.Hidden).Select(c => c.Name).ToList())}");
        }
        foreach (var argument in command.Command.Arguments)
        {
            var given = command.Children.OfType<ArgumentResult>().FirstOrDefault(a => a.Argument == argument);
            if ((given?.Tokens.Count ?? 0) < argument.Arity.MinimumNumberOfValues)
            {
                var name = (argument.HelpName ?? argument.Name).ToUpperInvariant();
                var what = argument.Description is { Length: > 0 } description ? ": " + Lowered(description.TrimEnd('.')) : "";
                yield return ((SymbolResult?)given ?? command, $"missing {name}{what}");
            }
        }
    }

    /// <summary>The options given anywhere on the line, before the verb or after it.</summary>
    private static IEnumerable<OptionResult> Options(CommandResult command) =>
        command.Children.OfType<OptionResult>().Concat(command.Children.OfType<CommandResult>().SelectMany(Options));

    /// <summary>"Policy file to validate" → "policy file to validate"; "MX host name" is left as it is.</summary>
    private static string Lowered(string text) =>
        text.Length > 1 && char.IsUpper(text[0]) && char.IsLower(text[1]) ? char.ToLowerInvariant(text[0]) + text[1..] : text;

    private static bool LooksLikeOption(string token) => token.Length > 1 && token[0] == '-';

    /// <summary>"unknown option '--jsno' (did you mean '--json'?)", or which verbs the option belongs to.</summary>
    private static string UnknownOption(Command root, CommandResult command, string verb, string token)
    {
        var name = token.Split('=', 2)[0];
        var known = OptionsOf(command).SelectMany(o => o.Aliases.Prepend(o.Name)).ToList();
        if (known.Contains(name, StringComparer.Ordinal))
        {
            return $"option '{name}' must come after the verb ({verb} {name})";
        }
        var owners = Verbs(root).Where(v => v.Command.Options.Any(o => o.Name == name || o.Aliases.Contains(name))).Select(v => v.Path).ToList();
        if (owners.Count > 0)
        {
            return $"unknown option '{name}': it is an option of {Join(owners)}, not of {(verb.Length == 0 ? "rampart itself" : verb)}";
        }
        return $"unknown option '{name}'{Suggest(name, known)}";
    }

    /// <summary>The options a verb accepts: its own and the recursive ones of the commands above it.</summary>
    private static IEnumerable<Option> OptionsOf(CommandResult command)
    {
        IEnumerable<Option> options = command.Command.Options;
        for (var parent = command.Parent as CommandResult; parent is not null; parent = parent.Parent as CommandResult)
        {
            options = options.Concat(parent.Command.Options.Where(o => o.Recursive));
        }
        return options;
    }

    private static IEnumerable<(Command Command, string Path)> Verbs(Command command, string path = "")
    {
        foreach (var sub in command.Subcommands)
        {
            var subPath = path.Length == 0 ? sub.Name : $"{path} {sub.Name}";
            yield return (sub, subPath);
            foreach (var nested in Verbs(sub, subPath))
            {
                yield return nested;
            }
        }
    }

    private static IEnumerable<Command> Path(CommandResult command)
    {
        var path = new Stack<Command>();
        for (SymbolResult? r = command; r is CommandResult { Parent: not null } c; r = r.Parent)
        {
            path.Push(c.Command);
        }
        return path;
    }

    private static string Join(IReadOnlyList<string> items) =>
        items.Count == 1 ? items[0] : string.Join(", ", items.Take(items.Count - 1)) + " and " + items[^1];

    /// <summary>" (did you mean 'X'?)" for the nearest candidate within a few edits, or a unique prefix match; else "".</summary>
    internal static string Suggest(string given, IEnumerable<string> candidates)
    {
        var bare = given.TrimStart('-');
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var candidate in candidates.Distinct(StringComparer.Ordinal))
        {
            var distance = NearestName.Distance(bare, candidate.TrimStart('-'));
            if (distance < bestDistance)
            {
                (best, bestDistance) = (candidate, distance);
            }
        }
        // One- and two-letter names are too short for a guess to mean anything ('-x' is not a typo of '-h').
        if (best is not null && bare.Length >= 3 && bestDistance <= Math.Max(1, Math.Min(3, best.TrimStart('-').Length / 3)))
        {
            return $" (did you mean '{best}'?)";
        }
        var prefixed = candidates.Where(c => bare.Length >= 3 && c.TrimStart('-').StartsWith(bare, StringComparison.Ordinal)).Distinct().ToList();
        return prefixed.Count == 1 ? $" (did you mean '{prefixed[0]}'?)" : "";
    }
}
