namespace Rampart.Hosting.Logging;

/// <summary>
/// Log event ids are unique across the whole program, one range per component, so that a structured log sink or an alert
/// can key on an id without knowing which host wrote it. Ids that existed before this table kept their numbers where
/// they were already unique (the daemon's 1–11, the decisions' 100–103, the socketmap server's 200–212).
/// <code>
///   1– 99  daemon            Rampart.Postfix Daemon/DaemonHost.cs
/// 100–199  policy            Rampart.Postfix Daemon/DaemonEngine.cs, Daemon/SocketmapResponder.cs, Daemon/EximResponder.cs
/// 200–299  socketmap         Rampart.Postfix Socketmap/SocketmapLog.cs
/// 300–319  serve             Rampart.Web PolicyServer.cs
/// 320–339  certificates      Rampart.Web PolicyCertificateStore.cs
/// 340–359  tlsrpt-receiver   Rampart.Web TlsRptReceiver.cs
/// 360–379  tlsrpt-collector  Rampart.Postfix TlsRpt/TlsRptDatagramCollector.cs
/// 400–449  watch             Rampart.Cli Commands/CheckWatch.cs
/// 460–479  listener          Rampart.Hosting Listening/ConnectionAdmission.cs
/// 480–499  exim              Rampart.Postfix Exim/EximLog.cs
/// </code>
/// A new <c>[LoggerMessage]</c> takes the next free id of its component's range; a new component adds a row here and in
/// <see cref="Ranges"/>. A test reads every <c>[LoggerMessage]</c> of the program and checks both rules.
/// </summary>
internal static class LogEventIds
{
    public static readonly IReadOnlyList<(string Component, int First, int Last)> Ranges =
    [
        ("daemon", 1, 99),
        ("policy", 100, 199),
        ("socketmap", 200, 299),
        ("serve", 300, 319),
        ("certificates", 320, 339),
        ("tlsrpt-receiver", 340, 359),
        ("tlsrpt-collector", 360, 379),
        ("tlsrpt-sender", 380, 399),
        ("watch", 400, 449),
        ("listener", 460, 479),
        ("exim", 480, 499),
    ];
}
