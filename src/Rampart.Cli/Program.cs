using System.CommandLine;
using Rampart.Cli;
using Rampart.Cli.Commands;

var root = new RootCommand(
    "Rampart stops STARTTLS downgrade attacks on server-to-server mail: it decides per destination how strictly TLS " +
    "must be enforced (DANE, MTA-STS) and tells Postfix, publishes and audits the receiving side, and reads TLS reports.");
GlobalOptions.AddTo(root);
root.Subcommands.Add(ResolveCommand.Create());
root.Subcommands.Add(MtaStsCommand.Create());
root.Subcommands.Add(TlsaCommand.Create());
root.Subcommands.Add(DaemonCommand.Create());
root.Subcommands.Add(CheckCommand.Create());
root.Subcommands.Add(TlsRptCommand.Create());
root.Subcommands.Add(PublishCommand.Create());
root.Subcommands.Add(ServeCommand.Create());
var parse = root.Parse(args);
if (parse.Errors.Count > 0)
{
    // Usage errors exit 2 (input error), never 1, which verbs use for "invalid" or "no match".
    foreach (var error in parse.Errors)
    {
        Console.Error.WriteLine("rampart: " + error.Message);
    }
    Console.Error.WriteLine("rampart: see 'rampart --help' or 'rampart COMMAND --help'");
    return ExitCodes.InputError;
}
return await parse.InvokeAsync().ConfigureAwait(false);
