package dev.frugal.memory;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Reusable page-locked host buffers for asynchronous host-to-device (and back) copies, like
 * PyTorch's CachingHostAllocator. Pinning memory is slow (the driver maps and locks pages), so
 * buffers are kept and lent again; a released buffer is lent again only after the event of the
 * copy that used it has completed.
 *
 * <p>Buffers come in power-of-two size classes from {@link #MIN_BUFFER} up, so a buffer serves
 * every request of its class. The source is {@link CudaPinnedHostRawAllocator} on a GPU; any
 * host-accessible {@link RawAllocator} works, which is how the pool is tested without one.
 * Thread safe.
 */
public final class PinnedStagingPool implements AutoCloseable {

    /** Smallest buffer: a page, so tiny copies do not each pin their own. */
    public static final long MIN_BUFFER = 4096;
    /** Largest request: its power-of-two size class must fit a long. */
    public static final long MAX_REQUEST = 1L << 62;

    private static final System.Logger LOG = System.getLogger(PinnedStagingPool.class.getName());

    private record Waiting(StagingBuffer buffer, StreamEvent event) {
    }

    private final RawAllocator source;
    private final Map<Long, ArrayDeque<RawSegment>> idleBySize = new HashMap<>();
    private final ArrayDeque<Waiting> waiting = new ArrayDeque<>();
    private final Map<StagingBuffer, Boolean> lent = new IdentityHashMap<>();
    private long heldBytes;
    private long lentBytes;
    private long idleBuffers;
    private long acquisitions;
    private long reuses;
    private long rawAllocations;
    private long retries;
    private boolean closed;

    /**
     * @param source where pinned buffers come from; it must be host accessible, and stays open
     *     when the pool closes
     */
    public PinnedStagingPool(RawAllocator source) {
        this.source = Objects.requireNonNull(source, "source");
        if (!source.isHostAccessible()) {
            throw new IllegalArgumentException("a staging pool needs host-accessible memory, but "
                    + source.describe() + " is not");
        }
    }

    /**
     * Lends a buffer of at least {@code bytes}.
     *
     * @param bytes the size, {@code 1 <= bytes <= MAX_REQUEST}
     * @throws FrugalOutOfMemoryException when no pinned memory can be had even after freeing idle buffers
     */
    public synchronized StagingBuffer acquire(long bytes) {
        if (bytes <= 0 || bytes > MAX_REQUEST) {
            throw new IllegalArgumentException("staging buffer size must be between 1 and " + MAX_REQUEST
                    + " bytes, got " + bytes);
        }
        if (closed) {
            throw new IllegalStateException("pinned staging pool over " + source.describe() + " is closed");
        }
        collectCompleted();
        long sizeClass = sizeClass(bytes);
        ArrayDeque<RawSegment> idle = idleBySize.get(sizeClass);
        RawSegment raw;
        if (idle != null && !idle.isEmpty()) {
            raw = idle.pop();
            idleBuffers--;
            reuses++;
        } else {
            raw = allocateOrThrow(bytes, sizeClass);
        }
        StagingBuffer buffer = new StagingBuffer(this, raw, bytes);
        lent.put(buffer, Boolean.TRUE);
        lentBytes += raw.size();
        acquisitions++;
        return buffer;
    }

    /** Frees every idle buffer back to the source (buffers waiting for events are kept). */
    public synchronized void trim() {
        collectCompleted();
        freeIdle();
    }

    /** @return a snapshot of the statistics */
    public synchronized StagingStats snapshot() {
        return new StagingStats(heldBytes, lentBytes, waiting.size(), idleBuffers, acquisitions, reuses,
                rawAllocations, retries);
    }

    /**
     * Waits for pending copies and frees every buffer. Buffers still lent are released too (their
     * memory is gone afterwards) and logged as leaks. Closing twice does nothing.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        while (!waiting.isEmpty()) {
            Waiting w = waiting.poll();
            w.event().synchronize();
            w.event().release();
            makeIdle(w.buffer().raw);
        }
        freeIdle();
        if (!lent.isEmpty()) {
            List<StagingBuffer> leaks = new ArrayList<>(lent.keySet());
            for (StagingBuffer leak : leaks) {
                leak.markReleased();
                source.free(leak.raw);
                heldBytes -= leak.raw.size();
            }
            lent.clear();
            lentBytes = 0;
            LOG.log(System.Logger.Level.WARNING, "pinned staging pool closed with " + leaks.size()
                    + " buffers still lent: " + leaks);
        }
    }

    synchronized void release(StagingBuffer buffer, StreamEvent copyDone) {
        if (lent.remove(buffer) == null || !buffer.markReleased()) {
            throw new IllegalStateException(buffer + " is not lent by this pool: released twice, or after the pool closed");
        }
        lentBytes -= buffer.raw.size();
        if (copyDone == null || copyDone.isComplete()) {
            if (copyDone != null) {
                copyDone.release();
            }
            makeIdle(buffer.raw);
        } else {
            waiting.add(new Waiting(buffer, copyDone));
        }
    }

    static long sizeClass(long bytes) {
        long atLeast = Math.max(bytes, MIN_BUFFER);
        long power = Long.highestOneBit(atLeast);
        return power == atLeast ? power : power << 1;
    }

    private RawSegment allocateOrThrow(long bytes, long sizeClass) {
        RawOutOfMemoryException failure;
        try {
            return allocate(sizeClass);
        } catch (RawOutOfMemoryException first) {
            failure = first;
        }
        // Idle buffers of other size classes may be what stands in the way.
        freeIdle();
        retries++;
        try {
            return allocate(sizeClass);
        } catch (RawOutOfMemoryException second) {
            failure = second;
        }
        throw new FrugalOutOfMemoryException("Frugal out of pinned memory: tried to stage " + ByteFormat.exact(bytes)
                + " (a buffer of " + ByteFormat.exact(sizeClass) + ") from " + source.describe() + "\n"
                + "  held by the pool:  " + ByteFormat.exact(heldBytes) + "\n"
                + "  lent out:          " + ByteFormat.exact(lentBytes) + "\n"
                + "  waiting on copies: " + waiting.size() + " buffers\n"
                + "  refused because:   " + failure.getMessage(),
                bytes, AllocatorConfig.UNLIMITED, heldBytes, lentBytes, 0, List.of(), failure);
    }

    private RawSegment allocate(long sizeClass) throws RawOutOfMemoryException {
        RawSegment raw = source.allocate(sizeClass);
        rawAllocations++;
        heldBytes += raw.size();
        return raw;
    }

    private void collectCompleted() {
        for (Iterator<Waiting> it = waiting.iterator(); it.hasNext(); ) {
            Waiting w = it.next();
            if (w.event().isComplete()) {
                it.remove();
                w.event().release();
                makeIdle(w.buffer().raw);
            }
        }
    }

    private void makeIdle(RawSegment raw) {
        idleBySize.computeIfAbsent(raw.size(), s -> new ArrayDeque<>()).push(raw);
        idleBuffers++;
    }

    private void freeIdle() {
        for (ArrayDeque<RawSegment> idle : idleBySize.values()) {
            for (RawSegment raw : idle) {
                source.free(raw);
                heldBytes -= raw.size();
            }
            idle.clear();
        }
        idleBuffers = 0;
    }

    @Override
    public String toString() {
        return "pinned staging pool over " + source.describe() + ": " + snapshot();
    }
}
