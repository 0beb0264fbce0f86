namespace Rampart.Hosting.Tests;

public sealed class StateDirectoryTests
{
    [Fact]
    public void Default_SystemdStateDirectoryWins()
    {
        Assert.Equal("/var/lib/rampart", StateDirectory.Default(name => name == "STATE_DIRECTORY" ? "/var/lib/rampart:/var/lib/other" : null, privileged: false));
        Assert.Equal("/var/lib/rampart", StateDirectory.Default(_ => null, privileged: true));
        Assert.Equal("/x/state/rampart", StateDirectory.Default(name => name == "XDG_STATE_HOME" ? "/x/state" : null, privileged: false));
    }
}
