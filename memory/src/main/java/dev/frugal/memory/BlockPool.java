package dev.frugal.memory;

import java.util.Comparator;
import java.util.TreeSet;

/**
 * The cached blocks of one pool (small or large), ordered by stream, then size, then address:
 * the first block at or after (stream, size) is the best fit on that stream, and among equal
 * sizes the lowest address, which keeps reuse compact. Guarded by the allocator's lock.
 */
final class BlockPool {

    /** Written out rather than chained {@code thenComparing} calls: this runs on every allocate and free. */
    private static final Comparator<Block> ORDER = (a, b) -> {
        if (a.streamId != b.streamId) {
            return Long.compare(a.streamId, b.streamId);
        }
        if (a.size != b.size) {
            return Long.compare(a.size, b.size);
        }
        return Long.compare(a.address, b.address);
    };

    private final TreeSet<Block> blocks = new TreeSet<>(ORDER);
    /** Reused search key; safe because every call runs under the allocator's lock. */
    private final Block probe = new Block(null, Long.MIN_VALUE, 0);

    /** @return the smallest cached block of at least {@code size} bytes on the stream, removed; or null */
    Block takeBestFit(long streamId, long size) {
        probe.streamId = streamId;
        probe.size = size;
        Block found = blocks.ceiling(probe);
        if (found == null || found.streamId != streamId) {
            return null;
        }
        blocks.remove(found);
        return found;
    }

    void add(Block block) {
        blocks.add(block);
    }

    void remove(Block block) {
        if (!blocks.remove(block)) {
            throw new IllegalStateException("allocator bookkeeping broken: " + block + " is not in its pool");
        }
    }

    /** @return the size of the largest cached block on any stream (a walk; for reports only) */
    long largestBlockSize() {
        long largest = 0;
        for (Block block : blocks) {
            largest = Math.max(largest, block.size);
        }
        return largest;
    }

    int blockCount() {
        return blocks.size();
    }
}
