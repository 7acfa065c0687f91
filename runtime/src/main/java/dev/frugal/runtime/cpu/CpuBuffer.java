package dev.frugal.runtime.cpu;

import dev.frugal.memory.Allocation;
import dev.frugal.runtime.exec.Buffer;

import java.lang.foreign.MemorySegment;

/**
 * A CPU buffer: an off-heap segment, either owning the memory manager's {@link Allocation} it
 * lies in or a view (a caller's tensor, or a planned region of a program's arena) with
 * {@code owner == null}.
 *
 * @param segment the memory, exactly the buffer's bytes
 * @param owner   the allocation freed with the buffer, or null for a view
 */
public record CpuBuffer(MemorySegment segment, Allocation owner) implements Buffer {
    @Override
    public long byteSize() {
        return segment.byteSize();
    }
}
