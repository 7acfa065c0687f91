package dev.frugal.memory;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import org.junit.jupiter.api.Test;

class OutOfMemoryTest {

    private static final long MiB = 1L << 20;

    @Test
    void rawOutOfMemoryFreesTheCacheAndRetriesOnce() {
        try (HostRawAllocator raw = new HostRawAllocator(24 * MiB);
                CachingAllocator allocator = new CachingAllocator(raw, AllocatorConfig.defaults().withDebug(false))) {
            // Leaves a cached 20 MiB segment, but on another stream, so it cannot serve the next request.
            allocator.allocate(5 * MiB, HostStream.create(), null).close();
            assertEquals(20 * MiB, raw.usedBytes());
            Allocation big = allocator.allocate(12 * MiB); // needs its own 12 MiB segment: 32 > 24
            MemoryStats stats = allocator.snapshot();
            assertEquals(1, stats.retries());
            assertEquals(0, stats.outOfMemoryErrors());
            assertEquals(12 * MiB, stats.reservedBytes(), "the cached 20 MiB segment went back to the raw source");
            assertEquals(1, stats.rawFrees());
            big.close();
        }
    }

    @Test
    void segmentsInUseAreNotFreedAndTheRetryFailsWithAReport() {
        try (HostRawAllocator raw = new HostRawAllocator(24 * MiB);
                CachingAllocator allocator = new CachingAllocator(raw, AllocatorConfig.defaults().withDebug(false))) {
            Allocation weights = allocator.allocate(6 * MiB, "param:fc1.weight");
            Allocation activations = allocator.allocate(8 * MiB, "activations");
            Allocation more = allocator.allocate(MiB + 1, "activations");
            FrugalOutOfMemoryException oom = assertThrows(FrugalOutOfMemoryException.class,
                    () -> allocator.allocate(12 * MiB, "gradients"));
            assertEquals(12 * MiB, oom.requestedBytes());
            assertEquals(20 * MiB, oom.reservedBytes());
            assertEquals(6 * MiB + 8 * MiB + MiB + 512, oom.allocatedBytes());
            assertEquals(20 * MiB - oom.allocatedBytes(), oom.largestFreeBlock());
            assertEquals(List.of(new TagUsage("activations", 9 * MiB + 512, 2), new TagUsage("param:fc1.weight", 6 * MiB, 1)),
                    oom.largestTags());
            String message = oom.getMessage();
            assertTrue(message.contains("tried to allocate 12.0 MiB (12582912 bytes) for gradients"), message);
            assertTrue(message.contains("memory limit:       unlimited"), message);
            assertTrue(message.contains("reserved:           20.0 MiB (20971520 bytes)"), message);
            assertTrue(message.contains("allocated:          15.0 MiB (15729152 bytes)"), message);
            assertTrue(message.contains("largest free block: 5.0 MiB (5242368 bytes)"), message);
            assertTrue(message.contains("host capacity exhausted"), message);
            assertTrue(message.contains("activations 9.0 MiB in 2 allocations, param:fc1.weight 6.0 MiB in 1 allocation"), message);
            MemoryStats stats = allocator.snapshot();
            assertEquals(1, stats.outOfMemoryErrors());
            assertEquals(1, stats.retries());
            // The allocator is still usable after an OOM.
            allocator.allocate(MiB).close();
            weights.close();
            activations.close();
            more.close();
        }
    }

    @Test
    void memoryLimitIsAHardCapOnReservedBytes() {
        try (HostRawAllocator raw = new HostRawAllocator();
                CachingAllocator allocator = new CachingAllocator(raw,
                        AllocatorConfig.defaults().withDebug(false).withMemoryLimit(22 * MiB))) {
            Allocation small = allocator.allocate(1000, "scratch");
            Allocation medium = allocator.allocate(4 * MiB, "activations");
            assertEquals(22 * MiB, allocator.snapshot().reservedBytes());
            Allocation fitsInCache = allocator.allocate(15 * MiB, "activations");
            FrugalOutOfMemoryException oom = assertThrows(FrugalOutOfMemoryException.class,
                    () -> allocator.allocate(2 * MiB, "activations"));
            assertEquals(22 * MiB, oom.memoryLimit());
            assertTrue(oom.getMessage().contains("memory limit:       22.0 MiB (23068672 bytes)"), oom.getMessage());
            assertTrue(oom.getMessage().contains("would exceed the memory limit"), oom.getMessage());
            assertEquals(22 * MiB, raw.usedBytes(), "the raw source was never asked for more than the limit");
            assertEquals(22 * MiB, allocator.snapshot().peakReservedBytes());
            small.close();
            medium.close();
            fitsInCache.close();
        }
    }

