using System.CommandLine;
using Rampart.Tests.Shared;

namespace Rampart.Cli.Tests;

/// <summary>
/// The command line itself (<see cref="RampartCommandLine"/>, <see cref="GlobalOptions"/>, <see cref="OptionValues"/>,
/// <see cref="UsageErrors"/>, <see cref="DomainArgument"/>): option groups per verb, root options before or after the
/// verb, unknown options with the nearest one, values and domains judged in the user's terms, one usage exit code.
/// In-process where the parse is all that matters; through the real executable for what the operator sees.
/// </summary>
public sealed class CommandLineTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("rampart-cli-line-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Every verb (a command without subcommands) with its path, e.g. "tlsa generate".</summary>
    public static TheoryData<string> Verbs() => new(AllVerbs(RampartCommandLine.Create()).Select(v => v.Path));

    private static IEnumerable<(Command Command, string Path)> AllVerbs(Command command, string path = "")
    {
        foreach (var sub in command.Subcommands)
        {
            var subPath = path.Length == 0 ? sub.Name : $"{path} {sub.Name}";
            if (sub.Subcommands.Count == 0)
            {
                yield return (sub, subPath);
            }
            foreach (var nested in AllVerbs(sub, subPath))
            {
                yield return nested;
            }
        }
    }

    private static Command Verb(string path) => AllVerbs(RampartCommandLine.Create()).Single(v => v.Path == path).Command;

    private static IReadOnlyList<string> Errors(params string[] args) => UsageErrors.Describe(RampartCommandLine.Create().Parse(args));

    private static string Help(string path)
    {
        using var output = new StringWriter();
        RampartCommandLine.Create().Parse([.. path.Split(' '), "--help"]).Invoke(new InvocationConfiguration { Output = output });
        return output.ToString();
    }

    // Option groups

    [Theory]
    [InlineData("resolve", "--resolver --ca-file --overrides --policy-list")]
    [InlineData("daemon", "--resolver --ca-file --overrides --policy-list --state-dir --config")]
    [InlineData("check", "--resolver --ca-file --state-dir")]
    [InlineData("publish", "--resolver --ca-file --config")]
    [InlineData("tlsa generate", "--resolver")]
    [InlineData("tlsa verify", "--resolver")]
    [InlineData("tlsa match", "")]
    [InlineData("mta-sts parse", "")]
    [InlineData("tlsrpt import", "--resolver --state-dir")]
    [InlineData("tlsrpt summary", "--state-dir")]
    [InlineData("serve", "--state-dir --config")]
    public void EachVerb_HasExactlyTheGroupsItUses(string verb, string expected)
    {
        string[] grouped = ["--resolver", "--ca-file", "--overrides", "--policy-list", "--state-dir", "--config"];

        var help = Help(verb);

        foreach (var option in grouped)
        {
            var listed = help.Contains($"  {option} ", StringComparison.Ordinal);
            Assert.True(listed == expected.Split(' ').Contains(option), $"{verb} --help {(listed ? "lists" : "does not list")} {option}:\n{help}");
        }
        Assert.Contains("-v, --verbose", help, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Verbs))]
    public void EveryVerbsHelp_HasNoAdditionalArgumentsNoise(string verb)
    {
        Assert.True(Verb(verb).TreatUnmatchedTokensAsErrors, verb);
        Assert.DoesNotContain("Additional Arguments", Help(verb), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TlsaGenerateHelp_NoAdditionalArguments()
    {
        var result = await CliRunner.RunAsync("tlsa", "generate", "--help");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("--usage <2|3>", result.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("Additional Arguments", result.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("Arguments passed to the application", result.Stdout, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("mta-sts", "parse")]
    [InlineData("tlsrpt", "summary")]
    public async Task VerbsThatDecideNoSenderPolicy_DoNotListSenderOptions(string group, string verb)
    {
        var result = await CliRunner.RunAsync(group, verb, "--help");

        Assert.Equal(0, result.ExitCode);
        Assert.DoesNotContain("--overrides", result.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("--policy-list", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CheckOverrides_IsAnOptionOfResolveAndDaemon_NotAFileReadByCheck()
    {
        var result = await CliRunner.RunAsync("check", "--overrides", Path.Combine(_dir, "BAD"), "example.org");

        Assert.Equal(ExitCodes.Unknown, result.ExitCode); // check: unusable input is UNKNOWN
        Assert.Equal("rampart check: unknown option '--overrides': it is an option of resolve and daemon, not of check", result.Stderr.Trim());
    }

    [Fact]
    public async Task TlsRptImportOverrides_IsAnOptionOfResolveAndDaemon()
    {
        var result = await CliRunner.RunAsync("tlsrpt", "import", "--overrides", Path.Combine(_dir, "BAD"), _dir, "--state-dir", _dir);

        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        Assert.Equal("rampart tlsrpt import: unknown option '--overrides': it is an option of resolve and daemon, not of tlsrpt import", result.Stderr.Trim());
        Assert.False(File.Exists(Path.Combine(_dir, "tlsrpt.sqlite")), "nothing was imported or created");
    }

    // Root options before or after the verb

    [Fact]
    public async Task StateDir_BeforeOrAfterTheVerb_SameStore()
    {
        var before = await CliRunner.RunAsync("--state-dir", _dir, "tlsrpt", "summary");
        var after = await CliRunner.RunAsync("tlsrpt", "summary", "--state-dir", _dir);

        foreach (var result in new[] { before, after })
        {
            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.Contains(Path.Combine(_dir, "tlsrpt.sqlite"), result.Stdout, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("--state-dir", "/srv/rampart", "daemon", "--check-config")]
    [InlineData("daemon", "--check-config", "--state-dir", "/srv/rampart")]
    [InlineData("--state-dir", "/srv/rampart", "check", "--watch", "domains.txt")]
    [InlineData("serve", "--state-dir", "/srv/rampart")]
    public void StateDir_BeforeOrAfterTheVerb_ReachesTheVerb(params string[] args)
    {
        var parse = RampartCommandLine.Create().Parse(args);

        Assert.Empty(UsageErrors.Describe(parse));
        Assert.Equal("/srv/rampart", parse.GetValue(GlobalOptions.StateDir));
    }

    [Fact]
    public void ConfigAndVerbose_BeforeTheVerb_ReachTheVerb()
    {
        var parse = RampartCommandLine.Create().Parse(["-v", "--config", "/etc/rampart/publish.yml", "publish", "--offline"]);

        Assert.Empty(UsageErrors.Describe(parse));
        Assert.Equal("/etc/rampart/publish.yml", parse.GetValue(GlobalOptions.Config));
        Assert.True(parse.GetValue(GlobalOptions.Verbose));
    }

    [Theory]
    [InlineData("--state-dir", "resolve", "rampart resolve: --state-dir: this verb keeps no state (it is for daemon, serve, tlsrpt and check --watch)")]
    [InlineData("--config", "resolve", "rampart resolve: --config: this verb reads no configuration file (it is for daemon, publish, serve, tlsrpt report and tlsrpt send)")]
    [InlineData("--config", "check", "rampart check: --config: this verb reads no configuration file (it is for daemon, publish, serve, tlsrpt report and tlsrpt send)")]
    public void RootOptionAVerbDoesNotUse_BeforeTheVerb_IsAnErrorNotIgnored(string option, string verb, string expected)
    {
        Assert.Equal([expected], Errors(option, "/x", verb, "example.org"));
    }

    [Fact]
    public void RootOptionAVerbDoesNotUse_AfterTheVerb_NamesTheVerbsItBelongsTo()
    {
        Assert.Equal(["rampart mta-sts parse: unknown option '--config': it is an option of daemon, tlsrpt ingest-log, tlsrpt report, tlsrpt send, tlsrpt suppressed, tlsrpt bounce, publish and serve, not of mta-sts parse"],
            Errors("mta-sts", "parse", "-", "--config", "/x"));
    }

    // Unknown options

    [Fact]
    public async Task CheckTypo_UnknownOptionWithSuggestion_UsageExit()
    {
        var result = await CliRunner.RunAsync("check", "--jsno", "example.org");

        Assert.Equal(ExitCodes.Unknown, result.ExitCode); // check: unusable input is UNKNOWN
        Assert.Equal("rampart check: unknown option '--jsno' (did you mean '--json'?)", result.Stderr.Trim());
        Assert.Empty(result.Stdout);
    }

    [Theory]
    [InlineData(new[] { "resolve", "--jsno" }, "rampart resolve: unknown option '--jsno' (did you mean '--json'?)")]
    [InlineData(new[] { "check", "example.org", "--timout", "3" }, "rampart check: unknown option '--timout' (did you mean '--timeout'?)")]
    [InlineData(new[] { "tlsrpt", "summary", "--stat-dir", "/x" }, "rampart tlsrpt summary: unknown option '--stat-dir' (did you mean '--state-dir'?)")]
    [InlineData(new[] { "tlsa", "verify", "-x", "mx.example.org" }, "rampart tlsa verify: unknown option '-x'")]
    [InlineData(new[] { "mta-sts", "parse", "--frobnicate" }, "rampart mta-sts parse: unknown option '--frobnicate'")]
    [InlineData(new[] { "--json", "check", "example.org" }, "rampart check: option '--json' must come after the verb (check --json)")]
    public void TokenThatLooksLikeAnOption_IsNeverADomainOrFile(string[] args, string expected)
    {
        Assert.Equal([expected], Errors(args));
    }

    [Fact]
    public void UnknownVerb_SuggestsTheNearest()
    {
        Assert.Equal(["rampart: unknown command 'chekc' (did you mean 'check'?)", "rampart: see 'rampart --help'"], Errors("chekc", "example.org"));
    }

    [Fact]
    public void AfterDoubleDash_ADashArgumentIsJudgedAsADomain()
    {
        var errors = Errors("check", "--", "-x.example");

        Assert.DoesNotContain(errors, e => e.Contains("unknown option", StringComparison.Ordinal));
    }

    // Values in the user's terms

    [Fact]
    public async Task TimeoutNotANumber_SaysSoInSeconds()
    {
        var result = await CliRunner.RunAsync("check", "example.org", "--timeout", "abc");

        Assert.Equal(ExitCodes.Unknown, result.ExitCode); // check: unusable input is UNKNOWN
        Assert.Equal("rampart check: --timeout: 'abc' is not a number of seconds", result.Stderr.Trim());
    }

    /// <summary>
    /// Every typed option of every verb, given "a b c" (no number, address, time, URL or host name): one line naming the
    /// option and the value, never a .NET type.
    /// </summary>
    [Theory]
    [MemberData(nameof(Verbs))]
    public void EveryTypedOption_BadValue_UserTermsNoTypeNames(string verb)
    {
        foreach (var option in Verb(verb).Options.Where(o => o.ValueType != typeof(string) && o.ValueType != typeof(string[]) && o.ValueType != typeof(bool)))
        {
            var errors = Errors([.. verb.Split(' '), option.Name, "a b c"]);

            Assert.Contains(errors, e => e.StartsWith($"rampart {verb}: {option.Name}: 'a b c' is not a", StringComparison.Ordinal));
            Assert.DoesNotContain(errors, e => e.Contains("System.", StringComparison.Ordinal) || e.Contains("expected type", StringComparison.Ordinal));
        }
    }

    [Theory]
    [InlineData(new[] { "tlsrpt", "summary", "--days", "x" }, "rampart tlsrpt summary: --days: 'x' is not a whole number of days")]
    [InlineData(new[] { "tlsrpt", "summary", "--days", "0" }, "rampart tlsrpt summary: --days: '0' must be from 1 to 36500 days")]
    [InlineData(new[] { "tlsrpt", "import", "x", "--max-report-size", "many" }, "rampart tlsrpt import: --max-report-size: 'many' is not a whole number of MiB")]
    [InlineData(new[] { "tlsa", "verify", "mx.example.org", "--port", "smtp" }, "rampart tlsa verify: --port: 'smtp' is not a port: give a number from 1 to 65535")]
    [InlineData(new[] { "resolve", "example.org", "--timeout", "601" }, "rampart resolve: --timeout: '601' must be more than 0 and at most 600 seconds")]
    [InlineData(new[] { "daemon", "--timeout", "ten" }, "rampart daemon: --timeout: 'ten' is not a number of seconds")]
    [InlineData(new[] { "check", "--watch", "f", "--testing-limit", "a month" }, "rampart check: --testing-limit: 'a month' is not a whole number of days")]
    [InlineData(new[] { "publish", "--mode", "strict" }, "rampart publish: --mode: 'strict' is not a policy mode: give testing, enforce, none")]
    [InlineData(new[] { "check", "--watch", "f", "--interval", "15" }, "rampart check: --interval: '15' is not a time such as 90s, 15m, 1h or 1d")]
    [InlineData(new[] { "check", "--watch", "f", "--interval", "8d" }, "rampart check: --interval: '8d' must be from 10s to 7d")]
    [InlineData(new[] { "check", "--watch", "f", "--metrics", "localhost:9462" }, "rampart check: --metrics: 'localhost:9462' is not an address: give IP:PORT or [IPv6]:PORT, e.g. 127.0.0.1:9462")]
    [InlineData(new[] { "check", "--watch", "f", "--webhook", "hooks.example/x" }, "rampart check: --webhook: 'hooks.example/x' is not an http:// or https:// URL")]
    [InlineData(new[] { "daemon", "--metrics", "127.0.0.1" }, "rampart daemon: --metrics: '127.0.0.1' is not an address: give IP:PORT or [IPv6]:PORT, e.g. 127.0.0.1:9461")]
    [InlineData(new[] { "daemon", "--listen", "mail.example:8461" },
        "rampart daemon: --listen: 'mail.example:8461' is not a socketmap address: 'mail.example' is not an IPv4 address, a bracketed IPv6 address or localhost")]
    [InlineData(new[] { "daemon", "--listen", "8461" }, "rampart daemon: --listen: '8461' is not a socketmap address: give IP:PORT, [IPv6]:PORT, localhost:PORT or unix:/path (e.g. 127.0.0.1:8461)")]
    [InlineData(new[] { "serve", "--listen", "443" }, "rampart serve: --listen: '443' is not an address: give IP:PORT or [IPv6]:PORT, e.g. [::]:443")]
    [InlineData(new[] { "publish", "--domain", "192.0.2.1" }, "rampart publish: --domain: '192.0.2.1' is an IP address, not a domain")]
    [InlineData(new[] { "tlsa", "generate", "--host", "mx.example.org:smtp" },
        "rampart tlsa generate: --host: 'mx.example.org:smtp' is not a host name or HOST:PORT with one (e.g. mx.example.org or mx.example.org:25)")]
    [InlineData(new[] { "tlsa", "generate", "--cert", "c.pem", "--name", "bad..name" },
        "rampart tlsa generate: --name: 'bad..name' is not a domain name: it has an empty label (a leading dot or two dots in a row)")]
    [InlineData(new[] { "tlsa", "match", "--chain", "c.pem", "--tlsa", "3 1 1 aa", "--name", "ok.example", "--name", "x y" },
        "rampart tlsa match: --name: 'x y' is not a domain name: it contains ' '; DNS names here hold only letters, digits, '-', '_' and '.'")]
    public void BadValue_OneLineInTheUsersTerms(string[] args, string expected)
    {
        Assert.Equal([expected], Errors(args));
    }

    [Fact]
    public void NamesGiven_NormalisedWhileParsing()
    {
        var publish = RampartCommandLine.Create().Parse(["publish", "--domain", "B.Test.", "--domain", "bücher.example"]);
        var match = RampartCommandLine.Create().Parse(["tlsa", "match", "--chain", "c.pem", "--tlsa", "3 1 1 aa", "--name", "MX.Example.ORG."]);

        Assert.Empty(UsageErrors.Describe(publish));
        Assert.Equal(["b.test", "xn--bcher-kva.example"], publish.GetValue<string[]>("--domain")!);
        Assert.Equal(["mx.example.org"], match.GetValue<string[]>("--name")!);
    }

    /// <summary>Each bad --listen is named, not only the first.</summary>
    [Fact]
    public void DaemonListen_TwoBad_OneLineEach()
    {
        Assert.Equal(
        [
            "rampart daemon: --listen: 'nowhere' is not a socketmap address: give IP:PORT, [IPv6]:PORT, localhost:PORT or unix:/path (e.g. 127.0.0.1:8461)",
            "rampart daemon: --listen: 'unix:relative.sock' is not a socketmap address: the Unix socket path must be absolute (unix:/run/rampart/socketmap.sock)",
        ], Errors("daemon", "--listen", "nowhere", "--listen", "unix:relative.sock"));
    }

    [Fact]
    public async Task DaemonBadListen_UsageErrorBeforeAnythingStarts()
    {
        var result = await CliRunner.RunAsync("daemon", "--listen", "nowhere", "--state-dir", Path.Combine(_dir, "state"));

        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        Assert.StartsWith("rampart daemon: --listen: 'nowhere' is not a socketmap address", Assert.Single(result.Stderr.Trim().Split('\n')), StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(_dir, "state")));
    }

    // What is missing

    [Theory]
    [InlineData(new[] { "resolve" }, "rampart resolve: missing DOMAIN: destination domain (the part after @)")]
    [InlineData(new[] { "mta-sts", "parse" }, "rampart mta-sts parse: missing FILE: policy file to validate, or - for standard input")]
    [InlineData(new[] { "tlsa", "verify" }, "rampart tlsa verify: missing HOST: the MX host name (as in the MX record)")]
    [InlineData(new[] { "tlsa" }, "rampart tlsa: missing COMMAND: give one of generate, match and verify")]
    [InlineData(new[] { "check", "--watch" }, "rampart check: --watch needs a value (FILE)")]
    [InlineData(new[] { "daemon", "--listen" }, "rampart daemon: --listen needs a value (ADDRESS)")]
    public void Missing_OneLineInTheUsersTermsAndTheHelpHint(string[] args, string expected)
    {
        var hint = $"rampart: see 'rampart {string.Join(' ', args.TakeWhile(a => !a.StartsWith('-')))} --help'";

        Assert.Equal([expected, hint], Errors(args));
    }

    [Fact]
    public void MissingValueAndArgument_BothNamed()
    {
        Assert.Equal(
        [
            "rampart resolve: --timeout needs a value (SECONDS)",
            "rampart resolve: missing DOMAIN: destination domain (the part after @)",
            "rampart: see 'rampart resolve --help'",
        ], Errors("resolve", "--timeout"));
    }

    [Fact]
    public async Task MissingArgument_UsageExitAndNoParserText()
    {
        var result = await CliRunner.RunAsync("tlsrpt", "import");

        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        Assert.Equal(
            "rampart tlsrpt import: missing PATH: report files (.json, .json.gz, .zip, .eml, whatever their names), folders (read recursively), mbox files or Maildirs\n" +
            "rampart: see 'rampart tlsrpt import --help'",
            result.Stderr.Trim().ReplaceLineEndings("\n"));
    }

    [Fact]
    public void EveryTypedOption_HasAParserInTheUsersTerms()
    {
        var root = RampartCommandLine.Create();
        root.Subcommands.Add(new Command("extra") { new Option<int>("--count") });

        var error = Assert.Throws<InvalidOperationException>(() => OptionValues.Guard(root));

        Assert.Contains("--count", error.Message, StringComparison.Ordinal);
    }

    // Domain arguments

    [Fact]
    public async Task ResolveMailAddress_UsageErrorNamingTheDomainPart()
    {
        var result = await CliRunner.RunAsync("resolve", "user@example.org");

        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        Assert.Equal("rampart resolve: 'user@example.org' is a mail address; give its domain part: example.org", result.Stderr.Trim());
        Assert.Empty(result.Stdout);
    }

    [Theory]
    [InlineData("192.0.2.1", "is an IP address")]
    [InlineData("2001:db8::1", "is an IP address")]
    [InlineData("https://example.org/", "is a URL; give the domain alone: example.org")]
    [InlineData("[mx.example.org]:25", "is a bracketed Postfix next hop")]
    [InlineData("[mx.example.org]", "give the name without brackets: mx.example.org")]
    [InlineData("[192.0.2.1]", "is an IP address in brackets")]
    [InlineData("example.org:25", "has a port; give the name alone: example.org")]
    [InlineData("bad domain!", "'bad domain!'")]
    public void ResolveNotADomain_UsageErrorSayingWhatToGive(string argument, string expected)
    {
        var line = Assert.Single(Errors("resolve", argument));

        Assert.StartsWith($"rampart resolve: '{argument}'", line, StringComparison.Ordinal);
        Assert.Contains(expected, line, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("check", "example.org", "postmaster@example.net")]
    [InlineData("tlsa", "verify", "192.0.2.25")]
    public void OtherDomainArguments_SameRule(string group, string first, string argument)
    {
        string[] args = group == "check" ? ["check", first, argument] : [group, first, argument];

        Assert.Single(Errors(args));
    }

    [Theory]
    [InlineData("example.org")]
    [InlineData("Example.ORG.")]
    [InlineData("bücher.example")]
    public void ResolveDomain_NoError(string domain)
    {
        Assert.Empty(Errors("resolve", domain));
    }
}
