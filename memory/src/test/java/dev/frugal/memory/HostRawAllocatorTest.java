package dev.frugal.memory;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

class HostRawAllocatorTest {

    @Test
    void allocatesAlignedWritableSegmentsAndCountsThem() throws RawOutOfMemoryException {
        try (HostRawAllocator raw = new HostRawAllocator()) {
            RawSegment segment = raw.allocate(4096);
            assertEquals(0, segment.address() % HostRawAllocator.SEGMENT_ALIGNMENT);
            segment.hostMemory().set(ValueLayout.JAVA_INT, 4092, 5);
            assertEquals(4096, raw.usedBytes());
            raw.free(segment);
            assertEquals(0, raw.usedBytes());
            assertThrows(IllegalStateException.class, () -> segment.hostMemory().get(ValueLayout.JAVA_INT, 0),
                    "a freed segment's view is closed");
        }
    }

    @Test
    void capacityIsEnforcedWithARawOutOfMemory() throws RawOutOfMemoryException {
        try (HostRawAllocator raw = new HostRawAllocator(8192)) {
            raw.allocate(8192);
            RawOutOfMemoryException e = assertThrows(RawOutOfMemoryException.class, () -> raw.allocate(1));
            assertEquals(1, e.requestedBytes());
            assertTrue(e.getMessage().contains("8192 of 8192 bytes in use"), e.getMessage());
        }
    }

    @Test
    void rejectsBadInput() throws RawOutOfMemoryException {
        try (HostRawAllocator raw = new HostRawAllocator(); HostRawAllocator other = new HostRawAllocator()) {
            assertThrows(IllegalArgumentException.class, () -> raw.allocate(0));
            RawSegment foreign = other.allocate(512);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> raw.free(foreign));
            assertTrue(e.getMessage().contains("not allocated by this host raw allocator"), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> new HostRawAllocator(0));
        HostRawAllocator closed = new HostRawAllocator();
        closed.close();
        assertThrows(IllegalStateException.class, () -> closed.allocate(512));
    }
}
