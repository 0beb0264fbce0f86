using Rampart.Cli;

TerminalGuard.Install();
return await RampartCommandLine.RunAsync(args).ConfigureAwait(false);
