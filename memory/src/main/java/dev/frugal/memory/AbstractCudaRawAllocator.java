package dev.frugal.memory;

import dev.frugal.cuda.CudaOutOfMemoryException;
import dev.frugal.cuda.driver.CudaContext;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;

/**
 * What the CUDA raw sources share: one context made current before every driver call (the current
 * context is per OS thread and the allocator may be called from any thread), a table of the live
 * segments, so that freeing a foreign or already freed segment fails here with a clear message
 * instead of inside the driver, and a {@link #close()} that frees whatever is left. Subclasses
 * supply only the two driver calls.
 */
abstract class AbstractCudaRawAllocator implements RawAllocator {

    private final CudaContext context;
    /** Keyed by address; the value is the segment as allocated, which is what the free call needs. */
    private final Map<Long, RawSegment> live = new HashMap<>();
    private boolean closed;

    /** @param context the context to make current for the driver calls; not closed by this source */
    AbstractCudaRawAllocator(CudaContext context) {
        this.context = Objects.requireNonNull(context, "context");
    }

    /** @return the context the driver calls run in, for {@link #describe()} */
    final CudaContext context() {
        return context;
    }

    /**
     * Allocates {@code bytes} with the driver; the context is already current.
     *
     * @throws CudaOutOfMemoryException when the driver has no room, reported as a
     *     {@link RawOutOfMemoryException}
     */
    abstract RawSegment driverAllocate(long bytes);

    /** Frees a segment {@link #driverAllocate} returned; the context is already current. */
    abstract void driverFree(RawSegment segment);

    /** @return what a segment of this source is called in messages, e.g. {@code "device segment"} */
    abstract String segmentKind();

    @Override
    public synchronized RawSegment allocate(long bytes) throws RawOutOfMemoryException {
        if (closed) {
            throw new IllegalStateException(describe() + " is closed");
        }
        context.makeCurrent();
        RawSegment segment;
        try {
            segment = driverAllocate(bytes);
        } catch (CudaOutOfMemoryException e) {
            throw new RawOutOfMemoryException(bytes, e.getMessage(), e);
        }
        live.put(segment.address(), segment);
        return segment;
    }

    @Override
    public synchronized void free(RawSegment segment) {
        // Free what was allocated, not what the caller passed: only the address has to match.
        RawSegment allocated = live.remove(segment.address());
        if (allocated == null) {
            throw new IllegalArgumentException(segmentKind() + " at 0x" + Long.toHexString(segment.address())
                    + " was not allocated by " + describe() + " (or was already freed)");
        }
        context.makeCurrent();
        driverFree(allocated);
    }

    /** Frees every segment still allocated; the caching allocator normally freed them already. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (!live.isEmpty()) {
            context.makeCurrent();
            for (RawSegment segment : live.values()) {
                driverFree(segment);
            }
            live.clear();
        }
    }

    @Override
    public String toString() {
        return describe();
    }
}
