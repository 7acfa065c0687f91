package dev.frugal.memory;

import java.util.ArrayList;
import java.util.List;

/**
 * A contiguous piece of a {@link Segment}: allocated (owned by an {@link Allocation}), waiting for
 * events of other streams, or cached in a {@link BlockPool}. Guarded by the allocator's lock.
 */
final class Block {
    final Segment segment;
    /** Copy of the segment's stream id, so the pool's ordering (and its search probe) need no segment. */
    long streamId;
    long address;
    long size;
    boolean allocated;
    /** Events recorded on other streams at free time that must complete before reuse. */
    int pendingEvents;
    /** Streams other than the segment's that used this block ({@code recordStream}); null when none. */
    List<MemoryStream> otherStreams;
    Allocation owner;
    Block prev;
    Block next;

    Block(Segment segment, long address, long size) {
        this.segment = segment;
        this.streamId = segment == null ? 0 : segment.stream.id();
        this.address = address;
        this.size = size;
    }

    /** @return whether the block is free and reusable now (it is then in its pool) */
    boolean isCached() {
        return !allocated && pendingEvents == 0;
    }

    /** @return whether the block shares its segment with others */
    boolean isSplit() {
        return prev != null || next != null;
    }

    void addStreamUse(MemoryStream stream) {
        if (otherStreams == null) {
            otherStreams = new ArrayList<>(2);
        }
        for (MemoryStream known : otherStreams) {
            if (known.id() == stream.id()) {
                return;
            }
        }
        otherStreams.add(stream);
    }

    @Override
    public String toString() {
        return "block[0x" + Long.toHexString(address) + ", " + size + " bytes, stream " + streamId
                + (allocated ? ", allocated" : pendingEvents > 0 ? ", pending " + pendingEvents : ", cached") + "]";
    }
}
