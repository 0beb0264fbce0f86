using System.CommandLine;
using Rampart.Cli;
using Rampart.Cli.Commands;

var root = new RootCommand(
    "Rampart stops STARTTLS downgrade attacks on server-to-server mail: it decides per destination how strictly TLS " +
    "must be enforced (DANE, MTA-STS) and tells Postfix, publishes and audits the receiving side, and reads TLS reports.");
GlobalOptions.AddTo(root);
root.Subcommands.Add(ResolveCommand.Create());
root.Subcommands.Add(MtaStsCommand.Create());
return await root.Parse(args).InvokeAsync().ConfigureAwait(false);
