package dev.frugal.runtime.exec;

/**
 * Device-side timing of queued kernel calls ({@link Backend#kernelClock()}): marks recorded in
 * the device's queue between calls, whose distance is read after the work has run.
 */
public interface KernelClock {
    /** A mark after the work queued so far. */
    Mark mark();

    /** A point in the device's queue. */
    interface Mark extends AutoCloseable {
        /** Nanoseconds of device time from this mark to {@code later} (waits for {@code later} to pass). */
        long nanosTo(Mark later);

        /** Frees the mark. */
        @Override
        void close();
    }
}
