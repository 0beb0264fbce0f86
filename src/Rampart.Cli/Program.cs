using System.CommandLine;

var root = new RootCommand("Rampart: stops STARTTLS downgrade attacks on server-to-server mail.");
return await root.Parse(args).InvokeAsync().ConfigureAwait(false);
