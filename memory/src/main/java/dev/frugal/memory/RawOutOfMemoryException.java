package dev.frugal.memory;

/**
 * Thrown by a {@link RawAllocator} when its source of memory cannot satisfy a request.
 *
 * <p>Checked on purpose: a raw out-of-memory is an expected event that the
 * {@link CachingAllocator} handles (it frees its cache and retries once) before it reports a
 * {@link FrugalOutOfMemoryException} to the caller.
 */
public final class RawOutOfMemoryException extends Exception {
    private static final long serialVersionUID = 1L;

    private final long requestedBytes;

    /**
     * @param requestedBytes the size of the raw request that failed
     * @param message what the raw source reported, e.g. {@code CUDA_ERROR_OUT_OF_MEMORY}
     */
    public RawOutOfMemoryException(long requestedBytes, String message) {
        super(message);
        this.requestedBytes = requestedBytes;
    }

    /**
     * @param requestedBytes the size of the raw request that failed
     * @param message what the raw source reported
     * @param cause the underlying failure (e.g. the {@link OutOfMemoryError} of an off-heap arena)
     */
    public RawOutOfMemoryException(long requestedBytes, String message, Throwable cause) {
        super(message, cause);
        this.requestedBytes = requestedBytes;
    }

    /** @return the size of the raw request that failed, in bytes */
    public long requestedBytes() {
        return requestedBytes;
    }
}
