package dev.frugal.memory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Optional;

/**
 * Memory handed out by a {@link CachingAllocator}; {@link #close()} gives it back. Thread safe.
 *
 * <p>Every accessor checks that the allocation is still live (one volatile read), so a use after
 * free fails with an exception instead of reading memory that now belongs to someone else. In
 * debug mode the exception also says where the memory was freed, and host views handed out by
 * {@link #segment()} stop working at free time too.
 */
public final class Allocation implements AutoCloseable {

    /** The tag of allocations made without one. */
    public static final String UNTAGGED = "untagged";

    static final int LIVE = 0;
    static final int FREED = 1;
    static final int RELEASED_AT_CLOSE = 2;

    private final CachingAllocator owner;
    final Block block;
    private final long address;
    private final long size;
    private final long requestedSize;
    private final MemoryStream stream;
    private final String tag;
    private final long serial;
    /** Debug mode only: where this allocation was made. */
    final Throwable allocationSite;
    /** Debug mode only: scope of host views, closed at free so stale views fail. */
    final Arena debugScope;
    /** Debug mode only: where this allocation was freed; written under the allocator's lock. */
    Throwable freeSite;
    private volatile int state = LIVE;
    private MemorySegment hostView;

    Allocation(CachingAllocator owner, Block block, long requestedSize, MemoryStream stream, String tag,
            long serial, Throwable allocationSite, Arena debugScope) {
        this.owner = owner;
        this.block = block;
        this.address = block.address;
        this.size = block.size;
        this.requestedSize = requestedSize;
        this.stream = stream;
        this.tag = tag == null ? UNTAGGED : tag;
        this.serial = serial;
        this.allocationSite = allocationSite;
        this.debugScope = debugScope;
    }

    /** @return the first byte's address (a device pointer for device memory) */
    public long address() {
        checkLive("address()");
        return address;
    }

    /** @return the usable size in bytes: the request rounded up to the allocator's block size */
    public long size() {
        return size;
    }

    /** @return the size the caller asked for */
    public long requestedSize() {
        return requestedSize;
    }

    /** @return the stream the allocation was made on (and on which it is reused at once after free) */
    public MemoryStream stream() {
        return stream;
    }

    /** @return the tag given at allocation, or {@link #UNTAGGED} */
    public String tag() {
        return tag;
    }

    /** @return the allocator that made this allocation */
    public CachingAllocator allocator() {
        return owner;
    }

    /** @return whether the allocation has not been freed (nor released by closing its allocator) */
    public boolean isLive() {
        return state == LIVE;
    }

    /**
     * @return a host view of the {@linkplain #requestedSize() requested} bytes, so out-of-bounds
     *     writes past the request fail
     * @throws UnsupportedOperationException if the memory is device memory
     */
    public MemorySegment segment() {
        checkLive("segment()");
        MemorySegment view = hostView;
        if (view == null) {
            RawSegment raw = block.segment.raw;
            if (!raw.isHostAccessible()) {
                throw new UnsupportedOperationException(this + " is device memory from "
                        + owner.rawDescription() + "; it has no host view (copy it to the host first)");
            }
            view = raw.hostMemory().asSlice(address - raw.address(), requestedSize);
            if (debugScope != null) {
                view = view.reinterpret(debugScope, null);
            }
            hostView = view;
        }
        return view;
    }

    /** @return in debug mode, a throwable whose stack trace shows where this allocation was made */
    public Optional<Throwable> allocationSite() {
        return Optional.ofNullable(allocationSite);
    }

    /**
     * Frees the allocation: its block is reusable at once on its stream, or after the events of
     * streams given to {@link CachingAllocator#recordStream} complete.
     *
     * @throws IllegalStateException on a second free
     */
    @Override
    public void close() {
        owner.free(this);
    }

    int state() {
        return state;
    }

    void setState(int newState) {
        state = newState;
    }

    long serial() {
        return serial;
    }

    private void checkLive(String use) {
        if (state != LIVE) {
            throw owner.misuse(this, "used after free (" + use + ")");
        }
    }

    @Override
    public String toString() {
        return "allocation #" + serial + " [" + tag + ", " + ByteFormat.format(requestedSize) + " requested, "
                + ByteFormat.format(size) + " block at 0x" + Long.toHexString(address) + ", " + stream + "]";
    }
}
