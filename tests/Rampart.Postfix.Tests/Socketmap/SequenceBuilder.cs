using System.Buffers;

namespace Rampart.Postfix.Tests.Socketmap;

/// <summary>Builds multi-segment <see cref="ReadOnlySequence{T}"/>s, as a pipe hands them over after several reads.</summary>
internal static class SequenceBuilder
{
    /// <summary>Cuts <paramref name="bytes"/> at the given offsets (any order, out-of-range ones ignored).</summary>
    public static ReadOnlySequence<byte> Split(byte[] bytes, IEnumerable<int> cuts)
    {
        int[] points = [.. cuts.Where(c => c > 0 && c < bytes.Length).Distinct().Order()];
        if (points.Length == 0)
        {
            return new ReadOnlySequence<byte>(bytes);
        }

        var first = new Segment(bytes.AsMemory(0, points[0]), 0);
        var last = first;
        for (int i = 0; i < points.Length; i++)
        {
            int end = i + 1 < points.Length ? points[i + 1] : bytes.Length;
            last = last.Append(bytes.AsMemory(points[i], end - points[i]));
        }

        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    public static ReadOnlySequence<byte> ByteByByte(byte[] bytes) => Split(bytes, Enumerable.Range(1, bytes.Length));

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            // Copy so a read past the slice cannot see neighbouring bytes of the source array.
            Memory = memory.ToArray();
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
