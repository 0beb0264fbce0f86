namespace Rampart.Lab;

/// <summary>An expected failure with a message for the operator (bad input, bad scenario data).</summary>
internal sealed class LabException(string message) : Exception(message);

/// <summary>`--key value` options of a subcommand.</summary>
internal sealed class CommandLine
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);

    public static CommandLine Parse(IReadOnlyList<string> args)
    {
        var result = new CommandLine();
        for (var i = 0; i < args.Count; i++)
        {
            var a = args[i];
            if (!a.StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Count)
            {
                throw new LabException($"expected --option value, got '{a}'");
            }

            result._values[a[2..]] = args[++i];
        }

        return result;
    }

    public string Required(string name) =>
        _values.TryGetValue(name, out var v) ? v : throw new LabException($"--{name} is required");

    public string? Optional(string name) => _values.GetValueOrDefault(name);
}
