using System.Buffers;
using System.Text;
using Rampart.Postfix.Socketmap;

namespace Rampart.Fuzz;

/// <summary>
/// The bytes a socketmap client sends on one connection. Contract: framing either yields frames of at most the
/// request limit or throws <see cref="NetstringFormatException"/> (nothing else); the same bytes split across buffer
/// segments give the same frames and the same error; every frame written back with <see cref="Netstring.Write"/> reads
/// back as itself; a request parses into a non-empty map name without spaces and a non-empty key that join back into
/// the payload; key normalisation never throws and is idempotent.
/// </summary>
internal static class SocketmapTarget
{
    private const int MaxRequestBytes = 16 * 1024; // SocketmapOptions.MaxRequestBytes' default

    public static void Run(byte[] input)
    {
        var whole = Frames(new ReadOnlySequence<byte>(input));
        var segmented = Frames(Segmented(input, 1 + (input.Length == 0 ? 0 : input[0] % 7)));
        Contract.Holds(whole.Frames.Count == segmented.Frames.Count && whole.Error == segmented.Error
            && whole.Frames.Zip(segmented.Frames).All(p => p.First.AsSpan().SequenceEqual(p.Second)),
            $"framing differs across segments: {whole.Frames.Count} frames / '{whole.Error}' vs {segmented.Frames.Count} / '{segmented.Error}'");

        foreach (var frame in whole.Frames)
        {
            Contract.Holds(frame.Length <= MaxRequestBytes, $"a {frame.Length}-byte frame passed the {MaxRequestBytes}-byte limit");
            RoundTrip(frame);
            Request(frame);
        }
    }

    private static (List<byte[]> Frames, string? Error) Frames(ReadOnlySequence<byte> buffer)
    {
        var frames = new List<byte[]>();
        try
        {
            while (Netstring.TryRead(ref buffer, MaxRequestBytes, out var frame))
            {
                frames.Add(frame.ToArray());
            }
            return (frames, null);
        }
        catch (NetstringFormatException ex)
        {
            Contract.OneLine(ex.Message, "the framing error");
            return (frames, $"{ex.Offset}: {ex.Message}");
        }
    }

    private static void RoundTrip(byte[] frame)
    {
        var written = new ArrayBufferWriter<byte>();
        Netstring.Write(written, frame);
        var again = new ReadOnlySequence<byte>(written.WrittenMemory);
        Contract.Holds(Netstring.TryRead(ref again, MaxRequestBytes, out var payload) && again.IsEmpty && payload.ToArray().AsSpan().SequenceEqual(frame),
            "a frame written by Netstring.Write does not read back as itself");
    }

    private static void Request(byte[] frame)
    {
        var sequence = new ReadOnlySequence<byte>(frame);
        if (!SocketmapRequest.TryParse(sequence, out var request, out var error))
        {
            Contract.OneLine(error, "the request error");
            Contract.Bounded(error, frame.Length, "the request error");
            return;
        }
        Contract.Holds(request.MapName.Length > 0 && !request.MapName.Contains(' ', StringComparison.Ordinal) && request.Key.Length > 0,
            $"request split into map '{request.MapName}' and key '{request.Key}'");
        Contract.Holds($"{request.MapName} {request.Key}" == Encoding.UTF8.GetString(frame), "map name and key do not join back into the payload");

        var kind = SocketmapKey.Normalize(request.Key, out var domain);
        if (kind == SocketmapKeyKind.Domain)
        {
            var name = domain.Value;
            Contract.Holds(name is { Length: > 0 } && System.Text.Ascii.IsValid(name) && !name.EndsWith('.') && !name.Any(char.IsAsciiLetterUpper),
                $"key '{request.Key}' normalised to '{domain}', not a lower-case A-label name");
            Contract.Holds(SocketmapKey.Normalize(name, out var again) == SocketmapKeyKind.Domain && again == domain,
                $"normalising '{domain}' again gives '{again}'");
        }
        else
        {
            Contract.Holds(domain == default, $"key '{request.Key}' is {kind} but still names a domain");
        }
    }

    /// <summary>The input as a sequence of segments of <paramref name="size"/> bytes, as a socket's reads deliver it.</summary>
    private static ReadOnlySequence<byte> Segmented(byte[] input, int size)
    {
        if (input.Length <= size)
        {
            return new ReadOnlySequence<byte>(input);
        }
        var first = new Segment(input.AsMemory(0, size), 0);
        var last = first;
        for (var offset = size; offset < input.Length; offset += size)
        {
            last = last.Append(input.AsMemory(offset, Math.Min(size, input.Length - offset)));
        }
        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
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
