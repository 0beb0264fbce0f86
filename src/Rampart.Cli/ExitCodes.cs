namespace Rampart.Cli;

/// <summary>
/// Exit codes of every verb, in one place (Aspire's ExitCodeConstants). Only the CLI edge decides them: Core returns
/// decisions and findings, the verbs map those to these numbers.
/// </summary>
internal static class ExitCodes
{
    /// <summary>Success: a valid policy, a decision made, a check without findings.</summary>
    public const int Ok = 0;

    /// <summary>The input was read and judged: invalid policy, warnings, no match.</summary>
    public const int Invalid = 1;

    /// <summary>The input could not be read or used at all (missing file, directory, unusable setting), or failures.</summary>
    public const int InputError = 2;

    /// <summary>
    /// The command line itself is wrong: an unknown option or verb, a value that is not what the option takes, an
    /// argument that is not a domain. The same number as <see cref="InputError"/> (never 1, which verbs use for
    /// "invalid" or "no match"), named apart so that the parse errors say which they are.
    /// </summary>
    public const int Usage = 2;

    /// <summary>
    /// <c>check</c> could not judge (Nagios UNKNOWN): the command line or the domains given are unusable, or the local
    /// resolver does not answer, so a domain's DNS failing cannot be told from our own.
    /// </summary>
    public const int Unknown = 3;

    /// <summary>A temporary failure (sysexits EX_TEMPFAIL): the decision is to defer.</summary>
    public const int TempFail = 75;

    /// <summary>
    /// A one-shot verb stopped by SIGINT or SIGTERM before it finished (128 + SIGINT, as shells report Ctrl-C). The
    /// services (<c>daemon</c>, <c>serve</c>, <c>check --watch</c>) exit <see cref="Ok"/> when told to stop: that is
    /// how they end.
    /// </summary>
    public const int Interrupted = 130;
}
