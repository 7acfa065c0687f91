package dev.frugal.runtime.cpu;

import dev.frugal.runtime.exec.Buffer;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A CPU buffer: an off-heap segment, owned (with the arena that frees it) or wrapping a caller's
 * tensor ({@code arena == null}).
 *
 * @param segment the memory, exactly the buffer's bytes
 * @param arena   the shared arena that owns the memory, or null for a wrapped tensor
 */
public record CpuBuffer(MemorySegment segment, Arena arena) implements Buffer {
    @Override
    public long byteSize() {
        return segment.byteSize();
    }
}
