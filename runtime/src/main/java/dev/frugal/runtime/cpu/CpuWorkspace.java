package dev.frugal.runtime.cpu;

import dev.frugal.memory.Allocation;
import dev.frugal.memory.CachingAllocator;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The workspace (scratch memory) of one prepared CPU kernel, drawn from its backend's
 * {@link CachingAllocator} under the tag {@value #TAG}, so the memory manager's statistics and
 * the memory plan see it. A kernel allocates everything it will ever use at prepare time;
 * {@link #heldBytes()} is then what {@link dev.frugal.runtime.exec.Kernel#workspaceBytes()}
 * reports, and {@link #close()} (from the kernel's {@code close}) frees it all.
 *
 * <p>Segments are zeroed (cached blocks may hold another user's data) and at least 64-byte
 * aligned (the allocator's blocks are 512-byte aligned). Thread safe.
 */
public final class CpuWorkspace implements AutoCloseable {
    /** The tag of workspace allocations in the memory manager's reports. */
    public static final String TAG = "workspace";

    private final CachingAllocator allocator;
    private final String tag;
    private final List<Allocation> allocations = new ArrayList<>();
    private long bytes;
    private long held;
    private boolean closed;

    /** A workspace drawing from {@code allocator}, tagged {@value #TAG}. */
    public CpuWorkspace(CachingAllocator allocator) {
        this(allocator, TAG);
    }

    /** A workspace drawing from {@code allocator} under {@code tag}. */
    public CpuWorkspace(CachingAllocator allocator, String tag) {
        this.allocator = Objects.requireNonNull(allocator, "allocator");
        this.tag = Objects.requireNonNull(tag, "tag");
    }

    /**
     * A zeroed segment of exactly {@code bytes} bytes, held until {@link #close()}. A request
     * of 0 bytes allocates nothing and returns an empty segment.
     *
     * @throws IllegalArgumentException if {@code bytes} is negative
     * @throws IllegalStateException if the workspace is closed
     */
    public synchronized MemorySegment allocate(long bytes) {
        if (bytes < 0) {
            throw new IllegalArgumentException("workspace: negative size " + bytes);
        }
        if (closed) {
            throw new IllegalStateException("workspace is closed");
        }
        if (bytes == 0) {
            return MemorySegment.NULL;
        }
        Allocation a = allocator.allocate(bytes, tag);
        MemorySegment s = a.segment();
        s.fill((byte) 0);
        allocations.add(a);
        this.bytes += bytes;
        this.held += a.size();
        return s;
    }

    /** Bytes asked for: the sum of the sizes requested from {@link #allocate} (0 once closed). */
    public synchronized long bytes() {
        return closed ? 0 : bytes;
    }

    /**
     * Bytes held from the memory manager: the sizes of the blocks it gave (requests rounded up
     * to its 512-byte blocks), as its allocated-bytes statistic counts them (0 once closed).
     */
    public synchronized long heldBytes() {
        return closed ? 0 : held;
    }

    /** Frees every allocation; later calls do nothing. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        RuntimeException failure = null;
        for (Allocation a : allocations) {
            try {
                a.close();
            } catch (RuntimeException e) {
                if (failure == null) {
                    failure = e;
                } else {
                    failure.addSuppressed(e);
                }
            }
        }
        allocations.clear();
        bytes = 0;
        if (failure != null) {
            throw failure;
        }
    }
}
