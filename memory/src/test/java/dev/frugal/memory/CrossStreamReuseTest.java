package dev.frugal.memory;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class CrossStreamReuseTest {

    private static final long MiB = 1L << 20;

    private final HostRawAllocator raw = new HostRawAllocator();
    private final CachingAllocator allocator = new CachingAllocator(raw, AllocatorConfig.defaults().withDebug(false));
    private final ManualStream compute = new ManualStream(1);
    private final ManualStream copy = new ManualStream(2);

    @AfterEach
    void closeAll() {
        allocator.close();
        raw.close();
    }

    @Test
    void eachStreamHasItsOwnPool() {
        Allocation onCompute = allocator.allocate(4096, compute, null);
        onCompute.close();
        Allocation onCopy = allocator.allocate(4096, copy, null);
        assertEquals(2, allocator.snapshot().segments(), "a block cached for one stream is not handed to another");
        Allocation againOnCompute = allocator.allocate(4096, compute, null);
        assertEquals(1, allocator.snapshot().cacheHits(), "the compute stream reuses its own block");
        onCopy.close();
        againOnCompute.close();
    }

    @Test
    void blockUsedOnAnotherStreamIsReusedOnlyAfterItsEventCompletes() {
        Allocation a = allocator.allocate(MiB, compute, "activations");
        long address = a.address();
        allocator.recordStream(a, copy);
        a.close();
        assertEquals(1, copy.recorded.size(), "an event is recorded on the other stream at free");
        MemoryStats stats = allocator.snapshot();
        assertEquals(0, stats.allocatedBytes());
        assertEquals(MiB, stats.activeBytes(), "waiting for the copy stream, the block is still active");

        Allocation whileBusy = allocator.allocate(MiB, compute, null);
        assertNotEquals(address, whileBusy.address(), "not reused while the copy stream may still read it");
        whileBusy.close();

        copy.completeAll();
        Allocation afterEvent = allocator.allocate(MiB, compute, null);
        assertEquals(address, afterEvent.address(), "reused once the event completed");
        assertEquals(1, copy.recorded.getFirst().releases, "the event is released once consumed");
        afterEvent.close();
        assertEquals(0, allocator.snapshot().activeBytes());
    }

    @Test
    void recordingTheOwnStreamOrTheSameStreamTwiceRecordsOneEventAtMost() {
        Allocation a = allocator.allocate(512, compute, null);
        allocator.recordStream(a, compute);
        a.close();
        assertTrue(compute.recorded.isEmpty());
        Allocation b = allocator.allocate(512, compute, null);
        allocator.recordStream(b, copy);
        allocator.recordStream(b, copy);
        b.close();
        assertEquals(1, copy.recorded.size());
    }

    @Test
    void pendingBlocksDoNotMergeUntilTheirEventsComplete() {
        Allocation a = allocator.allocate(512 * 1024, compute, null);
        Allocation b = allocator.allocate(512 * 1024, compute, null);
        allocator.recordStream(a, copy);
        a.close();
        b.close();
        assertEquals(512 * 1024, allocator.snapshot().activeBytes());
        copy.completeAll();
        // The next allocation processes the event; then the whole segment is one free block again.
        Allocation c = allocator.allocate(MiB, compute, null);
        Allocation d = allocator.allocate(MiB, compute, null);
        assertEquals(1, allocator.snapshot().segments(), "after merging, the segment serves two 1 MiB requests");
        assertEquals(0, allocator.snapshot().activeBytes() - 2 * MiB);
        c.close();
        d.close();
    }

    @Test
    void emptyCacheWaitsForPendingEventsAndReleasesTheSegment() {
        Allocation a = allocator.allocate(MiB, compute, null);
        allocator.recordStream(a, copy);
        a.close();
        allocator.emptyCache();
        assertEquals(1, copy.recorded.getFirst().synchronizations);
        assertEquals(0, allocator.snapshot().reservedBytes());
        assertEquals(0, raw.usedBytes());
    }

    @Test
    void recordStreamRejectsFreedAllocations() {
        Allocation a = allocator.allocate(512, compute, null);
        a.close();
        assertThrows(IllegalStateException.class, () -> allocator.recordStream(a, copy));
    }
}
