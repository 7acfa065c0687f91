package dev.frugal.memory;

import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * One contiguous piece of memory obtained from a {@link RawAllocator} (one {@code cuMemAlloc},
 * one off-heap arena allocation). The caching allocator carves blocks out of it.
 *
 * @param address the first byte's address (a device pointer for device memory)
 * @param size the size in bytes
 * @param hostMemory a view of the memory that Java code can read and write, or {@code null} when
 *     the memory is not host accessible (device memory); its scope ends when the raw source frees
 *     the segment, so stale views fail instead of touching freed memory
 */
public record RawSegment(long address, long size, MemorySegment hostMemory) {

    /** Checks that the size is positive and that a host view, if any, matches address and size. */
    public RawSegment {
        if (size <= 0) {
            throw new IllegalArgumentException("raw segment size must be positive, got " + size);
        }
        if (hostMemory != null
                && (hostMemory.address() != address || hostMemory.byteSize() != size)) {
            throw new IllegalArgumentException("host view " + hostMemory + " does not match raw segment at 0x"
                    + Long.toHexString(address) + " of " + size + " bytes");
        }
    }

    /** @return whether {@link #hostMemory()} is available */
    public boolean isHostAccessible() {
        return hostMemory != null;
    }

    /** @return the host view; fails with a clear message for device memory */
    public MemorySegment requireHostMemory() {
        return Objects.requireNonNull(hostMemory, "raw segment at 0x" + Long.toHexString(address)
                + " is device memory and has no host view");
    }
}
