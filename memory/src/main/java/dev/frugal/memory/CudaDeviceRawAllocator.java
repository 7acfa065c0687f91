package dev.frugal.memory;

import dev.frugal.cuda.CudaOutOfMemoryException;
import dev.frugal.cuda.driver.CudaContext;
import dev.frugal.cuda.driver.CudaDriver;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;

/**
 * CUDA device memory as a raw source: {@code cuMemAlloc_v2} / {@code cuMemFree_v2} in one primary
 * context. A thin adapter: all caching, splitting and accounting lives in {@link CachingAllocator},
 * which is tested on host memory; only these two driver calls are specific to the GPU.
 *
 * <p>The context is made current before each call, because the current context is per OS thread
 * and the allocator may be called from any thread.
 */
public final class CudaDeviceRawAllocator implements RawAllocator {

    private final CudaContext context;
    private final Map<Long, RawSegment> live = new HashMap<>();
    private boolean closed;

    /** @param context the primary context whose device the memory lives on; not closed by this source */
    public CudaDeviceRawAllocator(CudaContext context) {
        this.context = Objects.requireNonNull(context, "context");
    }

    @Override
    public synchronized RawSegment allocate(long bytes) throws RawOutOfMemoryException {
        if (closed) {
            throw new IllegalStateException(describe() + " is closed");
        }
        context.makeCurrent();
        long pointer;
        try {
            pointer = CudaDriver.memAlloc(bytes);
        } catch (CudaOutOfMemoryException e) {
            throw new RawOutOfMemoryException(bytes, e.getMessage(), e);
        }
        RawSegment segment = new RawSegment(pointer, bytes, null);
        live.put(pointer, segment);
        return segment;
    }

    @Override
    public synchronized void free(RawSegment segment) {
        if (live.remove(segment.address()) == null) {
            throw new IllegalArgumentException("device segment at 0x" + Long.toHexString(segment.address())
                    + " was not allocated by " + describe() + " (or was already freed)");
        }
        context.makeCurrent();
        CudaDriver.memFree(segment.address());
    }

    @Override
    public boolean isHostAccessible() {
        return false;
    }

    @Override
    public String describe() {
        return "CUDA device " + context.device() + " (cuMemAlloc)";
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
            for (long pointer : live.keySet()) {
                CudaDriver.memFree(pointer);
            }
            live.clear();
        }
    }

    @Override
    public String toString() {
        return describe();
    }
}
