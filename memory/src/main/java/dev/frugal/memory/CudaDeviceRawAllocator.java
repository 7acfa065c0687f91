package dev.frugal.memory;

import dev.frugal.cuda.driver.CudaContext;
import dev.frugal.cuda.driver.CudaDriver;

/**
 * CUDA device memory as a raw source: {@code cuMemAlloc_v2} / {@code cuMemFree_v2} in one primary
 * context. A thin adapter: all caching, splitting and accounting lives in {@link CachingAllocator},
 * which is tested on host memory; only these two driver calls are specific to the GPU.
 *
 * <p>The context is made current before each call, because the current context is per OS thread
 * and the allocator may be called from any thread.
 */
public final class CudaDeviceRawAllocator extends AbstractCudaRawAllocator {

    /** @param context the primary context whose device the memory lives on; not closed by this source */
    public CudaDeviceRawAllocator(CudaContext context) {
        super(context);
    }

    @Override
    RawSegment driverAllocate(long bytes) {
        return new RawSegment(CudaDriver.memAlloc(bytes), bytes, null);
    }

    @Override
    void driverFree(RawSegment segment) {
        CudaDriver.memFree(segment.address());
    }

    @Override
    String segmentKind() {
        return "device segment";
    }

    @Override
    public boolean isHostAccessible() {
        return false;
    }

    @Override
    public String describe() {
        return "CUDA device " + context().device() + " (cuMemAlloc)";
    }
}
