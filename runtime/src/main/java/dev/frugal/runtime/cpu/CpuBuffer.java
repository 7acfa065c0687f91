package dev.frugal.runtime.cpu;

import dev.frugal.memory.Allocation;
import dev.frugal.runtime.exec.Buffer;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A CPU buffer: an off-heap segment, either owning the memory manager's {@link Allocation} it
 * lies in or a view (a caller's tensor, or a planned region of a program's arena) with
 * {@code owner == null}.
 *
 * <p>An owned buffer's segment is tied to a scope of its own, closed when the buffer is freed, so
 * that every view of it (kernel slices, tensors a program returned) fails cleanly afterwards
 * instead of reading memory the allocator has given to someone else.
 *
 * @param segment the memory, exactly the buffer's bytes
 * @param owner   the allocation freed with the buffer, or null for a view
 * @param scope   the lifetime of {@code segment} and its views, closed on free; null for a view
 */
public record CpuBuffer(MemorySegment segment, Allocation owner, Arena scope) implements Buffer {
    @Override
    public long byteSize() {
        return segment.byteSize();
    }
}
