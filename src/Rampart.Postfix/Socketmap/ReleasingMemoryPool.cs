using System.Buffers;
using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Microsoft.AspNetCore.Connections;

namespace Rampart.Postfix.Socketmap;

/// <summary>
/// The buffers Kestrel's socket transport reads into and writes from, for the daemon: 4 KiB blocks, each one memory page
/// of a pinned array (Kestrel's sends need array-backed memory). Kestrel's own pool keeps every block it ever handed
/// out (it gives back 5 % every 10 s, and even then a freed pinned block is a hole in a heap region that is never
/// compacted), so a burst of connections left its memory behind. Here, once <see cref="RetainedBlocks"/> free blocks
/// wait for reuse, each further block that comes back has its page returned to the system at once
/// (<c>madvise(MADV_DONTNEED)</c>: the array stays, its page is dropped and reads as zeros when next touched), so the
/// daemon's resident memory falls back when the connections close. The objects those connections left on the
/// garbage-collected heap need a collection to go: once <see cref="CollectAfterBytes"/> of pages have been returned,
/// one compacting collection that also returns the heap's free memory runs <see cref="CollectDelay"/> later (so after
/// the burst), at most once per <see cref="CollectInterval"/>. Steady traffic never returns pages, so never triggers it
/// (docs/benchmarks.md "Connections that do not read").
/// </summary>
internal sealed unsafe partial class ReleasingMemoryPool : MemoryPool<byte>
{
    public const int BlockSize = 4096;

    /// <summary>Free blocks kept resident for reuse: the steady work of a few hundred connections (4 MiB).</summary>
    public const int RetainedBlocks = 1024;

    /// <summary>Pages returned, since the last collection, that make one worthwhile.</summary>
    public const long CollectAfterBytes = 4L * 1024 * 1024;

    public static readonly TimeSpan CollectDelay = TimeSpan.FromSeconds(2);

    public static readonly TimeSpan CollectInterval = TimeSpan.FromSeconds(10);

    private const int SlabBlocks = 64; // allocated 256 KiB at a time, page-aligned
    private const int MadvDontNeed = 4;

    private readonly ConcurrentQueue<Block> _resident = new();
    private readonly ConcurrentQueue<Block> _released = new();
    private readonly List<byte[]> _slabs = [];
    private readonly TimeProvider _time;
    private long _uncollectedBytes;
    private long _lastCollect = long.MinValue;
    private ITimer? _collect;
    private int _residentCount;
    private long _releasedBytes;
    private int _outstanding;
    private bool _disposed;

    public ReleasingMemoryPool(TimeProvider time) => _time = time;

    public override int MaxBufferSize => BlockSize;

    /// <summary>Collections this pool has asked for.</summary>
    public int Collections { get; private set; }

    /// <summary>Blocks handed out and not yet returned.</summary>
    public int Outstanding => Volatile.Read(ref _outstanding);

    /// <summary>Free blocks whose pages are still resident.</summary>
    public int ResidentFree => Volatile.Read(ref _residentCount);

    /// <summary>Bytes whose pages were given back to the system so far.</summary>
    public long ReleasedBytes => Interlocked.Read(ref _releasedBytes);

    public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(minBufferSize, BlockSize);
        ObjectDisposedException.ThrowIf(_disposed, this);
        Interlocked.Increment(ref _outstanding);
        if (_resident.TryDequeue(out var block))
        {
            Interlocked.Decrement(ref _residentCount);
            return block;
        }
        return _released.TryDequeue(out block) ? block : Grow();
    }

    private Block Grow()
    {
        lock (_slabs)
        {
            if (_released.TryDequeue(out var ready))
            {
                return ready;
            }
            // One pinned array per slab, a page longer than its blocks so they can start on a page boundary.
            var slab = GC.AllocateUninitializedArray<byte>((SlabBlocks + 1) * BlockSize, pinned: true);
            _slabs.Add(slab);
            var start = (byte*)System.Runtime.CompilerServices.Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(slab));
            int first = (int)((BlockSize - ((nuint)start % BlockSize)) % BlockSize);
            // The blocks' pages are not touched yet, so not resident: all but one start among the released ones.
            for (int i = 1; i < SlabBlocks; i++)
            {
                _released.Enqueue(new Block(this, slab, first + (i * BlockSize), start));
            }
            return new Block(this, slab, first, start);
        }
    }

    private void Return(Block block)
    {
        Interlocked.Decrement(ref _outstanding);
        if (Interlocked.Increment(ref _residentCount) <= RetainedBlocks)
        {
            _resident.Enqueue(block);
            return;
        }
        Interlocked.Decrement(ref _residentCount);
        if (OperatingSystem.IsLinux() && Madvise(block.Pointer, BlockSize, MadvDontNeed) == 0)
        {
            Interlocked.Add(ref _releasedBytes, BlockSize);
            if (Interlocked.Add(ref _uncollectedBytes, BlockSize) >= CollectAfterBytes)
            {
                ScheduleCollect();
            }
        }
        _released.Enqueue(block);
    }

    private void ScheduleCollect()
    {
        lock (_slabs)
        {
            if (_collect is not null || _disposed)
            {
                return;
            }
            var sinceLast = _lastCollect == long.MinValue ? CollectInterval : _time.GetElapsedTime(_lastCollect);
            var due = CollectDelay > CollectInterval - sinceLast ? CollectDelay : CollectInterval - sinceLast;
            _collect = _time.CreateTimer(static state => ((ReleasingMemoryPool)state!).Collect(), this, due, Timeout.InfiniteTimeSpan);
        }
    }

    private void Collect()
    {
        lock (_slabs)
        {
            _collect?.Dispose();
            _collect = null;
            if (_disposed)
            {
                return;
            }
            _lastCollect = _time.GetTimestamp();
            Interlocked.Exchange(ref _uncollectedBytes, 0);
            Collections++;
        }
        // Blocking and compacting, and the heap's free memory is given back: one pause of tens of milliseconds after a
        // burst of connections, instead of their garbage staying resident until the next natural full collection.
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
    }

    protected override void Dispose(bool disposing)
    {
        lock (_slabs)
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            _collect?.Dispose();
            _collect = null;
            _slabs.Clear(); // blocks still out keep their own slab alive
            _resident.Clear();
            _released.Clear();
        }
    }

    [LibraryImport("libc", EntryPoint = "madvise")]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static partial int Madvise(byte* address, nuint length, int advice);

    /// <summary>One page of a pinned array; disposing it returns it to the pool.</summary>
    private sealed class Block(ReleasingMemoryPool pool, byte[] slab, int offset, byte* slabStart) : IMemoryOwner<byte>
    {
        public Memory<byte> Memory { get; } = MemoryMarshal.CreateFromPinnedArray(slab, offset, BlockSize);

        public byte* Pointer { get; } = slabStart + offset;

        public void Dispose() => pool.Return(this);
    }
}

/// <summary>Gives Kestrel's socket transport <see cref="ReleasingMemoryPool"/>s (registered by UseSocketmapTransport).</summary>
internal sealed class ReleasingMemoryPoolFactory(TimeProvider time) : IMemoryPoolFactory<byte>
{
    public MemoryPool<byte> Create(MemoryPoolOptions? options = null) => new ReleasingMemoryPool(time);
}
