package dev.frugal.memory;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class DebugModeTest {

    private final HostRawAllocator raw = new HostRawAllocator();

    @AfterEach
    void closeRaw() {
        raw.close();
    }

    private CachingAllocator debugAllocator() {
        return new CachingAllocator(raw, AllocatorConfig.defaults().withDebug(true));
    }

    @Test
    void doubleFreeIsReportedWithTheFirstFreeSite() {
        try (CachingAllocator allocator = debugAllocator()) {
            Allocation a = allocator.allocate(100, "param:fc1.weight");
            freeOnce(a);
            IllegalStateException e = assertThrows(IllegalStateException.class, a::close);
            assertTrue(e.getMessage().contains("freed twice"), e.getMessage());
            assertTrue(e.getMessage().contains("param:fc1.weight"), e.getMessage());
            assertNotNull(e.getCause(), "the cause carries the first free's stack trace");
            assertTrue(stackMentions(e.getCause(), "freeOnce"), "first free site is in the trace");
            assertEquals(1, allocator.snapshot().frees(), "the second free changed nothing");
        }
    }

    @Test
    void doubleFreeIsDetectedCheaplyOutsideDebugModeToo() {
        try (CachingAllocator allocator = new CachingAllocator(raw, AllocatorConfig.defaults().withDebug(false))) {
            Allocation a = allocator.allocate(100);
            a.close();
            IllegalStateException e = assertThrows(IllegalStateException.class, a::close);
            assertTrue(e.getMessage().contains("FRUGAL_MEMORY_DEBUG=1"), e.getMessage());
            assertNull(e.getCause());
        }
    }

    @Test
    void useAfterFreeThroughTheHandleOrAStaleViewFails() {
        try (CachingAllocator allocator = debugAllocator()) {
            Allocation a = allocator.allocate(1024, "activations");
            MemorySegment view = a.segment();
            view.set(ValueLayout.JAVA_LONG, 0, 7L);
            a.close();
            IllegalStateException handle = assertThrows(IllegalStateException.class, a::address);
            assertTrue(handle.getMessage().contains("used after free (address())"), handle.getMessage());
            assertNotNull(handle.getCause());
            assertThrows(IllegalStateException.class, () -> view.get(ValueLayout.JAVA_LONG, 0),
                    "the view's scope ended at free");
            // The memory is reused by the next allocation; the stale view still cannot reach it.
            Allocation b = allocator.allocate(1024);
            assertEquals(b.segment().address(), view.address());
            assertThrows(IllegalStateException.class, () -> view.get(ValueLayout.JAVA_LONG, 0));
            b.close();
        }
    }

    @Test
    void freedHostMemoryIsPoisoned() {
        try (CachingAllocator allocator = debugAllocator()) {
            Allocation a = allocator.allocate(64);
            long address = a.address();
            a.segment().fill((byte) 1);
            a.close();
            MemorySegment raw = MemorySegment.ofAddress(address).reinterpret(64);
            assertEquals((byte) 0xDB, raw.get(ValueLayout.JAVA_BYTE, 0));
            assertEquals((byte) 0xDB, raw.get(ValueLayout.JAVA_BYTE, 63));
        }
    }

    @Test
    void leakAtCloseListsEachLiveAllocationWithItsTagAndAllocationSite() {
        CachingAllocator allocator = debugAllocator();
        allocator.allocate(512, "param:fc1.weight");
        Allocation freed = allocator.allocate(4096, "activations");
        freed.close();
        Allocation leaked = leakActivations(allocator);
        MemoryLeakException e = assertThrows(MemoryLeakException.class, allocator::close);
        assertEquals(2, e.leakedAllocations());
        assertEquals(512 + 2048, e.leakedBytes());
        String report = e.getMessage();
        assertTrue(report.contains("2 live allocations"), report);
        assertTrue(report.contains("param:fc1.weight"), report);
        assertTrue(report.contains("activations"), report);
        assertTrue(report.contains("leakActivations"), "allocation stack trace is in the report: " + report);
        assertEquals(0, raw.usedBytes(), "leaked memory was still returned to the raw source");
        assertFalse(leaked.isLive());
    }

    @Test
    void noLeakMeansAQuietClose() {
        CachingAllocator allocator = debugAllocator();
        allocator.allocate(512).close();
        assertDoesNotThrow(allocator::close);
    }

    private static void freeOnce(Allocation allocation) {
        allocation.close();
    }

    private static Allocation leakActivations(CachingAllocator allocator) {
        return allocator.allocate(2000, "activations");
    }

    private static boolean stackMentions(Throwable t, String method) {
        for (StackTraceElement frame : t.getStackTrace()) {
            if (frame.getMethodName().equals(method)) {
                return true;
            }
        }
        return false;
    }
}
