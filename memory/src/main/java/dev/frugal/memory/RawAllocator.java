package dev.frugal.memory;

/**
 * The source of memory under a {@link CachingAllocator}: {@code cuMemAlloc} on a GPU
 * ({@link CudaDeviceRawAllocator}), off-heap arenas on a CPU ({@link HostRawAllocator}).
 *
 * <p>Raw calls are slow (a device synchronisation for {@code cuMemFree}, an {@code mmap} for big
 * host arenas), which is why the caching allocator calls them rarely and keeps what it gets.
 * Implementations must be thread safe; the caching allocator calls them under its own lock.
 */
public interface RawAllocator extends AutoCloseable {

    /**
     * Obtains a new segment of exactly {@code bytes} bytes.
     *
     * @param bytes the size, positive
     * @return the new segment
     * @throws RawOutOfMemoryException when the source has no room for it
     */
    RawSegment allocate(long bytes) throws RawOutOfMemoryException;

    /**
     * Returns a segment obtained from {@link #allocate(long)} to the source.
     *
     * @param segment the segment; freeing one this source did not hand out is an
     *     {@link IllegalArgumentException}
     */
    void free(RawSegment segment);

    /** @return whether segments of this source have a {@link RawSegment#hostMemory() host view} */
    boolean isHostAccessible();

    /** @return a short description for messages, e.g. {@code "CUDA device 0 (cuMemAlloc)"} */
    String describe();

    /** Frees every segment still held by this source. */
    @Override
    void close();
}
