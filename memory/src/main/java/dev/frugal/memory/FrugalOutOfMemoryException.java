package dev.frugal.memory;

import java.util.List;

/**
 * A request the caching allocator could not serve, even after freeing its cache and retrying.
 * Unchecked, like {@link OutOfMemoryError}, but an ordinary exception: the run can catch it, lower
 * its batch size and go on. The message says how much was asked for and where the memory went.
 */
public final class FrugalOutOfMemoryException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final long requestedBytes;
    private final long memoryLimit;
    private final long reservedBytes;
    private final long allocatedBytes;
    private final long largestFreeBlock;
    private final transient List<TagUsage> largestTags;

    FrugalOutOfMemoryException(String message, long requestedBytes, long memoryLimit, long reservedBytes,
            long allocatedBytes, long largestFreeBlock, List<TagUsage> largestTags, Throwable cause) {
        super(message, cause);
        this.requestedBytes = requestedBytes;
        this.memoryLimit = memoryLimit;
        this.reservedBytes = reservedBytes;
        this.allocatedBytes = allocatedBytes;
        this.largestFreeBlock = largestFreeBlock;
        this.largestTags = List.copyOf(largestTags);
    }

    /** @return the bytes the failed call asked for */
    public long requestedBytes() {
        return requestedBytes;
    }

    /** @return the allocator's memory limit ({@link Long#MAX_VALUE} when none) */
    public long memoryLimit() {
        return memoryLimit;
    }

    /** @return bytes of raw segments held when the request failed (after freeing the cache) */
    public long reservedBytes() {
        return reservedBytes;
    }

    /** @return bytes held by live allocations when the request failed */
    public long allocatedBytes() {
        return allocatedBytes;
    }

    /** @return the largest cached block, which was too small (or on another stream) */
    public long largestFreeBlock() {
        return largestFreeBlock;
    }

    /** @return the tags holding the most live memory, largest first */
    public List<TagUsage> largestTags() {
        return largestTags;
    }
}
