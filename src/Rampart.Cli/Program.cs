using Rampart.Cli;

using var stop = StopSignal.Listen();
TerminalGuard.Install();
return await RampartCommandLine.RunAsync(args, stop.Token).ConfigureAwait(false);
