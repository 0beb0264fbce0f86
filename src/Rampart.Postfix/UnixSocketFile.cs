using System.Net.Sockets;

namespace Rampart.Postfix;

/// <summary>What is at the path a server is about to bind a Unix socket to.</summary>
internal enum UnixSocketFileState
{
    /// <summary>Nothing: bind.</summary>
    Absent,

    /// <summary>A socket file nobody is bound to (its server died): remove it, then bind.</summary>
    Stale,

    /// <summary>A socket another process serves on: refuse.</summary>
    InUse,

    /// <summary>A directory: refuse.</summary>
    Directory,

    /// <summary>A file with content, not a socket: refuse (never delete it).</summary>
    File,
}

/// <summary>The one check before binding a Unix socket (socketmap's stream socket, TLS-RPT's datagram socket).</summary>
internal static class UnixSocketFile
{
    /// <summary>What is at <paramref name="path"/>; a socket is probed with a connect of <paramref name="type"/> (refused: stale).</summary>
    public static UnixSocketFileState Inspect(string path, SocketType type)
    {
        if (System.IO.Directory.Exists(path))
        {
            return UnixSocketFileState.Directory;
        }
        if (!System.IO.File.Exists(path))
        {
            return UnixSocketFileState.Absent;
        }
        if (new FileInfo(path).Length > 0)
        {
            return UnixSocketFileState.File;
        }
        using var probe = new Socket(AddressFamily.Unix, type, ProtocolType.Unspecified);
        try
        {
            probe.Connect(new UnixDomainSocketEndPoint(path));
            return UnixSocketFileState.InUse;
        }
        catch (SocketException)
        {
            return UnixSocketFileState.Stale; // nobody listens or is bound
        }
    }
}
