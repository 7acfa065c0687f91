package dev.frugal.memory;

import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * A page-locked host buffer lent by a {@link PinnedStagingPool} for one asynchronous copy. Fill
 * it, enqueue the copy, then {@link #releaseAfter(StreamEvent)} with an event recorded after the
 * copy: the pool lends the buffer again only once that event has completed, so the copy never
 * reads bytes written for the next one.
 */
public final class StagingBuffer {

    private final PinnedStagingPool pool;
    final RawSegment raw;
    private final long requestedSize;
    private volatile boolean released;

    StagingBuffer(PinnedStagingPool pool, RawSegment raw, long requestedSize) {
        this.pool = pool;
        this.raw = raw;
        this.requestedSize = requestedSize;
    }

    /** @return a view of the requested bytes, to fill before (or read after) the copy */
    public MemorySegment segment() {
        checkNotReleased();
        return raw.hostMemory().asSlice(0, requestedSize);
    }

    /** @return the buffer's address, for the driver's async copy */
    public long address() {
        checkNotReleased();
        return raw.address();
    }

    /** @return the bytes asked for */
    public long requestedSize() {
        return requestedSize;
    }

    /** @return the buffer's real size (its size class), at least {@link #requestedSize()} */
    public long capacity() {
        return raw.size();
    }

    /**
     * Gives the buffer back; the pool reuses it once {@code copyDone} has completed.
     *
     * @param copyDone an event recorded on the copy's stream after the copy was enqueued
     * @throws IllegalStateException if the buffer was already released
     */
    public void releaseAfter(StreamEvent copyDone) {
        pool.release(this, Objects.requireNonNull(copyDone, "copyDone"));
    }

    /** Gives the buffer back for immediate reuse: only when no copy that uses it is still queued. */
    public void release() {
        pool.release(this, null);
    }

    boolean markReleased() {
        if (released) {
            return false;
        }
        released = true;
        return true;
    }

    private void checkNotReleased() {
        if (released) {
            throw new IllegalStateException(this + " used after it was released to its pool");
        }
    }

    @Override
    public String toString() {
        return "staging buffer [" + requestedSize + " of " + raw.size() + " bytes at 0x" + Long.toHexString(raw.address()) + "]";
    }
}
