package dev.frugal.memory;

/**
 * A point in a {@link MemoryStream}'s work (a CUDA event). The caching allocator records one on
 * every other stream that used a block, and reuses the block only after all of them completed.
 */
public interface StreamEvent {

    /** @return whether all work queued on the stream before this event has finished (non-blocking) */
    boolean isComplete();

    /** Blocks until {@link #isComplete()}; used when the allocator must free everything (close, OOM). */
    void synchronize();

    /** Releases the event's resources (a {@code cuEventDestroy}); the allocator calls it once it is done. */
    default void release() {
    }
}
