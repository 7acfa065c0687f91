package dev.frugal.memory;

import java.lang.foreign.Arena;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A caching allocator in the design of PyTorch's CUDACachingAllocator, over any
 * {@link RawAllocator}.
 *
 * <ul>
 *   <li>Requests are rounded to 512 bytes ({@link BlockSizes}). Requests up to 1 MiB are served
 *       from a small pool of 2 MiB segments; larger ones from a large pool of 20 MiB segments, or
 *       of their own size rounded to 2 MiB from 10 MiB up.</li>
 *   <li>A request takes the best-fitting cached block of its pool and stream (smallest, then
 *       lowest address), splitting off the rest when it is big enough to be useful. A freed block
 *       merges with free neighbours of its segment, so fragmentation heals.</li>
 *   <li>Pools are per stream: a block freed on its own stream is reusable at once. A block used
 *       on other streams ({@link #recordStream}) is reused only after events recorded on those
 *       streams at free time have completed.</li>
 *   <li>When the raw source (or the {@linkplain AllocatorConfig#memoryLimit() memory limit}) says
 *       no, every wholly unused cached segment is freed and the raw allocation retried once; then a
 *       {@link FrugalOutOfMemoryException} reports where the memory went.</li>
 * </ul>
 *
 * <p>Thread safe: one lock, held for bookkeeping only. Closing the allocator returns every
 * segment to the raw source but does not close the raw source (it may be shared).
 */
public final class CachingAllocator implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(CachingAllocator.class.getName());
    private static final int TAGS_IN_REPORT = 5;
    private static final byte POISON = (byte) 0xDB;

    private final RawAllocator raw;
    private final long memoryLimit;
    private final boolean debug;
    private final MemoryStream defaultStream;
    /** Segments of exactly one request ({@link AllocatorConfig#exactSegments()}). */
    private final boolean exactSegments;
    private final ReentrantLock lock = new ReentrantLock();
    private final BlockPool smallPool = new BlockPool();
    private final BlockPool largePool = new BlockPool();
    private final Set<Segment> segments = new LinkedHashSet<>();
    private final ArrayDeque<PendingFree> pendingFrees = new ArrayDeque<>();
    private boolean closed;

    private final PeakCounter allocated = new PeakCounter();
    private final PeakCounter requested = new PeakCounter();
    private final PeakCounter reserved = new PeakCounter();
    private final PeakCounter active = new PeakCounter();
    private final PeakCounter inactiveSplit = new PeakCounter();
    private final PeakCounter segmentCount = new PeakCounter();
    private long allocationCount;
    private long freeCount;
    private long cacheHits;
    private long rawAllocations;
    private long rawFrees;
    private long retries;
    private long outOfMemoryErrors;
    /** Bytes counted with {@link #countExternal} and not yet released. */
    private long externalBytes;

    /** An event a freed block waits for before it goes back to its pool. */
    private record PendingFree(StreamEvent event, Block block) {
    }

    /** @param raw the source of memory, with {@link AllocatorConfig#defaults()} */
    public CachingAllocator(RawAllocator raw) {
        this(raw, AllocatorConfig.defaults());
    }

    /**
     * @param raw the source of memory; it stays open when this allocator closes
     * @param config limit, debug mode and default stream
     */
    public CachingAllocator(RawAllocator raw, AllocatorConfig config) {
        this.raw = Objects.requireNonNull(raw, "raw");
        this.memoryLimit = config.memoryLimit();
        this.debug = config.debug();
        this.defaultStream = config.defaultStream();
        this.exactSegments = config.exactSegments();
    }

    /** Allocates {@code bytes} on the default stream, untagged. */
    public Allocation allocate(long bytes) {
        return allocate(bytes, defaultStream, null);
    }

    /** Allocates {@code bytes} on the default stream with a tag for reports, e.g. {@code "activations"}. */
    public Allocation allocate(long bytes, String tag) {
        return allocate(bytes, defaultStream, tag);
    }

    /**
     * Allocates memory.
     *
     * @param bytes the size, {@code 0 <= bytes <= BlockSizes.MAX_REQUEST}
     * @param stream the stream that will use the memory
     * @param tag a label for reports (e.g. {@code "param:fc1.weight"}), or null
     * @return the live allocation
     * @throws FrugalOutOfMemoryException when neither the cache nor the raw source can serve it
     * @throws IllegalStateException when the allocator is closed
     */
    public Allocation allocate(long bytes, MemoryStream stream, String tag) {
        if (bytes < 0 || bytes > BlockSizes.MAX_REQUEST) {
            throw new IllegalArgumentException("allocation size must be between 0 and " + BlockSizes.MAX_REQUEST
                    + " bytes, got " + bytes + (tag == null ? "" : " (tag " + tag + ")"));
        }
        Objects.requireNonNull(stream, "stream");
        long size = BlockSizes.roundRequest(bytes);
        boolean small = BlockSizes.isSmall(size);
        Throwable site = debug ? new Throwable("allocated here") : null;
        lock.lock();
        try {
            ensureOpen();
            if (!pendingFrees.isEmpty()) {
                processCompletedEvents();
            }
            BlockPool pool = small ? smallPool : largePool;
            Block block = pool.takeBestFit(stream.id(), size);
            if (block != null) {
                cacheHits++;
                if (block.isSplit()) {
                    inactiveSplit.add(-block.size);
                }
            } else {
                block = allocateSegmentOrThrow(bytes, size, small, stream, tag);
            }
            if (BlockSizes.shouldSplit(block.size, size, small)) {
                Block rest = new Block(block.segment, block.address + size, block.size - size);
                rest.prev = block;
                rest.next = block.next;
                if (block.next != null) {
                    block.next.prev = rest;
                }
                block.next = rest;
                block.size = size;
                pool.add(rest);
                inactiveSplit.add(rest.size);
            }
            block.allocated = true;
            Allocation allocation = new Allocation(this, block, bytes, stream, tag, ++allocationCount, site,
                    debug ? Arena.ofShared() : null);
            block.owner = allocation;
            allocated.add(block.size);
            requested.add(bytes);
            active.add(block.size);
            return allocation;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Counts {@code bytes} of memory that other code holds on this device (for example the
     * tensors a program binds, allocated before any program) against this allocator's limit and
     * in its statistics (reserved, allocated, requested and active bytes) until the returned
     * handle is closed, so that a limit can be a whole budget. Nothing is allocated.
     *
     * @param bytes at least 0
     * @param tag what the memory holds, for the out-of-memory message
     * @return the handle that stops counting it
     * @throws FrugalOutOfMemoryException when counting it would pass the memory limit
     * @throws IllegalStateException when the allocator is closed
     */
    public ExternalMemory countExternal(long bytes, String tag) {
        if (bytes < 0) {
            throw new IllegalArgumentException("external memory must be at least 0 bytes, got " + bytes + " (" + tag + ")");
        }
        lock.lock();
        try {
            ensureOpen();
            if (bytes > memoryLimit - reserved.current()) {
                outOfMemoryErrors++;
                throw outOfMemory(bytes, bytes, defaultStream, tag, "counting " + ByteFormat.exact(bytes) + " held outside the allocator"
                        + " would exceed the memory limit");
            }
            addExternal(bytes);
        } finally {
            lock.unlock();
        }
        return new ExternalMemory(this, bytes, tag);
    }

    /** Stops counting what {@link #countExternal} counted (once per handle; nothing after close). */
    void releaseExternal(long bytes) {
        lock.lock();
        try {
            if (!closed) {
                addExternal(-bytes);
            }
        } finally {
            lock.unlock();
        }
    }

    private void addExternal(long bytes) {
        externalBytes += bytes;
        reserved.add(bytes);
        allocated.add(bytes);
        requested.add(bytes);
        active.add(bytes);
    }

    /**
     * Frees an allocation; the same as {@link Allocation#close()}.
     *
     * @throws IllegalArgumentException if another allocator made it
     * @throws IllegalStateException if it was already freed, or released by closing this allocator
     */
    public void free(Allocation allocation) {
        if (allocation.allocator() != this) {
            throw new IllegalArgumentException(allocation + " belongs to another allocator ("
                    + allocation.allocator().rawDescription() + "), not to this one (" + rawDescription() + ")");
        }
        Throwable site = debug ? new Throwable("freed here") : null;
        lock.lock();
        try {
            if (allocation.state() != Allocation.LIVE) {
                throw misuse(allocation, "freed twice");
            }
            allocation.setState(Allocation.FREED);
            allocation.freeSite = site;
            if (allocation.debugScope != null) {
                // Ends every host view handed out, so a stale view fails instead of reading reused memory.
                allocation.debugScope.close();
            }
            Block block = allocation.block;
            block.owner = null;
            block.allocated = false;
            allocated.add(-block.size);
            requested.add(-allocation.requestedSize());
            freeCount++;
            if (block.otherStreams == null) {
                cacheBlock(block);
            } else {
                for (MemoryStream user : block.otherStreams) {
                    pendingFrees.add(new PendingFree(user.recordEvent(), block));
                    block.pendingEvents++;
                }
                block.otherStreams = null;
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * Declares that {@code stream}, not the allocation's own stream, uses the memory too (PyTorch's
     * {@code record_stream}). At free, an event is recorded on it, and the block is reused only
     * after the event completed. Recording the allocation's own stream does nothing.
     */
    public void recordStream(Allocation allocation, MemoryStream stream) {
        Objects.requireNonNull(stream, "stream");
        if (allocation.allocator() != this) {
            throw new IllegalArgumentException(allocation + " belongs to another allocator, not to this one ("
                    + rawDescription() + ")");
        }
        lock.lock();
        try {
            if (allocation.state() != Allocation.LIVE) {
                throw misuse(allocation, "used after free (recordStream)");
            }
            Block block = allocation.block;
            if (stream.id() != block.streamId) {
                block.addStreamUse(stream);
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * Returns every wholly unused cached segment to the raw source (PyTorch's {@code empty_cache}),
     * first waiting for pending cross-stream events so their blocks count as unused.
     */
    public void emptyCache() {
        lock.lock();
        try {
            ensureOpen();
            releaseCachedSegments();
        } finally {
            lock.unlock();
        }
    }

    /** @return a consistent snapshot of the statistics */
    public MemoryStats snapshot() {
        lock.lock();
        try {
            return new MemoryStats(allocated.current(), allocated.peak(), requested.current(), requested.peak(),
                    reserved.current(), reserved.peak(), active.current(), active.peak(),
                    inactiveSplit.current(), inactiveSplit.peak(), segmentCount.current(), segmentCount.peak(),
                    allocationCount, freeCount, cacheHits, rawAllocations, rawFrees, retries, outOfMemoryErrors,
                    memoryLimit);
        } finally {
            lock.unlock();
        }
    }

    /** Sets every peak statistic to its current value, e.g. at the start of a training step. */
    public void resetPeaks() {
        lock.lock();
        try {
            for (PeakCounter counter : List.of(allocated, requested, reserved, active, inactiveSplit, segmentCount)) {
                counter.resetPeak();
            }
        } finally {
            lock.unlock();
        }
    }

    /** @return the live allocations, lowest address first within each segment */
    public List<Allocation> liveAllocations() {
        lock.lock();
        try {
            return collectLive();
        } finally {
            lock.unlock();
        }
    }

    /** @return the memory limit in bytes ({@link AllocatorConfig#UNLIMITED} when none) */
    public long memoryLimit() {
        return memoryLimit;
    }

    /** @return whether debug checks (stack traces, scoped views, poisoning, leak exceptions) are on */
    public boolean isDebug() {
        return debug;
    }

    /**
     * Returns every segment to the raw source. Live allocations are leaks: in debug mode this
     * throws {@link MemoryLeakException} listing each with its allocation stack trace (after the
     * memory has been released); otherwise the leaks are logged as a warning. Closing twice does
     * nothing.
     */
    @Override
    public void close() {
        List<Allocation> leaks;
        lock.lock();
        try {
            if (closed) {
                return;
            }
            synchronizePendingEvents();
            leaks = collectLive();
            closed = true;
            for (Allocation leak : leaks) {
                leak.setState(Allocation.RELEASED_AT_CLOSE);
                if (leak.debugScope != null) {
                    leak.debugScope.close();
                }
            }
            for (Segment segment : segments) {
                raw.free(segment.raw);
                rawFrees++;
            }
            segments.clear();
            if (externalBytes != 0) {
                addExternal(-externalBytes);
            }
            reserved.add(-reserved.current());
            segmentCount.add(-segmentCount.current());
        } finally {
            lock.unlock();
        }
        if (!leaks.isEmpty()) {
            long bytes = leaks.stream().mapToLong(Allocation::size).sum();
            String report = leakReport(leaks, bytes);
            if (debug) {
                throw new MemoryLeakException(report, leaks.size(), bytes);
            }
            LOG.log(System.Logger.Level.WARNING, report);
        }
    }

    /** @return the statistics, and the raw source */
    @Override
    public String toString() {
        return "caching allocator over " + raw.describe() + (debug ? " (debug)" : "") + "\n" + snapshot();
    }

    String rawDescription() {
        return raw.describe();
    }

    /** Builds the exception for a use of a freed (or released) allocation; with the free site in debug mode. */
    IllegalStateException misuse(Allocation allocation, String what) {
        if (allocation.state() == Allocation.RELEASED_AT_CLOSE) {
            return new IllegalStateException(allocation + " " + what
                    + ": it was released when its allocator was closed");
        }
        Throwable freeSite = allocation.freeSite;
        if (freeSite == null) {
            return new IllegalStateException(allocation + " " + what + " (set " + AllocatorConfig.DEBUG_ENV
                    + "=1 to see where it was freed)");
        }
        return new IllegalStateException(allocation + " " + what + "; the cause shows where it was freed", freeSite);
    }

    // ---- internals, all under the lock ----

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("caching allocator over " + raw.describe() + " is closed");
        }
    }

    private Block allocateSegmentOrThrow(long bytes, long size, boolean small, MemoryStream stream, String tag) {
        long segmentSize = exactSegments ? size : BlockSizes.segmentSize(size);
        String[] refusal = new String[1];
        Block block = tryAllocateSegment(segmentSize, small, stream, refusal);
        if (block == null) {
            // Cached segments of other sizes or streams may be what stands in the way: give them back.
            releaseCachedSegments();
            retries++;
            block = tryAllocateSegment(segmentSize, small, stream, refusal);
        }
        if (block == null && segmentSize > size && size <= memoryLimit - reserved.current()) {
            // A shared segment would cross the limit, but the request itself fits: reserve just that.
            segmentSize = size;
            block = tryAllocateSegment(segmentSize, small, stream, refusal);
        }
        if (block == null) {
            outOfMemoryErrors++;
            throw outOfMemory(bytes, segmentSize, stream, tag, refusal[0]);
        }
        return block;
    }

    private Block tryAllocateSegment(long segmentSize, boolean small, MemoryStream stream, String[] refusal) {
        if (segmentSize > memoryLimit - reserved.current()) {
            refusal[0] = "a segment of " + ByteFormat.exact(segmentSize) + " would exceed the memory limit";
            return null;
        }
        RawSegment rawSegment;
        try {
            rawSegment = raw.allocate(segmentSize);
        } catch (RawOutOfMemoryException e) {
            refusal[0] = raw.describe() + " refused " + ByteFormat.exact(segmentSize) + ": " + e.getMessage();
            return null;
        }
        rawAllocations++;
        Segment segment = new Segment(rawSegment, stream, small);
        segments.add(segment);
        reserved.add(segmentSize);
        segmentCount.add(1);
        return segment.first;
    }

    /** Puts a freed block back in its pool, merged with its free neighbours. */
    private void cacheBlock(Block block) {
        if (debug && block.segment.raw.isHostAccessible()) {
            block.segment.raw.hostMemory().asSlice(block.address - block.segment.raw.address(), block.size)
                    .fill(POISON);
        }
        active.add(-block.size);
        BlockPool pool = block.segment.small ? smallPool : largePool;
        Block merged = block;
        Block prev = block.prev;
        if (prev != null && prev.isCached()) {
            // Fold into the predecessor, so a segment's first block object never changes.
            pool.remove(prev);
            inactiveSplit.add(-prev.size);
            prev.size += block.size;
            unlink(block, prev);
            merged = prev;
        }
        Block next = merged.next;
        if (next != null && next.isCached()) {
            pool.remove(next);
            inactiveSplit.add(-next.size);
            merged.size += next.size;
            unlink(next, merged);
        }
        if (merged.isSplit()) {
            inactiveSplit.add(merged.size);
        }
        pool.add(merged);
    }

    private static void unlink(Block absorbed, Block into) {
        into.next = absorbed.next;
        if (absorbed.next != null) {
            absorbed.next.prev = into;
        }
    }

    private void processCompletedEvents() {
        for (Iterator<PendingFree> it = pendingFrees.iterator(); it.hasNext(); ) {
            PendingFree pending = it.next();
            if (pending.event().isComplete()) {
                it.remove();
                finishPendingFree(pending);
            }
        }
    }

    private void synchronizePendingEvents() {
        while (!pendingFrees.isEmpty()) {
            PendingFree pending = pendingFrees.poll();
            pending.event().synchronize();
            finishPendingFree(pending);
        }
    }

    private void finishPendingFree(PendingFree pending) {
        pending.event().release();
        Block block = pending.block();
        if (--block.pendingEvents == 0) {
            cacheBlock(block);
        }
    }

    private void releaseCachedSegments() {
        synchronizePendingEvents();
        for (Iterator<Segment> it = segments.iterator(); it.hasNext(); ) {
            Segment segment = it.next();
            if (segment.isWhollyFree()) {
                (segment.small ? smallPool : largePool).remove(segment.first);
                raw.free(segment.raw);
                rawFrees++;
                reserved.add(-segment.raw.size());
                segmentCount.add(-1);
                it.remove();
            }
        }
    }

    private List<Allocation> collectLive() {
        List<Allocation> live = new ArrayList<>();
        for (Segment segment : segments) {
            for (Block block = segment.first; block != null; block = block.next) {
                if (block.allocated) {
                    live.add(block.owner);
                }
            }
        }
        return live;
    }

    private List<TagUsage> largestTags() {
        Map<String, long[]> byTag = new HashMap<>();
        for (Allocation allocation : collectLive()) {
            long[] usage = byTag.computeIfAbsent(allocation.tag(), t -> new long[2]);
            usage[0] += allocation.size();
            usage[1]++;
        }
        return byTag.entrySet().stream()
                .map(e -> new TagUsage(e.getKey(), e.getValue()[0], e.getValue()[1]))
                .sorted(Comparator.comparingLong(TagUsage::bytes).reversed().thenComparing(TagUsage::tag))
                .limit(TAGS_IN_REPORT)
                .toList();
    }

    private FrugalOutOfMemoryException outOfMemory(long bytes, long segmentSize, MemoryStream stream, String tag,
            String refusal) {
        long largestFree = Math.max(smallPool.largestBlockSize(), largePool.largestBlockSize());
        List<TagUsage> tags = largestTags();
        StringBuilder message = new StringBuilder("Frugal out of memory: tried to allocate ")
                .append(ByteFormat.exact(bytes));
        if (tag != null) {
            message.append(" for ").append(tag);
        }
        message.append(" on ").append(stream).append(" (needs a new segment of ")
                .append(ByteFormat.exact(segmentSize)).append(") from ").append(raw.describe()).append('\n')
                .append("  memory limit:       ").append(ByteFormat.exact(memoryLimit)).append('\n')
                .append("  reserved:           ").append(ByteFormat.exact(reserved.current())).append('\n')
                .append("  allocated:          ").append(ByteFormat.exact(allocated.current())).append('\n')
                .append("  largest free block: ").append(ByteFormat.exact(largestFree)).append('\n')
                .append("  refused because:    ").append(refusal).append('\n')
                .append("  largest live allocations by tag: ");
        message.append(tags.isEmpty() ? "none" : String.join(", ", tags.stream().map(TagUsage::toString).toList()));
        return new FrugalOutOfMemoryException(message.toString(), bytes, memoryLimit, reserved.current(),
                allocated.current(), largestFree, tags, null);
    }

    private String leakReport(List<Allocation> leaks, long bytes) {
        StringBuilder report = new StringBuilder("caching allocator over ").append(raw.describe())
                .append(" closed with ").append(leaks.size()).append(leaks.size() == 1 ? " live allocation" : " live allocations")
                .append(" (").append(ByteFormat.exact(bytes)).append("); their memory has been released");
        for (Allocation leak : leaks) {
            report.append("\n  ").append(leak);
            if (leak.allocationSite != null) {
                report.append(", allocated at:");
                for (StackTraceElement frame : leak.allocationSite.getStackTrace()) {
                    report.append("\n      at ").append(frame);
                }
            }
        }
        if (!debug) {
            report.append("\n  (set ").append(AllocatorConfig.DEBUG_ENV).append("=1 to see where each was allocated)");
        }
        return report.toString();
    }
}
