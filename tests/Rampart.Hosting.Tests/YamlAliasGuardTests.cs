using Rampart.Hosting;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Rampart.Hosting.Tests;

public sealed class YamlAliasGuardTests
{
    private static YamlStream Load(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new YamlAliasGuard(new Parser(new StringReader(yaml))));
        return stream;
    }

    [Fact]
    public void Load_AliasAfterItsAnchor_Resolved()
    {
        var root = (YamlMappingNode)Load("a: &x {k: 1}\nb: *x\nc: [&y 2, *y]\n").Documents[0].RootNode;

        Assert.Same(root["a"], root["b"]);
    }

    [Fact]
    public void Load_ForwardAliasAsTwoKeys_YamlExceptionNotStackOverflow()
    {
        // Found by fuzz/run: YamlStream alone recursed in YamlAliasNode.Equals until the process died.
        var ex = Assert.Throws<YamlException>(() => Load("a: {*x, *x}\nb: &x 1\n"));

        Assert.Contains("alias *x comes before any anchor &x", ex.Message, StringComparison.Ordinal);
        Assert.Equal(1, ex.Start.Line);
    }

    [Theory]
    [InlineData("a: &x [1, *x]\n")]
    [InlineData("&x {*x : 1}\n")]
    [InlineData("a: &x 1\nb: &x [*x]\n")]
    public void Load_AliasInsideItsOwnNode_YamlException(string yaml)
    {
        var ex = Assert.Throws<YamlException>(() => Load(yaml));

        Assert.Contains("is inside the node its anchor &x names", ex.Message, StringComparison.Ordinal);
    }
}
