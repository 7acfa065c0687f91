package dev.frugal.memory;

/**
 * Memory held outside a {@link CachingAllocator} but counted by it, against its limit and in its
 * statistics ({@link CachingAllocator#countExternal}), until this handle is closed.
 */
public final class ExternalMemory implements AutoCloseable {
    private final CachingAllocator allocator;
    private final long bytes;
    private final String tag;
    private boolean closed;

    ExternalMemory(CachingAllocator allocator, long bytes, String tag) {
        this.allocator = allocator;
        this.bytes = bytes;
        this.tag = tag;
    }

    /** The bytes counted. */
    public long bytes() {
        return bytes;
    }

    /** What the memory holds. */
    public String tag() {
        return tag;
    }

    /** Stops counting the memory; later calls do nothing. */
    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            allocator.releaseExternal(bytes);
        }
    }

    @Override
    public String toString() {
        return "external " + ByteFormat.exact(bytes) + " (" + tag + ")";
    }
}
