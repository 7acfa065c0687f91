package dev.frugal.memory;

import dev.frugal.cuda.CudaOutOfMemoryException;
import dev.frugal.cuda.driver.CudaContext;
import dev.frugal.cuda.driver.CudaDriver;
import java.lang.foreign.MemorySegment;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;

/**
 * Page-locked host memory as a raw source ({@code cuMemHostAlloc} with
 * {@code CU_MEMHOSTALLOC_PORTABLE}, so every context may copy from it), for
 * {@link PinnedStagingPool}. A thin adapter over two driver calls.
 */
public final class CudaPinnedHostRawAllocator implements RawAllocator {

    private final CudaContext context;
    private final Map<Long, MemorySegment> live = new HashMap<>();
    private boolean closed;

    /** @param context a context to make current for the driver calls; not closed by this source */
    public CudaPinnedHostRawAllocator(CudaContext context) {
        this.context = Objects.requireNonNull(context, "context");
    }

    @Override
    public synchronized RawSegment allocate(long bytes) throws RawOutOfMemoryException {
        if (closed) {
            throw new IllegalStateException(describe() + " is closed");
        }
        context.makeCurrent();
        MemorySegment pinned;
        try {
            pinned = CudaDriver.memHostAlloc(bytes, CudaDriver.MEMHOSTALLOC_PORTABLE);
        } catch (CudaOutOfMemoryException e) {
            throw new RawOutOfMemoryException(bytes, e.getMessage(), e);
        }
        live.put(pinned.address(), pinned);
        return new RawSegment(pinned.address(), bytes, pinned);
    }

    @Override
    public synchronized void free(RawSegment segment) {
        MemorySegment pinned = live.remove(segment.address());
        if (pinned == null) {
            throw new IllegalArgumentException("pinned segment at 0x" + Long.toHexString(segment.address())
                    + " was not allocated by " + describe() + " (or was already freed)");
        }
        context.makeCurrent();
        CudaDriver.memFreeHost(pinned);
    }

    @Override
    public boolean isHostAccessible() {
        return true;
    }

    @Override
    public String describe() {
        return "pinned host memory (cuMemHostAlloc, device " + context.device() + ")";
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (!live.isEmpty()) {
            context.makeCurrent();
            for (MemorySegment pinned : live.values()) {
                CudaDriver.memFreeHost(pinned);
            }
            live.clear();
        }
    }

    @Override
    public String toString() {
        return describe();
    }
}
