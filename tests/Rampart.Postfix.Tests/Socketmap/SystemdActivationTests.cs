using Rampart.Postfix.Socketmap;

namespace Rampart.Postfix.Tests.Socketmap;

/// <summary>sd_listen_fds(3)'s rules: the sockets are ours only when LISTEN_PID is this process, and start at fd 3.</summary>
public sealed class SystemdActivationTests
{
    private static Func<string, string?> Env(string? pid, string? fds) => name => name switch
    {
        "LISTEN_PID" => pid,
        "LISTEN_FDS" => fds,
        _ => null,
    };

    [Theory]
    [InlineData("4242", "1", new[] { 3 })]
    [InlineData("4242", "3", new[] { 3, 4, 5 })]
    public void Descriptors_OurPid_FromThreeOn(string pid, string fds, int[] expected) =>
        Assert.Equal(expected, SystemdActivation.Descriptors(Env(pid, fds), 4242));

    [Theory]
    [InlineData(null, null)]      // not socket-activated
    [InlineData("4241", "1")]     // meant for another process (a parent that did not clear them)
    [InlineData("4242", null)]
    [InlineData("4242", "0")]
    [InlineData("4242", "-1")]
    [InlineData("4242", "x")]
    [InlineData("4242", "65")]    // more than anyone passes: a mistake, not 65 sockets
    [InlineData(" 4242", "1")]
    public void Descriptors_NotOurs_None(string? pid, string? fds) =>
        Assert.Empty(SystemdActivation.Descriptors(Env(pid, fds), 4242));
}
