namespace Rampart.Hosting.Logging;

/// <summary>
/// The short, stable name a log line gives for what wrote it (<c>socketmap</c>, <c>daemon</c>, <c>policy</c>, …), mapped
/// from the logger category in this one table, so no line shows a C# class name. The longest matching prefix wins.
/// Operators grep and alert on these names: renaming a class must not change them, adding a category means adding a row.
/// </summary>
internal static class LogComponents
{
    /// <summary>Category of the daemon host: start, stop, reload, purge, proactive refresh, store faults.</summary>
    public const string Daemon = "Rampart.Daemon";

    /// <summary>Category of the daemon's TLS-RPT collector (libtlsrpt datagrams from Postfix 3.10+).</summary>
    public const string TlsRptCollector = "Rampart.Daemon.TlsRpt";

    /// <summary>Category of the TLS-RPT report sender (the daemon's schedule and <c>rampart tlsrpt send</c>).</summary>
    public const string TlsRptSender = "Rampart.Daemon.TlsRptSender";

    /// <summary>Category of serve's request handling and start-up.</summary>
    public const string Serve = "Rampart.Serve";

    /// <summary>Category of serve's certificate store (reloads on renewal).</summary>
    public const string Certificates = "Rampart.Serve.Certificates";

    /// <summary>Category of serve's TLS-RPT HTTPS receiver.</summary>
    public const string TlsRptReceiver = "Rampart.Serve.TlsRpt";

    /// <summary>Category of <c>rampart check --watch</c>.</summary>
    public const string Watch = "Rampart.CheckWatch";

    /// <summary>Category of every host's accept loops: the connection cap, refused connections, failed accepts.</summary>
    public const string Listener = "Rampart.Listening";

    /// <summary>What an unknown category of Rampart's is called (a row is missing from the table).</summary>
    public const string Fallback = "rampart";

    private static readonly (string Prefix, string Component)[] s_table =
    [
        (Daemon, "daemon"),
        (TlsRptCollector, "tlsrpt-collector"),
        (TlsRptSender, "tlsrpt-sender"),
        ("Rampart.Postfix.Daemon", "policy"),           // the decisions (SocketmapResponder, DaemonEngine): one line per lookup
        ("Rampart.Postfix.Socketmap", "socketmap"),     // connections and framing (SocketmapConnectionHandler)
        ("Rampart.Postfix.Exim", "exim"),               // the Exim line listener's connections (EximConnectionHandler)
        (Serve, "serve"),
        (Certificates, "certificates"),
        (TlsRptReceiver, "tlsrpt-receiver"),
        (Watch, "watch"),
        (Listener, "listener"),
        ("Microsoft.AspNetCore.Server.Kestrel", "http"),
        ("Microsoft.AspNetCore", "http"),
        ("Microsoft.Extensions.Hosting", "host"),
        ("Microsoft.Hosting", "host"),
        ("Microsoft", "runtime"),
        ("System", "runtime"),
    ];

    /// <summary>The component name of <paramref name="category"/>; <see cref="Fallback"/> when no row matches.</summary>
    public static string For(string category)
    {
        ArgumentNullException.ThrowIfNull(category);
        var best = Fallback;
        var bestLength = -1;
        foreach (var (prefix, component) in s_table)
        {
            if (prefix.Length > bestLength
                && category.StartsWith(prefix, StringComparison.Ordinal)
                && (category.Length == prefix.Length || category[prefix.Length] == '.'))
            {
                (best, bestLength) = (component, prefix.Length);
            }
        }
        return best;
    }
}
