package dev.frugal.memory;

/**
 * A consistent snapshot of a {@link CachingAllocator}'s statistics (taken under its lock), with
 * the same meanings as PyTorch's {@code torch.cuda.memory_stats()}.
 *
 * @param allocatedBytes bytes of blocks held by live allocations (rounded block sizes), plus
 *     memory held elsewhere that the allocator was asked to count ({@link CachingAllocator#countExternal})
 * @param peakAllocatedBytes highest {@code allocatedBytes} since creation or {@link CachingAllocator#resetPeaks()}
 * @param requestedBytes bytes the callers of live allocations asked for (before rounding)
 * @param peakRequestedBytes highest {@code requestedBytes}
 * @param reservedBytes bytes of raw segments held (what a GPU monitor shows as used), plus the
 *     counted external memory
 * @param peakReservedBytes highest {@code reservedBytes}
 * @param activeBytes allocated bytes plus freed bytes still waiting for other streams' events
 * @param peakActiveBytes highest {@code activeBytes}
 * @param inactiveSplitBytes cached bytes in segments that are partly in use: they cannot go back to
 *     the raw source, so a large value means fragmentation
 * @param peakInactiveSplitBytes highest {@code inactiveSplitBytes}
 * @param segments raw segments held
 * @param peakSegments highest {@code segments}
 * @param allocations successful allocations since creation
 * @param frees frees since creation
 * @param cacheHits allocations served from a cached block, without a raw allocation
 * @param rawAllocations raw segment allocations since creation
 * @param rawFrees raw segment frees since creation
 * @param retries times a failed raw allocation was retried after freeing the cache
 * @param outOfMemoryErrors {@link FrugalOutOfMemoryException}s thrown
 * @param memoryLimit the hard limit on {@code reservedBytes} ({@link Long#MAX_VALUE} when none)
 */
public record MemoryStats(
        long allocatedBytes, long peakAllocatedBytes,
        long requestedBytes, long peakRequestedBytes,
        long reservedBytes, long peakReservedBytes,
        long activeBytes, long peakActiveBytes,
        long inactiveSplitBytes, long peakInactiveSplitBytes,
        long segments, long peakSegments,
        long allocations, long frees, long cacheHits,
        long rawAllocations, long rawFrees, long retries, long outOfMemoryErrors,
        long memoryLimit) {

    /** @return a small table, one statistic per line, current and peak side by side */
    @Override
    public String toString() {
        StringBuilder out = new StringBuilder("memory stats (current / peak)\n");
        row(out, "allocated", allocatedBytes, peakAllocatedBytes);
        row(out, "requested", requestedBytes, peakRequestedBytes);
        row(out, "reserved", reservedBytes, peakReservedBytes);
        row(out, "active", activeBytes, peakActiveBytes);
        row(out, "inactive split", inactiveSplitBytes, peakInactiveSplitBytes);
        out.append(String.format("  %-15s %d / %d%n", "segments", segments, peakSegments));
        out.append(String.format("  %-15s %s%n", "limit", ByteFormat.format(memoryLimit)));
        out.append(String.format("  allocations %d, frees %d, cache hits %d, raw allocations %d, raw frees %d,"
                + " retries %d, OOMs %d", allocations, frees, cacheHits, rawAllocations, rawFrees, retries,
                outOfMemoryErrors));
        return out.toString();
    }

    private static void row(StringBuilder out, String name, long current, long peak) {
        out.append(String.format("  %-15s %s / %s%n", name, ByteFormat.format(current), ByteFormat.format(peak)));
    }
}
