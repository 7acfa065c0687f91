package dev.frugal.memory;

/**
 * One raw segment as the caching allocator sees it: owned by one stream and one pool, and split
 * into a chain of {@link Block}s that starts at {@link #first}.
 */
final class Segment {
    final RawSegment raw;
    final MemoryStream stream;
    final boolean small;
    /**
     * The lowest-address block. It never changes: splitting keeps the front piece, and merging
     * always folds a block into its predecessor.
     */
    final Block first;

    Segment(RawSegment raw, MemoryStream stream, boolean small) {
        this.raw = raw;
        this.stream = stream;
        this.small = small;
        this.first = new Block(this, raw.address(), raw.size());
    }

    /** @return whether the segment is one unused block, so it can go back to the raw source */
    boolean isWhollyFree() {
        return first.next == null && first.isCached();
    }
}
