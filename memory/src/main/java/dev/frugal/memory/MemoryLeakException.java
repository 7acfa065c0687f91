package dev.frugal.memory;

/**
 * Thrown by {@link CachingAllocator#close()} in debug mode when allocations were still live. The
 * message lists each one with its size, tag and the stack trace of the call that allocated it.
 * The memory itself has been returned to the raw source by then.
 */
public final class MemoryLeakException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    private final int leakedAllocations;
    private final long leakedBytes;

    MemoryLeakException(String report, int leakedAllocations, long leakedBytes) {
        super(report);
        this.leakedAllocations = leakedAllocations;
        this.leakedBytes = leakedBytes;
    }

    /** @return how many allocations were live at close */
    public int leakedAllocations() {
        return leakedAllocations;
    }

    /** @return their block bytes */
    public long leakedBytes() {
        return leakedBytes;
    }
}
