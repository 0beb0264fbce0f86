using System.CommandLine;
using Rampart.Cli.Commands;

namespace Rampart.Cli;

/// <summary>The <c>rampart</c> command tree (DESIGN.md, "CLI surface") and its one entry point.</summary>
internal static class RampartCommandLine
{
    public static RootCommand Create()
    {
        var root = new RootCommand(
            "Rampart stops STARTTLS downgrade attacks on server-to-server mail: it decides per destination how strictly TLS " +
            "must be enforced (DANE, MTA-STS) and tells Postfix, publishes and audits the receiving side, and reads TLS reports.");
        GlobalOptions.AddRootGroup(root);
        root.Subcommands.Add(ResolveCommand.Create());
        root.Subcommands.Add(MtaStsCommand.Create());
        root.Subcommands.Add(TlsaCommand.Create());
        root.Subcommands.Add(DaemonCommand.Create());
        root.Subcommands.Add(CheckCommand.Create());
        root.Subcommands.Add(TlsRptCommand.Create());
        root.Subcommands.Add(PublishCommand.Create());
        root.Subcommands.Add(ServeCommand.Create());
        root.Subcommands.Add(DashboardCommand.Create());
        GlobalOptions.RejectWhereUnused(root);
        OptionValues.Guard(root);
        return root;
    }

    /// <summary>The verbs that run until told to stop: <c>daemon</c>, <c>serve</c>, <c>check --watch</c>.</summary>
    private static bool IsService(ParseResult parse) => parse.CommandResult.Command.Name switch
    {
        "daemon" or "serve" or "dashboard" => true,
        "check" => parse.CommandResult.Children.Any(c => c is System.CommandLine.Parsing.OptionResult { Option.Name: "--watch" }),
        _ => false,
    };

    /// <summary>
    /// Parses and runs; a command line that does not parse is one line per problem and <see cref="ExitCodes.Usage"/>.
    /// <paramref name="stop"/> (<see cref="StopSignal"/>) reaches the verb's action as its cancellation token.
    /// </summary>
    public static async Task<int> RunAsync(string[] args, CancellationToken stop = default)
    {
        var parse = Create().Parse(args);
        var errors = UsageErrors.Describe(parse);
        if (errors.Count > 0)
        {
            foreach (var error in errors)
            {
                Console.Error.WriteLine(error);
            }
            // check is a monitoring plugin: a command line it cannot use is UNKNOWN (3), never a domain's failure (2).
            if (parse.CommandResult.Command.Name != "check")
            {
                return ExitCodes.Usage;
            }
            if (args.Contains("--nagios"))
            {
                Console.WriteLine("UNKNOWN - " + errors[0].Replace('|', '/'));
            }
            return ExitCodes.Unknown;
        }
        // A service handles its own stop (the host drains its connections and flushes its log, however long that takes);
        // System.CommandLine's forced exit after 2 s would cut that short with exit 143. One-shot verbs keep it.
        var invocation = new InvocationConfiguration();
        if (IsService(parse))
        {
            invocation.ProcessTerminationTimeout = null;
        }
        return await parse.InvokeAsync(invocation, stop).ConfigureAwait(false);
    }
}
