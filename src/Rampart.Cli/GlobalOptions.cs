using System.CommandLine;
using Rampart.Hosting;

namespace Rampart.Cli;

/// <summary>
/// The option groups of DESIGN.md's "CLI surface": the root options (<c>--state-dir</c>, <c>--config</c>, <c>-v</c>),
/// given before the verb or after it; the network options of the verbs that ask DNS or open connections; the sender
/// options of the verbs that decide a sender policy (resolve, daemon). A verb lists and accepts only what it uses:
/// <c>-v</c> everywhere, <c>--state-dir</c> and <c>--config</c> where there is a state directory or a configuration
/// file (elsewhere they are a usage error, before the verb as after it).
/// </summary>
internal static class GlobalOptions
{
    /// <summary>The verbs that keep state, named in the error of one that does not.</summary>
    private const string StateVerbs = "daemon, serve, tlsrpt and check --watch";

    /// <summary>The verbs that read a configuration file, named in the error of one that does not.</summary>
    private const string ConfigVerbs = "daemon, publish, serve, tlsrpt report and tlsrpt send";

    public static readonly Option<string?> StateDir = new("--state-dir")
    {
        Description = $"Directory of Rampart's SQLite files (the daemon's policy cache, TLS-RPT reports, check --watch history). Default {StateDirectory.DescribeDefault()}.",
        HelpName = "DIR",
    };

    public static readonly Option<string?> Config = new("--config")
    {
        Description = "Configuration file: for daemon, Rampart's YAML or postfix-mta-sts-resolver's /etc/mta-sts-daemon.yml as it is " +
                      "(default /etc/rampart/rampart.yml when it exists; command-line options win; read again on SIGHUP); for tlsrpt report and send, the daemon's file (its tlsrpt_reporting, state_dir, resolver, ca_file); for publish and serve, the publish YAML (docs/publishing.md).",
        HelpName = "FILE",
    };

    public static readonly Option<bool> Verbose = new("--verbose", "-v")
    {
        Description = "Say more about each step.",
        Recursive = true,
    };

    public static readonly Option<string?> Resolver = new("--resolver")
    {
        Description = "Validating DNS resolver as IP[:PORT] ([IPv6]:PORT). Default: the first nameserver in /etc/resolv.conf. " +
                      "DNSSEC (the AD bit) is trusted from a loopback resolver or one named here.",
        HelpName = "IP[:PORT]",
    };

    public static readonly Option<string?> CaFile = new("--ca-file")
    {
        Description = "Extra PEM CA bundle trusted beside the system store for WebPKI checks (SSL_CERT_FILE is honoured too).",
        HelpName = "FILE",
    };

    public static readonly Option<string?> Overrides = new("--overrides")
    {
        Description = "Local policy overrides: lines 'domain level [match=…] [servername=…]' (levels none, may, encrypt, dane, dane-only, verify, secure). Used when neither DANE nor MTA-STS applies.",
        HelpName = "FILE",
    };

    public static readonly Option<string?> PolicyList = new("--policy-list")
    {
        Description = "A STARTTLS Policy List (JSON, with aliases and expires). Not enforced once expired.",
        HelpName = "FILE",
    };

    /// <summary>The root group: <c>--state-dir</c>, <c>--config</c> and <c>-v</c> before the verb (<c>-v</c> is recursive).</summary>
    public static void AddRootGroup(RootCommand root)
    {
        root.Options.Add(StateDir);
        root.Options.Add(Config);
        root.Options.Add(Verbose);
    }

    /// <summary>
    /// The network group. <paramref name="webPki"/>: the verb judges WebPKI certificate chains (MTA-STS), so
    /// <c>--ca-file</c> means something; a verb that only asks DNS or judges DANE gets <c>--resolver</c> alone.
    /// </summary>
    public static Command WithNetwork(this Command command, bool webPki)
    {
        command.Options.Add(Resolver);
        if (webPki)
        {
            command.Options.Add(CaFile);
        }
        return command;
    }

    /// <summary>The sender group: pinned policies, for the verbs that decide what a sender enforces.</summary>
    public static Command WithSenderPolicies(this Command command)
    {
        command.Options.Add(Overrides);
        command.Options.Add(PolicyList);
        return command;
    }

    /// <summary>The verb keeps its files in the state directory: <c>--state-dir</c> is accepted after the verb too.</summary>
    public static Command WithStateDir(this Command command)
    {
        command.Options.Add(StateDir);
        return command;
    }

    /// <summary>The verb reads a configuration file: <c>--config</c> is accepted after the verb too.</summary>
    public static Command WithConfig(this Command command)
    {
        command.Options.Add(Config);
        return command;
    }

    /// <summary>
    /// A verb that keeps no state or reads no configuration file neither lists <c>--state-dir</c> or <c>--config</c>
    /// in its --help nor takes them after the verb (that is an unknown option naming the verbs it belongs to); given
    /// before the verb, they are a usage error that says so, never silently ignored.
    /// </summary>
    public static void RejectWhereUnused(Command command)
    {
        if (command.Subcommands.Count == 0)
        {
            Reject(command, StateDir, $"this verb keeps no state (it is for {StateVerbs})");
            Reject(command, Config, $"this verb reads no configuration file (it is for {ConfigVerbs})");
        }
        foreach (var subcommand in command.Subcommands)
        {
            RejectWhereUnused(subcommand);
        }
    }

    private static void Reject(Command command, Option option, string why)
    {
        if (command.Options.Contains(option))
        {
            return;
        }
        command.Validators.Add(result =>
        {
            if (result.GetResult(option) is { Implicit: false })
            {
                result.AddError($"{option.Name}: {why}");
            }
        });
    }
}
