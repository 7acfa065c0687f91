package dev.frugal.memory;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class PinnedStagingPoolTest {

    private final HostRawAllocator source = new HostRawAllocator(64 * 1024);
    private final PinnedStagingPool pool = new PinnedStagingPool(source);
    private final ManualStream copyStream = new ManualStream(9);

    @AfterEach
    void closeAll() {
        pool.close();
        source.close();
    }

    @Test
    void sizeClassesArePowersOfTwoFromOnePage() {
        assertEquals(4096, PinnedStagingPool.sizeClass(1));
        assertEquals(4096, PinnedStagingPool.sizeClass(4096));
        assertEquals(8192, PinnedStagingPool.sizeClass(4097));
        assertEquals(1L << 62, PinnedStagingPool.sizeClass(PinnedStagingPool.MAX_REQUEST));
    }

    @Test
    void bufferIsReusedOnlyAfterItsCopyEventCompletes() {
        StagingBuffer first = pool.acquire(3000);
        assertEquals(3000, first.segment().byteSize());
        assertEquals(4096, first.capacity());
        long address = first.address();
        first.segment().set(ValueLayout.JAVA_INT, 0, 1);
        first.releaseAfter(copyStream.recordEvent());

        StagingBuffer whileCopying = pool.acquire(3000);
        assertNotEquals(address, whileCopying.address(), "not lent while the copy may still read it");
        whileCopying.release();

        copyStream.completeAll();
        StagingBuffer afterCopy = pool.acquire(4000);
        assertTrue(afterCopy.address() == address || afterCopy.address() == whileCopying.raw.address(),
                "an idle buffer of the class is reused");
        StagingStats stats = pool.snapshot();
        assertEquals(2, stats.rawAllocations());
        assertEquals(1, stats.reuses());
        assertEquals(1, copyStream.recorded.getFirst().releases, "the event is released once seen complete");
        afterCopy.release();
    }

    @Test
    void releasedBufferCannotBeUsedOrReleasedAgain() {
        StagingBuffer buffer = pool.acquire(100);
        buffer.release();
        assertThrows(IllegalStateException.class, buffer::segment);
        assertThrows(IllegalStateException.class, buffer::address);
        IllegalStateException e = assertThrows(IllegalStateException.class, buffer::release);
        assertTrue(e.getMessage().contains("released twice"), e.getMessage());
    }

    @Test
    void runningOutFreesIdleBuffersAndRetriesThenReports() {
        StagingBuffer small = pool.acquire(16 * 1024);
        small.release(); // idle 16 KiB
        StagingBuffer big = pool.acquire(48 * 1024); // 64 KiB class: needs the idle 16 KiB freed
        assertEquals(1, pool.snapshot().retries());
        assertEquals(64 * 1024, pool.snapshot().heldBytes());
        FrugalOutOfMemoryException oom = assertThrows(FrugalOutOfMemoryException.class, () -> pool.acquire(1));
        assertTrue(oom.getMessage().contains("tried to stage 1 bytes"), oom.getMessage());
        assertTrue(oom.getMessage().contains("host capacity exhausted"), oom.getMessage());
        big.release();
    }

    @Test
    void closeWaitsForCopiesAndFreesEverything() {
        StagingBuffer buffer = pool.acquire(100);
        buffer.releaseAfter(copyStream.recordEvent());
        StagingBuffer leaked = pool.acquire(100);
        pool.close();
        assertEquals(1, copyStream.recorded.getFirst().synchronizations);
        assertEquals(0, source.usedBytes());
        assertThrows(IllegalStateException.class, leaked::segment);
        assertThrows(IllegalStateException.class, () -> pool.acquire(1));
    }

    @Test
    void rejectsBadInput() {
        assertThrows(IllegalArgumentException.class, () -> pool.acquire(0));
        assertThrows(IllegalArgumentException.class, () -> pool.acquire(-5));
        assertThrows(NullPointerException.class, () -> pool.acquire(1).releaseAfter(null));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new PinnedStagingPool(new DeviceLikeSource()));
        assertTrue(e.getMessage().contains("host-accessible"), e.getMessage());
    }

    /** A source without host views, standing in for device memory. */
    private static final class DeviceLikeSource implements RawAllocator {
        @Override
        public RawSegment allocate(long bytes) throws RawOutOfMemoryException {
            throw new RawOutOfMemoryException(bytes, "never used");
        }

        @Override
        public void free(RawSegment segment) {
        }

        @Override
        public boolean isHostAccessible() {
            return false;
        }

        @Override
        public String describe() {
            return "device-like source";
        }

        @Override
        public void close() {
        }
    }
}
