package dev.frugal.memory;

/**
 * The size rules of the caching allocator, the same as PyTorch's CUDACachingAllocator so that its
 * memory behaviour (and its fragmentation) can be reasoned about with the same intuition.
 */
public final class BlockSizes {

    /** Every block is a multiple of this many bytes: keeps blocks aligned and limits tiny slivers. */
    public static final long MIN_BLOCK_SIZE = 512;
    /** Requests up to this size are small and are served from the small pool. */
    public static final long SMALL_SIZE = 1L << 20;
    /** Small requests are packed into segments of this size. */
    public static final long SMALL_BUFFER = 2L << 20;
    /** Large requests below {@link #MIN_LARGE_ALLOC} get a segment of this size, to be shared. */
    public static final long LARGE_BUFFER = 20L << 20;
    /** Large requests from this size up get their own segment, rounded up to {@link #ROUND_LARGE}. */
    public static final long MIN_LARGE_ALLOC = 10L << 20;
    /** Rounding of segments for requests of {@link #MIN_LARGE_ALLOC} and more. */
    public static final long ROUND_LARGE = 2L << 20;
    /** Largest request accepted; keeps every rounding below free of overflow. */
    public static final long MAX_REQUEST = Long.MAX_VALUE - ROUND_LARGE - MIN_BLOCK_SIZE;

    private BlockSizes() {
    }

    /**
     * @param requestedBytes the caller's request, {@code 0 <= requestedBytes <= MAX_REQUEST}
     * @return the block size: the request rounded up to a multiple of {@link #MIN_BLOCK_SIZE}, at
     *     least one {@code MIN_BLOCK_SIZE}
     */
    public static long roundRequest(long requestedBytes) {
        if (requestedBytes < MIN_BLOCK_SIZE) {
            return MIN_BLOCK_SIZE;
        }
        return roundUp(requestedBytes, MIN_BLOCK_SIZE);
    }

    /** @return whether a block of {@code blockSize} bytes belongs in the small pool */
    public static boolean isSmall(long blockSize) {
        return blockSize <= SMALL_SIZE;
    }

    /**
     * @param blockSize a rounded block size
     * @return the size of the raw segment to allocate when no cached block fits
     */
    public static long segmentSize(long blockSize) {
        if (blockSize <= SMALL_SIZE) {
            return SMALL_BUFFER;
        }
        if (blockSize < MIN_LARGE_ALLOC) {
            return LARGE_BUFFER;
        }
        return roundUp(blockSize, ROUND_LARGE);
    }

    /**
     * Whether a free block of {@code blockSize} serving a request of {@code requestSize} should be
     * split. Small-pool remainders are kept from one minimum block up; large-pool remainders only
     * when they are themselves large, because a small remainder in the large pool could only ever
     * serve another large request and would mostly fragment it.
     */
    public static boolean shouldSplit(long blockSize, long requestSize, boolean smallPool) {
        long remaining = blockSize - requestSize;
        return smallPool ? remaining >= MIN_BLOCK_SIZE : remaining > SMALL_SIZE;
    }

    static long roundUp(long value, long multiple) {
        return (value + multiple - 1) / multiple * multiple;
    }
}
