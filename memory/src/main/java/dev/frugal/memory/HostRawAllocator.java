package dev.frugal.memory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Map;

/**
 * Off-heap host memory as a raw source: one shared {@link Arena} per segment, so each segment can
 * be freed on its own and from any thread. With it the whole caching allocator runs, and is
 * tested, without a GPU.
 *
 * <p>An optional capacity makes the source run out like a device would, which is how tests drive
 * the allocator's free-cache-and-retry path.
 */
public final class HostRawAllocator implements RawAllocator {

    /** Alignment of every segment; at least what {@code cuMemAlloc} guarantees (256 bytes). */
    public static final long SEGMENT_ALIGNMENT = 512;

    private final long capacityBytes;
    private final Map<Long, Arena> arenas = new HashMap<>();
    private long usedBytes;
    private long allocations;
    private boolean closed;

    /** A source limited only by the machine's memory. */
    public HostRawAllocator() {
        this(Long.MAX_VALUE);
    }

    /**
     * @param capacityBytes the most bytes this source hands out at once, positive; a request beyond
     *     it throws {@link RawOutOfMemoryException}
     */
    public HostRawAllocator(long capacityBytes) {
        if (capacityBytes <= 0) {
            throw new IllegalArgumentException("capacityBytes must be positive, got " + capacityBytes);
        }
        this.capacityBytes = capacityBytes;
    }

    @Override
    public synchronized RawSegment allocate(long bytes) throws RawOutOfMemoryException {
        if (closed) {
            throw new IllegalStateException("host raw allocator is closed");
        }
        if (bytes <= 0) {
            throw new IllegalArgumentException("raw allocation size must be positive, got " + bytes);
        }
        if (bytes > capacityBytes - usedBytes) {
            throw new RawOutOfMemoryException(bytes, "host capacity exhausted: " + usedBytes + " of "
                    + capacityBytes + " bytes in use, " + bytes + " more requested");
        }
        Arena arena = Arena.ofShared();
        MemorySegment memory;
        try {
            memory = arena.allocate(bytes, SEGMENT_ALIGNMENT);
        } catch (OutOfMemoryError e) {
            arena.close();
            throw new RawOutOfMemoryException(bytes, "off-heap allocation of " + bytes + " bytes failed", e);
        }
        arenas.put(memory.address(), arena);
        usedBytes += bytes;
        allocations++;
        return new RawSegment(memory.address(), bytes, memory);
    }

    @Override
    public synchronized void free(RawSegment segment) {
        Arena arena = arenas.remove(segment.address());
        if (arena == null) {
            throw new IllegalArgumentException("raw segment at 0x" + Long.toHexString(segment.address())
                    + " was not allocated by this host raw allocator (or was already freed)");
        }
        usedBytes -= segment.size();
        arena.close();
    }

    @Override
    public boolean isHostAccessible() {
        return true;
    }

    /** @return bytes currently handed out */
    public synchronized long usedBytes() {
        return usedBytes;
    }

    /** @return the number of segments handed out since creation */
    public synchronized long allocationCount() {
        return allocations;
    }

    /** @return the configured capacity ({@link Long#MAX_VALUE} when unlimited) */
    public long capacityBytes() {
        return capacityBytes;
    }

    @Override
    public String describe() {
        return capacityBytes == Long.MAX_VALUE ? "host memory (off-heap arenas)"
                : "host memory (off-heap arenas, capacity " + capacityBytes + " bytes)";
    }

    @Override
    public synchronized void close() {
        closed = true;
        for (Arena arena : new ArrayList<>(arenas.values())) {
            arena.close();
        }
        arenas.clear();
        usedBytes = 0;
    }

    @Override
    public String toString() {
        return describe();
    }
}
