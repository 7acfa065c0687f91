package dev.frugal.runtime.exec;

/**
 * One prepared kernel call of a {@link Program}: made once at compile time by
 * {@link Backend#prepare}, with its geometry, dtypes and any scratch memory fixed, then invoked
 * once per run. It finds its operands by slot number in the program's buffer table, so buffers
 * bound after compilation (parameters, state) are seen without re-preparing.
 */
public interface Kernel extends AutoCloseable {
    /** Runs the call over the program's buffer table ({@code slots[i]} is slot i's buffer). */
    void run(Buffer[] slots);

    /**
     * Bytes of workspace (scratch) memory this kernel holds from its backend's memory manager,
     * allocated at prepare time and kept until {@link #close()}; the memory plan counts them.
     */
    default long workspaceBytes() {
        return 0;
    }

    /** Frees scratch memory the kernel allocated at prepare time; the default has none. */
    @Override
    default void close() {
    }
}