    @Test
    void nearTheLimitASegmentOfExactlyTheRequestIsReserved() {
        try (HostRawAllocator raw = new HostRawAllocator();
                CachingAllocator allocator = new CachingAllocator(raw,
                        AllocatorConfig.defaults().withDebug(false).withMemoryLimit(12 * MiB))) {
            // A 3 MiB request would normally get a 20 MiB segment, which the 12 MiB limit forbids.
            Allocation a = allocator.allocate(3 * MiB, "activations");
            assertEquals(3 * MiB, allocator.snapshot().reservedBytes());
            // A small one would get a 2 MiB segment: it still fits, so it does.
            Allocation b = allocator.allocate(1000, "scratch");
            assertEquals(5 * MiB, allocator.snapshot().reservedBytes());
            Allocation c = allocator.allocate(7 * MiB, "activations");
            assertEquals(12 * MiB, allocator.snapshot().reservedBytes());
            assertThrows(FrugalOutOfMemoryException.class, () -> allocator.allocate(2 * MiB, "one block too many"));
            a.close();
            b.close();
            c.close();
        }
    }

    @Test
    void exactSegmentsReserveOnlyWhatIsAllocated() {
        try (HostRawAllocator raw = new HostRawAllocator();
                CachingAllocator allocator = new CachingAllocator(raw,
                        AllocatorConfig.defaults().withDebug(false).withExactSegments(true).withMemoryLimit(4 * MiB))) {
            List<Allocation> live = new java.util.ArrayList<>();
            long expected = 0;
            for (long bytes : new long[] {1000, 3 * MiB / 2, 70_000, 1, 512 * 1024}) {
                live.add(allocator.allocate(bytes, "planned"));
                expected += BlockSizes.roundRequest(bytes);
                assertEquals(expected, allocator.snapshot().reservedBytes());
                assertEquals(expected, allocator.snapshot().allocatedBytes());
            }
            live.forEach(Allocation::close);
            // freed blocks are cached as usual and serve a request of their size again
            Allocation again = allocator.allocate(70_000, "planned");
            assertEquals(expected, allocator.snapshot().reservedBytes());
            again.close();
        }
    }

    @Test
    void memoryHeldElsewhereCountsAgainstTheLimitUntilReleased() {
        try (HostRawAllocator raw = new HostRawAllocator();
                CachingAllocator allocator = new CachingAllocator(raw,
                        AllocatorConfig.defaults().withDebug(false).withExactSegments(true).withMemoryLimit(4 * MiB))) {
            ExternalMemory weights = allocator.countExternal(3 * MiB, "bound tensors");
            MemoryStats s = allocator.snapshot();
            assertEquals(3 * MiB, s.reservedBytes());
            assertEquals(3 * MiB, s.allocatedBytes());
            assertEquals(0, raw.usedBytes(), "nothing is allocated for it");
            Allocation fits = allocator.allocate(MiB / 2, "activations");
            FrugalOutOfMemoryException oom = assertThrows(FrugalOutOfMemoryException.class, () -> allocator.allocate(MiB, "activations"));
            assertTrue(oom.getMessage().contains("memory limit"), oom.getMessage());
            assertThrows(FrugalOutOfMemoryException.class, () -> allocator.countExternal(MiB, "more tensors"));
            weights.close();
            weights.close(); // once only
            assertEquals(MiB / 2, allocator.snapshot().allocatedBytes());
            assertEquals(3 * MiB + MiB / 2, allocator.snapshot().peakAllocatedBytes(), "the peak remembers it");
            allocator.allocate(3 * MiB, "activations").close();
            fits.close();
            assertThrows(IllegalArgumentException.class, () -> allocator.countExternal(-1, "nonsense"));
        }
    }
}
