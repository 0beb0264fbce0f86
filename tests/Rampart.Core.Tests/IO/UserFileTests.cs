using System.Diagnostics;
using Rampart.Core.IO;

namespace Rampart.Core.Tests.IO;

/// <summary>Regular files only, bounded: a device, a FIFO, a directory or an oversized file is one line at once.</summary>
public sealed class UserFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("rampart-userfile-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void ReadAllText_RegularFile_ContentWithoutByteOrderMark()
    {
        var path = Path.Combine(_dir, "policy.txt");
        File.WriteAllBytes(path, [0xEF, 0xBB, 0xBF, .. "version: STSv1\n"u8]);

        Assert.Equal("version: STSv1\n", UserFile.ReadAllText(path, "policy", UserFile.Limits.Policy));
    }

    [Fact]
    public void ReadAllText_LinkToRegularFile_Followed()
    {
        var path = Path.Combine(_dir, "real.yml");
        File.WriteAllText(path, "a: 1\n");
        var link = Path.Combine(_dir, "link.yml");
        File.CreateSymbolicLink(link, path);

        Assert.Equal("a: 1\n", UserFile.ReadAllText(link, "--config", UserFile.Limits.Config));
    }

    [Fact]
    public void ReadAllBytes_DevZero_RefusedAsDeviceAtOnce()
    {
        var started = Stopwatch.StartNew();

        var error = Assert.Throws<UserFileException>(() => UserFile.ReadAllBytes("/dev/zero", "--chain", UserFile.Limits.Pem));

        Assert.Equal("--chain /dev/zero: is a character device; give a regular file", error.Message);
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(1));
    }

    [Fact]
    public async Task ReadAllBytes_Fifo_RefusedWithoutWaitingForAWriter()
    {
        var fifo = Path.Combine(_dir, "fifo");
        using (var mkfifo = Process.Start("mkfifo", [fifo]))
        {
            await mkfifo.WaitForExitAsync(TestContext.Current.CancellationToken);
            Assert.Equal(0, mkfifo.ExitCode);
        }

        var read = Task.Run(() => UserFile.ReadAllBytes(fifo, "--config", UserFile.Limits.Config), TestContext.Current.CancellationToken);
        var error = await Assert.ThrowsAsync<UserFileException>(() => read.WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken));

        Assert.Equal($"--config {fifo}: is a FIFO (named pipe); give a regular file", error.Message);
    }

    [Fact]
    public void ReadAllBytes_Directory_Refused()
    {
        var error = Assert.Throws<UserFileException>(() => UserFile.ReadAllBytes(_dir, "--overrides", UserFile.Limits.PinnedPolicies));

        Assert.Equal($"--overrides {_dir}: is a directory; give a regular file", error.Message);
    }

    [Fact]
    public void ReadAllBytes_OverTheBound_RefusedBeforeReading()
    {
        var path = Path.Combine(_dir, "big.pem");
        using (var file = File.Create(path))
        {
            file.SetLength(UserFile.Limits.Pem + 1); // sparse: no 4 MiB written
        }

        var error = Assert.Throws<UserFileException>(() => UserFile.ReadAllBytes(path, "--cert", UserFile.Limits.Pem));

        Assert.Equal($"--cert {path}: larger than 4 MiB, the most Rampart reads for it", error.Message);
    }

    [Fact]
    public void ReadAllBytes_Missing_SaysSo()
    {
        var path = Path.Combine(_dir, "nope.json");

        var error = Assert.Throws<UserFileException>(() => UserFile.ReadAllBytes(path, "--policy-list", UserFile.Limits.PinnedPolicies));

        Assert.Equal($"--policy-list {path}: no such file", error.Message);
    }
}
