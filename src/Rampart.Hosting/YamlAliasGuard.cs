using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Rampart.Hosting;

/// <summary>
/// Passes a YAML parser's events through, refusing (with a <see cref="YamlException"/> at the alias) an alias that
/// comes before its anchor or sits inside the node its anchor names. YAML allows neither to build a tree (an alias
/// follows its anchor's complete node, YAML 1.2 §3.2.2.2), and YamlDotNet's <c>YamlStream</c> accepts both: a forward
/// alias used twice as a mapping key (<c>a: {*x, *x}</c> then <c>b: &amp;x 1</c>) recursed until the process died of a
/// stack overflow, which no catch can stop (found by fuzz/run in both config readers).
/// </summary>
public sealed class YamlAliasGuard(IParser inner) : IParser
{
    private readonly HashSet<string> _complete = new(StringComparer.Ordinal);
    private readonly Stack<string?> _open = new();

    public ParsingEvent? Current => inner.Current;

    public bool MoveNext()
    {
        if (!inner.MoveNext())
        {
            return false;
        }
        switch (inner.Current)
        {
            case AnchorAlias alias when !_complete.Contains(alias.Value.Value):
                throw new YamlException(alias.Start, alias.End, _open.Contains(alias.Value.Value)
                    ? $"alias *{alias.Value.Value} is inside the node its anchor &{alias.Value.Value} names (a structure that contains itself)"
                    : $"alias *{alias.Value.Value} comes before any anchor &{alias.Value.Value} (an alias must follow its anchor)");
            case NodeEvent { Anchor.IsEmpty: false } node and (SequenceStart or MappingStart):
                _complete.Remove(node.Anchor.Value); // being (re)defined: not usable until its node ends
                _open.Push(node.Anchor.Value);
                break;
            case SequenceStart or MappingStart:
                _open.Push(null);
                break;
            case SequenceEnd or MappingEnd when _open.Count > 0:
                if (_open.Pop() is { } anchor)
                {
                    _complete.Add(anchor);
                }
                break;
            case Scalar { Anchor.IsEmpty: false } scalar:
                _complete.Add(scalar.Anchor.Value);
                break;
        }
        return true;
    }
}
