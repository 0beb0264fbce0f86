namespace Rampart.Cli;

/// <summary>Exit codes of every verb, in one place (Aspire's ExitCodeConstants).</summary>
internal static class ExitCodes
{
    /// <summary>Success: a valid policy, a decision made, a check without findings.</summary>
    public const int Ok = 0;

    /// <summary>The input was read and judged: invalid policy, warnings, no match.</summary>
    public const int Invalid = 1;

    /// <summary>The input could not be read or used at all (missing file, directory, unusable option), or failures.</summary>
    public const int InputError = 2;

    /// <summary>A temporary failure (sysexits EX_TEMPFAIL): the decision is to defer.</summary>
    public const int TempFail = 75;
}
