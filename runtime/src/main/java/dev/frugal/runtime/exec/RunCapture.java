package dev.frugal.runtime.exec;

/**
 * Records the kernel calls of one run of a program so later runs replay them as one unit (on
 * CUDA, stream capture into a CUDA graph, launched with one call instead of one per kernel). A
 * backend that can record offers one through {@link Backend#runCapture()}; {@link Program} uses
 * it after a few ordinary runs (kernels compiled, caches warm) and, when recording fails, goes on
 * running call by call.
 *
 * <p>The recorded calls must be exactly those of every later run with the same bindings:
 * {@link Kernel}s read their slots' buffers when they are called, so the recording holds the
 * addresses of that run, and a program records only while its parameter and state bindings stay
 * the same.
 */
public interface RunCapture {
    /** Starts recording: kernel calls made until {@link #end()} are recorded, not run. */
    void begin();

    /**
     * Stops recording and returns the replayable recording.
     *
     * @throws UnsupportedOperationException saying why the calls could not be recorded (the
     *                                       backend is then back to running calls one by one)
     */
    Recording end();

    /** Recorded kernel calls. */
    interface Recording extends AutoCloseable {
        /** Runs the recorded calls, in order, as the calls themselves would. */
        void replay();

        /** Frees the recording. */
        @Override
        void close();
    }
}
