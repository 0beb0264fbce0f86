namespace Rampart.Lab.Tests;

/// <summary>
/// The attack rows' shared steps, whichever MTA sends: a token per message, what the MX receivers got, the MitM's mode
/// per MX address, and the proof that nothing reached the attacker in clear.
/// </summary>
internal static class LabAttacks
{
    /// <summary>
    /// The collection of every class that drives the lab's MitM (its mode files are per MX address, for the whole lab):
    /// they run one after another, never at once.
    /// </summary>
    public const string Collection = "lab MitM";

    internal static string Token() => "tok" + Guid.NewGuid().ToString("N");

    /// <summary>The .eml the MX receiver wrote for this token, polled every 100 ms.</summary>
    internal static async Task<string?> ReceivedAsync(string mxHost, string token, TimeSpan within)
    {
        var dir = Path.Combine(LabSender.State, "mail", mxHost);
        var deadline = DateTime.UtcNow + within;
        do
        {
            if (Directory.Exists(dir))
            {
                foreach (var file in Directory.GetFiles(dir, "*.eml"))
                {
                    var text = await File.ReadAllTextAsync(file, TestContext.Current.CancellationToken);
                    if (text.Contains(token, StringComparison.Ordinal))
                    {
                        return text;
                    }
                }
            }

            await Task.Delay(100, TestContext.Current.CancellationToken);
        }
        while (DateTime.UtcNow < deadline);
        return null;
    }

    internal const string AttackerAddress = "127.0.1.52";
    internal const string AttackerHost = "mx.mitm-attacker.test";

    internal static string MitmLogPath => Path.Combine(LabSender.State, "log", "mitm.log");

    internal static long MitmLogLength() => File.Exists(MitmLogPath) ? new FileInfo(MitmLogPath).Length : 0;

    /// <summary>
    /// No receiver of RECEIVERS got the token, the MitM's captures of MITMHOST hold no token, and the MitM's log since
    /// FROM shows it was contacted in MODE and never saw a DATA command.
    /// </summary>
    internal static async Task AssertNothingInClearAsync(string token, long from, string mitmHost, string mode, params string[] receivers)
    {
        foreach (var receiver in receivers)
        {
            Assert.Null(await ReceivedAsync(receiver, token, TimeSpan.Zero));
        }

        var captures = Path.Combine(LabSender.State, "mitm", "capture", mitmHost);
        foreach (var file in Directory.Exists(captures) ? Directory.GetFiles(captures) : [])
        {
            Assert.DoesNotContain(token, await File.ReadAllTextAsync(file, TestContext.Current.CancellationToken), StringComparison.Ordinal);
        }

        string recent;
        using (var stream = new FileStream(MitmLogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite))
        {
            stream.Seek(from, SeekOrigin.Begin);
            using var reader = new StreamReader(stream);
            recent = await reader.ReadToEndAsync(TestContext.Current.CancellationToken);
        }

        var ours = recent.Split('\n').Where(l => l.Contains($" close mode={mode} host={mitmHost} ", StringComparison.Ordinal)).ToList();
        Assert.True(ours.Count > 0, $"the attacker ({mode}, {mitmHost}) was never contacted:\n{recent}");
        Assert.DoesNotContain(ours, l => l.Contains(" data=yes ", StringComparison.Ordinal));
    }

    internal static async Task WithMitmAsync(string mxAddress, string mode, Func<Task> body)
    {
        await SetMitmAsync(mxAddress, mode);
        try
        {
            await body();
        }
        finally
        {
            await SetMitmAsync(mxAddress, null);
        }
    }

    /// <summary>The MitM's mode for connections to <paramref name="mxAddress"/> from now on (null: back to the default, pass).</summary>
    internal static async Task SetMitmAsync(string mxAddress, string? mode)
    {
        var file = Path.Combine(LabSender.State, "mitm", "mode", mxAddress);
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        if (mode is null)
        {
            File.Delete(file);
        }
        else
        {
            await File.WriteAllTextAsync(file, mode + "\n", TestContext.Current.CancellationToken);
        }
    }
}
