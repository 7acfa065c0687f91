package dev.frugal.memory;

/**
 * Live memory of one allocation tag, as listed by out-of-memory and leak reports.
 *
 * @param tag the tag ({@link Allocation#UNTAGGED} for allocations made without one)
 * @param bytes the block bytes held by live allocations with this tag
 * @param allocations how many live allocations carry it
 */
public record TagUsage(String tag, long bytes, long allocations) {

    @Override
    public String toString() {
        return tag + " " + ByteFormat.format(bytes) + " in " + allocations
                + (allocations == 1 ? " allocation" : " allocations");
    }
}
