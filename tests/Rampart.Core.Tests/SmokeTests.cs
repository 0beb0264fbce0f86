namespace Rampart.Core.Tests;

public class SmokeTests
{
    [Fact]
    public void Placeholder_IsReplaced() => Assert.NotNull(typeof(SmokeTests).Assembly);
}
