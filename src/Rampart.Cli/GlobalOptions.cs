using System.CommandLine;

namespace Rampart.Cli;

/// <summary>Options every verb understands (DESIGN.md, "CLI surface").</summary>
internal static class GlobalOptions
{
    public static readonly Option<string?> Resolver = new("--resolver")
    {
        Description = "Validating DNS resolver as IP[:PORT] ([IPv6]:PORT). Default: the first nameserver in /etc/resolv.conf. " +
                      "DNSSEC (the AD bit) is trusted from a loopback resolver or one named here.",
        Recursive = true,
    };

    public static readonly Option<string?> CaFile = new("--ca-file")
    {
        Description = "Extra PEM CA bundle trusted beside the system store for WebPKI checks (SSL_CERT_FILE is honoured too).",
        Recursive = true,
    };

    public static readonly Option<string?> Overrides = new("--overrides")
    {
        Description = "Local policy overrides: lines 'domain level [match=…] [servername=…]' (levels none, may, encrypt, dane, dane-only, verify, secure). Used when neither DANE nor MTA-STS applies.",
        HelpName = "FILE",
        Recursive = true,
    };

    public static readonly Option<string?> PolicyList = new("--policy-list")
    {
        Description = "A STARTTLS Policy List (JSON, with aliases and expires). Not enforced once expired.",
        HelpName = "FILE",
        Recursive = true,
    };

    public static readonly Option<bool> Verbose = new("--verbose", "-v")
    {
        Description = "Say more about each step.",
        Recursive = true,
    };

    public static void AddTo(RootCommand root)
    {
        root.Options.Add(Resolver);
        root.Options.Add(CaFile);
        root.Options.Add(Overrides);
        root.Options.Add(PolicyList);
        root.Options.Add(Verbose);
    }
}
