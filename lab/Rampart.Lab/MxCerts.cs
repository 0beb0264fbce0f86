using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Rampart.Lab;

/// <summary>
/// `mx-certs`: issues MX host certificates from the lab intermediate (one process for all hosts, so a
/// cold lab/up does not fork openssl a hundred times). Input lines: DIR HOST VARIANT [PREFIX], tab-
/// separated. Writes DIR/PREFIXkey.pem (kept when it exists: TLSA records stay valid),
/// PREFIXcert.pem (leaf), PREFIXchain.pem (leaf + intermediate; the leaf alone when self-signed) and
/// PREFIXvariant ("VARIANT RENEW-AT-UNIX-TIME", 0 = never), and drops the TLSA caches of that
/// certificate (DIR/tlsa-PREFIX??).
/// </summary>
internal static class MxCertsCommand
{
    /// <summary>The name in a `wrongname` MX certificate (MX_WRONG_NAME in lab/lib/common.sh).</summary>
    public const string WrongName = "mx.not-this-domain.test";

    public static int Run(CommandLine options)
    {
        var pki = LabPki.Load(options.Required("pki"));
        var list = options.Required("list");
        var now = DateTimeOffset.UtcNow;
        foreach (var raw in File.ReadLines(list))
        {
            if (raw.Length == 0)
            {
                continue;
            }

            var f = raw.Split('\t');
            if (f.Length < 3)
            {
                throw new LabException($"{list}: expected DIR HOST VARIANT [PREFIX], got '{raw}'");
            }

            var (dir, host, variant, prefix) = (f[0], f[1], f[2], f.Length > 3 ? f[3] : "");
            var (name, notBefore, notAfter, selfSigned) = variant switch
            {
                "good" => (host, now.AddHours(-1), now.AddDays(825), false),
                "wrongname" => (WrongName, now.AddHours(-1), now.AddDays(825), false),
                "expired" => (host, now.AddDays(-90), now.AddDays(-30), false),
                "selfsigned" => (host, now.AddHours(-1), now.AddDays(825), true),
                _ => throw new LabException($"{list}: unknown certificate variant '{variant}' for {host}"),
            };

            Directory.CreateDirectory(dir);
            using var key = LoadOrCreateKey(Path.Combine(dir, prefix + "key.pem"));
            using var leaf = pki.Issue(key, name, notBefore, notAfter, selfSigned);
            var leafPem = leaf.ExportCertificatePem() + "\n";
            WriteAtomic(Path.Combine(dir, prefix + "cert.pem"), leafPem);
            WriteAtomic(Path.Combine(dir, prefix + "chain.pem"), selfSigned ? leafPem : leafPem + pki.Intermediate.ExportCertificatePem() + "\n");
            foreach (var cache in Directory.GetFiles(dir, "tlsa-" + prefix + "??"))
            {
                File.Delete(cache);
            }

            var renewAt = variant == "expired" ? 0 : notAfter.AddDays(-30).ToUnixTimeSeconds();
            WriteAtomic(Path.Combine(dir, prefix + "variant"), string.Create(CultureInfo.InvariantCulture, $"{variant} {renewAt}\n"));
            Console.WriteLine($"issued {dir}/{prefix}cert.pem: {variant}, SAN {name}, {notBefore:u} .. {notAfter:u}{(selfSigned ? ", self-signed" : "")}");
        }

        return 0;
    }

    private static ECDsa LoadOrCreateKey(string path)
    {
        var key = ECDsa.Create();
        if (File.Exists(path))
        {
            key.ImportFromPem(File.ReadAllText(path));
            return key;
        }

        key.GenerateKey(ECCurve.NamedCurves.nistP256);
        var tmp = path + ".new";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var f = new FileStream(tmp, options))
        {
            f.Write(Encoding.ASCII.GetBytes(key.ExportPkcs8PrivateKeyPem() + "\n"));
        }

        File.Move(tmp, path, overwrite: true);
        return key;
    }

    private static void WriteAtomic(string path, string text)
    {
        File.WriteAllText(path + ".new", text);
        File.Move(path + ".new", path, overwrite: true);
    }
}
