using Rampart.Lab;

// Small command dispatch: each lab role is one subcommand of this program.
// Later roles (the `mitm`) are added here.
if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
{
    return Usage(Console.Out, 0);
}

try
{
    var options = CommandLine.Parse(args[1..]);
    return args[0] switch
    {
        "policy-host" => await PolicyHostCommand.RunAsync(options),
        "scenarios" => ScenariosCommand.Run(options),
        "mx" => await MxCommand.RunAsync(options),
        "mx-certs" => MxCertsCommand.Run(options),
        "mitm" => await MitmCommand.RunAsync(options),
        _ => Usage(Console.Error, 2),
    };
}
catch (LabException e)
{
    await Console.Error.WriteLineAsync($"Rampart.Lab {args[0]}: {e.Message}");
    return 2;
}

static int Usage(TextWriter w, int code)
{
    w.WriteLine("""
        usage: Rampart.Lab COMMAND [--option value]...
          policy-host --state DIR --listen IP:PORT [--log FILE] [--pid-file FILE]
                      HTTPS MTA-STS policy host for the scenarios materialised in DIR/scenarios
                      (re-reads them on SIGHUP)
          mx          --state DIR [--hosts FILE] [--port 25] [--idle-timeout 60] [--log FILE] [--pid-file FILE]
                      SMTP receivers (STARTTLS with each host's certificate from DIR/pki/mx) on every
                      address of the host table (default DIR/mx/hosts.tsv, written by lab/up);
                      mail to DIR/mail/HOST/*.eml; re-reads the table on SIGHUP
          mx-certs    --pki DIR --list FILE
                      issue MX certificates from the lab CA in DIR (lines: CERTDIR HOST VARIANT [PREFIX])
          mitm        --state DIR [--table FILE] [--port 25] [--log FILE] [--pid-file FILE]
                      man-in-the-middle on the MX address of every `mx.mitm = yes` host (table
                      DIR/mitm/table.tsv: LISTEN BACKEND HOST); mode per connection from
                      DIR/mitm/mode/LISTEN (pass | strip | forge); captures in DIR/mitm/capture/HOST/
          scenarios   --dir DIR
                      validate every scenario folder in DIR and list what the policy host serves
        """);
    return code;
}
