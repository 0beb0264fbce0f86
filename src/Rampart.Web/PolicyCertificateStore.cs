using System.Collections.Concurrent;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using Rampart.Core;

namespace Rampart.Web;

/// <summary>
/// The policy hosts' certificates, one certbot lineage each (<c>DIR/NAME/fullchain.pem</c> + <c>privkey.pem</c>). Loaded
/// at startup (a missing or unusable file is a <see cref="RampartException"/> naming it), then refreshed when either
/// file's modification time changes, checked at most every <see cref="RecheckInterval"/> during a handshake: new
/// connections get the new certificate, open ones keep theirs. A renewal that cannot be read keeps the old certificate.
/// </summary>
internal sealed partial class PolicyCertificateStore
{
    private readonly ConcurrentDictionary<string, Entry> _byHost;
    private readonly TimeProvider _time;
    private readonly ILogger _log;

    private PolicyCertificateStore(ConcurrentDictionary<string, Entry> byHost, TimeProvider time, ILogger log)
    {
        _byHost = byHost;
        _time = time;
        _log = log;
    }

    public static TimeSpan RecheckInterval { get; } = TimeSpan.FromSeconds(2);

    /// <summary>Loads one lineage per host: <paramref name="lineages"/> maps a host name to its lineage folder name.</summary>
    public static PolicyCertificateStore Load(string directory, IReadOnlyDictionary<string, string> lineages, TimeProvider time, ILogger log)
    {
        var byHost = new ConcurrentDictionary<string, Entry>(StringComparer.OrdinalIgnoreCase);
        foreach (var (host, lineage) in lineages)
        {
            var chain = Path.Combine(directory, lineage, "fullchain.pem");
            var key = Path.Combine(directory, lineage, "privkey.pem");
            var (context, stamp) = LoadPair(chain, key, host);
            byHost[host] = new Entry(chain, key, context, stamp, time.GetUtcNow());
        }
        return new PolicyCertificateStore(byHost, time, log);
    }

    /// <summary>The certificate context for an SNI name, null when no hosted name matches.</summary>
    public SslStreamCertificateContext? Get(string? serverName)
    {
        var host = serverName?.TrimEnd('.');
        if (host is null || !_byHost.TryGetValue(host, out var entry))
        {
            return null;
        }
        var now = _time.GetUtcNow();
        if (now - entry.CheckedAt < RecheckInterval)
        {
            return entry.Context;
        }
        var stamp = Stamp(entry.ChainPath, entry.KeyPath);
        if (stamp == entry.Stamp)
        {
            _byHost[host] = entry with { CheckedAt = now };
            return entry.Context;
        }
        try
        {
            var (context, loadedStamp) = LoadPair(entry.ChainPath, entry.KeyPath, host);
            _byHost[host] = entry with { Context = context, Stamp = loadedStamp, CheckedAt = now };
            Log.Reloaded(_log, host, entry.ChainPath);
            return context;
        }
        catch (RampartException ex)
        {
            // A renewal caught half-written (or broken) keeps serving the previous certificate; retried on the next interval.
            _byHost[host] = entry with { CheckedAt = now };
            Log.ReloadFailed(_log, host, ex.Message);
            return entry.Context;
        }
    }

    private static (SslStreamCertificateContext Context, string Stamp) LoadPair(string chainPath, string keyPath, string host)
    {
        var stamp = Stamp(chainPath, keyPath);
        string chainPem = Read(chainPath, "certificate chain");
        string keyPem = Read(keyPath, "private key");
        X509Certificate2Collection chain = [];
        try
        {
            chain.ImportFromPem(chainPem);
        }
        catch (CryptographicException ex)
        {
            throw new RampartException($"{chainPath}: not a PEM certificate chain ({ex.Message})", ex);
        }
        if (chain.Count == 0)
        {
            throw new RampartException($"{chainPath}: holds no certificate (expected certbot's fullchain.pem, leaf first)");
        }
        X509Certificate2 leaf;
        try
        {
            leaf = X509Certificate2.CreateFromPem(chain[0].ExportCertificatePem(), keyPem);
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException)
        {
            throw new RampartException($"{keyPath}: not the private key of the first certificate in {chainPath} ({ex.Message})", ex);
        }
        if (!leaf.MatchesHostname(host))
        {
            throw new RampartException($"{chainPath}: the certificate is not valid for {host} (names: {leaf.GetNameInfo(X509NameType.DnsName, false)})");
        }
        // Export/re-import so the key is usable by SslStream on every platform (ephemeral PEM keys are not, on some).
        var usable = X509CertificateLoader.LoadPkcs12(leaf.Export(X509ContentType.Pkcs12), null);
        var intermediates = new X509Certificate2Collection();
        for (var i = 1; i < chain.Count; i++)
        {
            intermediates.Add(chain[i]);
        }
        return (SslStreamCertificateContext.Create(usable, intermediates, offline: true), stamp);
    }

    private static string Read(string path, string what)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new RampartException($"{path}: the {what} cannot be read ({(ex is FileNotFoundException or DirectoryNotFoundException ? "no such file" : ex.Message)})", ex);
        }
    }

    private static string Stamp(string chainPath, string keyPath)
    {
        static string One(string path)
        {
            FileSystemInfo info = new FileInfo(path);
            if (info.LinkTarget is not null && info.ResolveLinkTarget(returnFinalTarget: true) is { } target)
            {
                info = target; // certbot's live/ files are symlinks into archive/: a renewal changes the target
            }
            return info.Exists ? $"{info.FullName}@{info.LastWriteTimeUtc.Ticks}/{(info as FileInfo)?.Length}" : "-";
        }
        return One(chainPath) + "|" + One(keyPath);
    }

    private sealed record Entry(string ChainPath, string KeyPath, SslStreamCertificateContext Context, string Stamp, DateTimeOffset CheckedAt);

    private static partial class Log
    {
        [LoggerMessage(EventId = 320, Level = LogLevel.Information, Message = "certificate for {Host} reloaded from {Path}")]
        public static partial void Reloaded(ILogger logger, string host, string path);

        [LoggerMessage(EventId = 321, Level = LogLevel.Warning, Message = "certificate for {Host} changed but cannot be used, keeping the previous one: {Reason}")]
        public static partial void ReloadFailed(ILogger logger, string host, string reason);
    }
}
