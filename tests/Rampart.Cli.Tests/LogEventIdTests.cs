using System.Reflection;
using Microsoft.Extensions.Logging;
using Rampart.Hosting.Logging;

namespace Rampart.Cli.Tests;

/// <summary>Log event ids are unique across the whole program and lie in their component's range (<see cref="LogEventIds"/>).</summary>
public sealed class LogEventIdTests
{
    private static readonly Assembly[] s_program =
        [.. new[] { "rampart", "Rampart.Postfix", "Rampart.Web", "Rampart.Hosting", "Rampart.Core", "Rampart.Storage" }.Select(Assembly.Load)];

    private static IEnumerable<(int Id, string Where)> EventIds() =>
        from assembly in s_program
        from type in assembly.GetTypes()
        from method in type.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly)
        let attribute = method.GetCustomAttribute<LoggerMessageAttribute>()
        where attribute is not null
        select (attribute.EventId, $"{type.FullName}.{method.Name}");

    [Fact]
    public void EventIds_UniqueAcrossTheProgram()
    {
        var ids = EventIds().ToList();
        Assert.True(ids.Count > 40, $"only {ids.Count} [LoggerMessage] methods found");
        var collisions = ids.GroupBy(i => i.Id).Where(g => g.Count() > 1).Select(g => $"{g.Key}: {string.Join(", ", g.Select(i => i.Where))}").ToList();
        Assert.True(collisions.Count == 0, "event ids used twice:\n" + string.Join('\n', collisions));
    }

    [Fact]
    public void EventIds_InARegisteredRange()
    {
        var outside = EventIds().Where(i => !LogEventIds.Ranges.Any(r => i.Id >= r.First && i.Id <= r.Last)).Select(i => $"{i.Id}: {i.Where}").ToList();
        Assert.True(outside.Count == 0, "event ids outside every range of LogEventIds:\n" + string.Join('\n', outside));
    }
}
