package dev.frugal.memory;

import dev.frugal.cuda.driver.CudaContext;
import dev.frugal.cuda.driver.CudaDriver;
import java.lang.foreign.MemorySegment;

/**
 * Page-locked host memory as a raw source ({@code cuMemHostAlloc} with
 * {@code CU_MEMHOSTALLOC_PORTABLE}, so every context may copy from it), for
 * {@link PinnedStagingPool}. A thin adapter over two driver calls.
 */
public final class CudaPinnedHostRawAllocator extends AbstractCudaRawAllocator {

    /** @param context a context to make current for the driver calls; not closed by this source */
    public CudaPinnedHostRawAllocator(CudaContext context) {
        super(context);
    }

    @Override
    RawSegment driverAllocate(long bytes) {
        MemorySegment pinned = CudaDriver.memHostAlloc(bytes, CudaDriver.MEMHOSTALLOC_PORTABLE);
        return new RawSegment(pinned.address(), bytes, pinned);
    }

    /** Frees through the host view, which is the segment {@code cuMemHostAlloc} returned. */
    @Override
    void driverFree(RawSegment segment) {
        CudaDriver.memFreeHost(segment.hostMemory());
    }

    @Override
    String segmentKind() {
        return "pinned segment";
    }

    @Override
    public boolean isHostAccessible() {
        return true;
    }

    @Override
    public String describe() {
        return "pinned host memory (cuMemHostAlloc, device " + context().device() + ")";
    }
}
