package dev.frugal.memory;

/**
 * An ordered queue of work that uses memory (a CUDA stream; on a CPU, the calling thread).
 *
 * <p>The allocator keeps separate pools per stream: a block freed on the stream it was allocated
 * on may be handed out again at once, because later work on that stream runs after the work that
 * used it. Use on other streams must be declared with {@link CachingAllocator#recordStream}.
 */
public interface MemoryStream {

    /**
     * @return an identifier unique among the streams used with one allocator; pools are keyed and
     *     ordered by it
     */
    long id();

    /** @return a new event that completes when all work queued so far on this stream has finished */
    StreamEvent recordEvent();
}
