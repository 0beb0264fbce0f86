namespace Rampart.Fuzz;

/// <summary>One parser under test: <see cref="Run"/> parses the input and throws when the parser breaks its contract.</summary>
internal sealed record FuzzTarget(string Name, string Description, Action<byte[]> Run);

/// <summary>A parser broke its own contract (a wrong answer, not a thrown exception of its own).</summary>
internal sealed class ContractViolationException(string message) : Exception(message);

/// <summary>The checks every target shares.</summary>
internal static class Contract
{
    public static void Holds(bool condition, string what)
    {
        if (!condition)
        {
            throw new ContractViolationException(what);
        }
    }

    /// <summary>Output stays within a bound proportional to the input (no amplification).</summary>
    public static void Bounded(string? text, int inputLength, string what) =>
        Holds(text is null || text.Length <= (4 * inputLength) + 4096, $"{what} is {text?.Length} characters for a {inputLength}-byte input");

    /// <summary>One line: a message a person reads in a log or terminal must not forge further lines.</summary>
    public static void OneLine(string? text, string what) =>
        Holds(text is null || text.AsSpan().IndexOfAny('\r', '\n') < 0, $"{what} spans lines: {text}");
}

/// <summary>Every target, by name (the name is also the corpus directory under fuzz/corpus/).</summary>
internal static class FuzzTargets
{
    public static IReadOnlyList<FuzzTarget> All { get; } =
    [
        new("socketmap", "netstring framing + socketmap request + key (Rampart.Postfix.Socketmap)", SocketmapTarget.Run),
        new("mta-sts-policy", "MTA-STS policy text (MtaStsPolicyParser)", MtaStsPolicyTarget.Run),
        new("mta-sts-txt", "_mta-sts TXT record (MtaStsTxtRecord)", TxtRecordTargets.RunMtaSts),
        new("tlsrpt-txt", "_smtp._tls TXT record (TlsRptRecord)", TxtRecordTargets.RunTlsRpt),
        new("tlsrpt-json", "TLS-RPT report JSON (TlsRptReportParser)", TlsRptTargets.RunJson),
        new("tlsrpt-datagram", "libtlsrpt datagram on the TLS-RPT socket (LibTlsRptDatagram)", TlsRptDatagramTarget.Run),
        new("tlsrpt-input", "TLS-RPT containers: gzip, zip, email/MIME, mbox (TlsRptInputReader)", TlsRptTargets.RunInput),
        new("tlsrpt-bounce", "a bounce of our mailed report: RFC 3464 delivery status notification (TlsRptBounceReader)", TlsRptBounceTarget.Run),
        new("daemon-config", "daemon YAML config (DaemonConfigReader)", ConfigTargets.RunDaemon),
        new("publish-config", "publish/serve YAML config (PublishConfigFile)", ConfigTargets.RunPublish),
        new("serve-request", "serve: Host header, SNI, path and TLS-RPT POST body (PolicyServer, TlsRptReceiver)", ServeTarget.Run),
    ];

    public static FuzzTarget? Find(string name) => All.FirstOrDefault(t => t.Name == name);
}
