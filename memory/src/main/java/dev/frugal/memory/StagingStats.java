package dev.frugal.memory;

/**
 * A snapshot of a {@link PinnedStagingPool}'s statistics.
 *
 * @param heldBytes bytes of pinned buffers the pool holds (lent, waiting or idle)
 * @param lentBytes bytes of buffers lent out now
 * @param waitingBuffers buffers released but waiting for their copy's event
 * @param idleBuffers buffers ready to lend
 * @param acquisitions successful {@link PinnedStagingPool#acquire} calls
 * @param reuses acquisitions served by an idle buffer, without a raw allocation
 * @param rawAllocations pinned allocations made
 * @param retries raw allocations retried after freeing idle buffers
 */
public record StagingStats(long heldBytes, long lentBytes, long waitingBuffers, long idleBuffers, long acquisitions,
        long reuses, long rawAllocations, long retries) {
}
