package dev.frugal.memory;

/** A current value and the highest it has been since the last {@link #resetPeak()}; guarded by the allocator's lock. */
final class PeakCounter {
    private long current;
    private long peak;

    void add(long delta) {
        current += delta;
        if (current > peak) {
            peak = current;
        }
    }

    long current() {
        return current;
    }

    long peak() {
        return peak;
    }

    void resetPeak() {
        peak = current;
    }
}
