namespace Rampart.Hosting.Tests;

public sealed class StateDirectoryTests
{
    private static Func<string, string?> Environment(params (string Name, string Value)[] variables) =>
        name => variables.FirstOrDefault(v => v.Name == name).Value;

    [Fact]
    public void Default_SystemdStateDirectoryWins()
    {
        Assert.Equal("/var/lib/rampart", StateDirectory.Default(name => name == "STATE_DIRECTORY" ? "/var/lib/rampart:/var/lib/other" : null, privileged: false));
        Assert.Equal("/var/lib/rampart", StateDirectory.Default(_ => null, privileged: true));
        Assert.Equal("/x/state/rampart", StateDirectory.Default(name => name == "XDG_STATE_HOME" ? "/x/state" : null, privileged: false));
    }

    [Fact]
    public void Default_NotRoot_UnderHome()
    {
        Assert.Equal("/home/mail/.local/state/rampart", StateDirectory.Default(Environment(("HOME", "/home/mail")), privileged: false, accountHome: "/elsewhere"));
    }

    [Fact]
    public void Default_HomeUnset_TheAccountsHome()
    {
        Assert.Equal("/home/mail/.local/state/rampart", StateDirectory.Default(Environment(), privileged: false, accountHome: "/home/mail"));
    }

    [Fact]
    public void Default_NoHomeAtAll_NoneRatherThanRelative()
    {
        Assert.Null(StateDirectory.Default(Environment(), privileged: false, accountHome: null));
        Assert.Null(StateDirectory.Default(Environment(("HOME", "")), privileged: false, accountHome: null));
    }

    [Fact]
    public void Default_RelativeVariables_Ignored()
    {
        Assert.Null(StateDirectory.Default(Environment(("HOME", "home"), ("XDG_STATE_HOME", "state"), ("STATE_DIRECTORY", "lib/rampart")), privileged: false));
        Assert.Equal("/home/mail/.local/state/rampart",
            StateDirectory.Default(Environment(("XDG_STATE_HOME", "state"), ("HOME", "/home/mail")), privileged: false));
    }

    [Fact]
    public void Choose_Given_MadeAbsolute()
    {
        Assert.Equal(Path.Combine(Directory.GetCurrentDirectory(), "state"), StateDirectory.Choose("state"));
        Assert.Equal("/srv/rampart", StateDirectory.Choose("/srv/rampart"));
    }

    [Fact]
    public void RequireWritable_Writable_Passes()
    {
        var directory = Directory.CreateTempSubdirectory("rampart-state-").FullName;
        try
        {
            StateDirectory.RequireWritable(directory);
            StateDirectory.RequireWritable(Path.Combine(directory, "not", "yet"));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void RequireWritable_AFile_OneLineNamingIt()
    {
        var file = Path.GetTempFileName();
        try
        {
            var error = Assert.Throws<StartupException>(() => StateDirectory.RequireWritable(file));
            Assert.Equal($"state directory {file} is a file, not a directory; move it aside or choose another with --state-dir DIR", error.Message);
        }
        finally
        {
            File.Delete(file);
        }
    }

    /// <summary>Under a unit, $STATE_DIRECTORY wins over a migrated file's cache directory, and the start log says so.</summary>
    [Fact]
    public void ChooseForService_StateDirectorySet_WinsOverTheFileWithANote()
    {
        var chosen = StateDirectory.Choose(null, "/var/lib/mta-sts", "cache.options.filename (/var/lib/mta-sts/cache.db)",
            Environment(("STATE_DIRECTORY", "/var/lib/rampart")), out var note);

        Assert.Equal("/var/lib/rampart", chosen);
        Assert.Equal("state directory /var/lib/rampart ($STATE_DIRECTORY, the unit's StateDirectory=), not /var/lib/mta-sts from the " +
                     "configuration's cache.options.filename (/var/lib/mta-sts/cache.db)", note);
    }

    [Fact]
    public void ChooseForService_CommandLineWins_ThenTheFile_NoNote()
    {
        Assert.Equal("/srv/state", StateDirectory.Choose("/srv/state", "/var/lib/mta-sts", "state_dir", Environment(("STATE_DIRECTORY", "/var/lib/rampart")), out var given));
        Assert.Equal("/var/lib/mta-sts", StateDirectory.Choose(null, "/var/lib/mta-sts", "state_dir", Environment(("HOME", "/root")), out var file));
        Assert.Equal("/var/lib/rampart", StateDirectory.Choose(null, "/var/lib/rampart/", "state_dir", Environment(("STATE_DIRECTORY", "/var/lib/rampart")), out var same));

        Assert.Null(given);
        Assert.Null(file);
        Assert.Null(same); // the file names the unit's own directory: nothing to say
    }
}
