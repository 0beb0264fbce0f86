using Rampart.Cli;

return await RampartCommandLine.RunAsync(args).ConfigureAwait(false);
