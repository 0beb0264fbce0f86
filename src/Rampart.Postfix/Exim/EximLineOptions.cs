namespace Rampart.Postfix.Exim;

/// <summary>
/// Limits of the Exim line listener. Exim's <c>${readsocket}</c> gives up after its own timeout (5 s unless the
/// configuration says otherwise; docs/exim.md uses 10 s), so the daemon answers within it or not at all.
/// </summary>
internal sealed record EximLineOptions
{
    /// <summary>How long a client may take to send its request line; a slower one is closed without a reply.</summary>
    public TimeSpan ReadTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Deadline of the lookup; a slower one is answered <c>tempfail lookup timed out</c>.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(8);

    /// <summary>How long the reply may wait for a client that does not read it.</summary>
    public TimeSpan WriteTimeout { get; set; } = TimeSpan.FromSeconds(5);
}
