package dev.frugal.memory;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class CachingAllocatorTest {

    private static final long KiB = 1L << 10;
    private static final long MiB = 1L << 20;

    private final HostRawAllocator raw = new HostRawAllocator();
    private final CachingAllocator allocator = new CachingAllocator(raw, AllocatorConfig.defaults().withDebug(false));

    @AfterEach
    void closeAll() {
        allocator.close();
        raw.close();
    }

    @Test
    void smallRequestsShareOneTwoMebibyteSegment() {
        Allocation a = allocator.allocate(100);
        Allocation b = allocator.allocate(1000);
        Allocation c = allocator.allocate(MiB);
        assertEquals(512, a.size());
        assertEquals(100, a.requestedSize());
        assertEquals(1024, b.size());
        assertEquals(a.address() + 512, b.address(), "the remainder of a split is used next");
        assertEquals(b.address() + 1024, c.address());
        MemoryStats stats = allocator.snapshot();
        assertEquals(1, stats.segments());
        assertEquals(2 * MiB, stats.reservedBytes());
        assertEquals(512 + 1024 + MiB, stats.allocatedBytes());
        assertEquals(100 + 1000 + MiB, stats.requestedBytes());
        assertEquals(1, stats.rawAllocations());
        assertEquals(2, stats.cacheHits());
    }

    @Test
    void largeRequestsUseTwentyMebibyteSegmentsOrTheirOwnRoundedSegment() {
        Allocation medium = allocator.allocate(3 * MiB);
        assertEquals(20 * MiB, allocator.snapshot().reservedBytes());
        Allocation another = allocator.allocate(5 * MiB);
        assertEquals(20 * MiB, allocator.snapshot().reservedBytes(), "a second medium request fits the 17 MiB rest");
        assertEquals(medium.address() + 3 * MiB, another.address());
        Allocation rest = allocator.allocate(11 * MiB + 1);
        assertEquals(another.address() + 5 * MiB, rest.address(), "the 12 MiB rest of the segment fits it");
        assertEquals(12 * MiB, rest.size(), "a rest under 1 MiB is not split off a large block");
        Allocation big = allocator.allocate(11 * MiB + 1);
        assertEquals(12 * MiB, big.size(), "its own segment, rounded to 2 MiB");
        MemoryStats stats = allocator.snapshot();
        assertEquals(32 * MiB, stats.reservedBytes());
        assertEquals(2, stats.segments());
        for (Allocation a : new Allocation[] {medium, another, rest, big}) {
            a.close();
        }
    }

    @Test
    void smallAndLargePoolsAreSeparate() {
        Allocation large = allocator.allocate(2 * MiB);
        large.close();
        Allocation small = allocator.allocate(4 * KiB);
        assertEquals(2, allocator.snapshot().segments(), "a small request never takes a block from the large pool");
        assertEquals(22 * MiB, allocator.snapshot().reservedBytes());
        small.close();
    }

    @Test
    void bestFitPicksTheSmallestSufficientBlockThenTheLowestAddress() {
        // Carve one small segment into free holes of 4, 2 and 8 KiB separated by live blocks.
        Allocation hole4 = allocator.allocate(4 * KiB);
        Allocation keep1 = allocator.allocate(512);
        Allocation hole2 = allocator.allocate(2 * KiB);
        Allocation keep2 = allocator.allocate(512);
        Allocation hole8 = allocator.allocate(8 * KiB);
        Allocation keep3 = allocator.allocate(512);
        long addr4 = hole4.address();
        long addr2 = hole2.address();
        long addr8 = hole8.address();
        hole4.close();
        hole2.close();
        hole8.close();

        Allocation twoK = allocator.allocate(2 * KiB);
        assertEquals(addr2, twoK.address(), "exact fit");
        Allocation threeK = allocator.allocate(3 * KiB);
        assertEquals(addr4, threeK.address(), "4 KiB is the smallest hole that fits 3 KiB");
        Allocation fiveK = allocator.allocate(5 * KiB);
        assertEquals(addr8, fiveK.address());
        Allocation halfK = allocator.allocate(512);
        assertEquals(addr4 + 3 * KiB, halfK.address(), "the 1 KiB rest of the 4 KiB hole is smaller than the 3 KiB rest of the 8 KiB hole");
        for (Allocation a : new Allocation[] {keep1, keep2, keep3, twoK, threeK, fiveK, halfK}) {
            a.close();
        }
        assertEquals(1, allocator.snapshot().segments());
    }

    @Test
    void freeingMergesNeighboursSoTheWholeSegmentBecomesOneBlockAgain() {
        Allocation[] blocks = new Allocation[8];
        for (int i = 0; i < blocks.length; i++) {
            blocks[i] = allocator.allocate(256 * KiB);
        }
        assertEquals(1, allocator.snapshot().segments(), "eight 256 KiB blocks fill one 2 MiB segment");
        long base = blocks[0].address();
        // Free in an interleaved order: odd ones first (no merges possible), then the even ones.
        for (int i = 1; i < blocks.length; i += 2) {
            blocks[i].close();
        }
        assertEquals(4 * 256 * KiB, allocator.snapshot().inactiveSplitBytes());
        for (int i = 0; i < blocks.length; i += 2) {
            blocks[i].close();
        }
        MemoryStats stats = allocator.snapshot();
        assertEquals(0, stats.inactiveSplitBytes(), "merged back into one unsplit block");
        assertEquals(0, stats.allocatedBytes());
        assertEquals(0, stats.activeBytes());
        Allocation lower = allocator.allocate(MiB);
        Allocation upper = allocator.allocate(MiB);
        assertEquals(base, lower.address(), "the merged segment serves the largest small requests");
        assertEquals(base + MiB, upper.address());
        assertEquals(1, allocator.snapshot().segments());
        assertEquals(2 * MiB, allocator.snapshot().peakReservedBytes());
        lower.close();
        upper.close();
    }

    @Test
    void fragmentationForcesANewSegmentUntilHolesMerge() {
        Allocation[] blocks = new Allocation[4];
        for (int i = 0; i < 4; i++) {
            blocks[i] = allocator.allocate(512 * KiB);
        }
        long firstSegmentBase = blocks[0].address();
        blocks[0].close();
        blocks[2].close();
        // 1 MiB free in two separate 512 KiB holes: a 1 MiB request cannot use them.
        Allocation oneMiB = allocator.allocate(MiB);
        assertEquals(2, allocator.snapshot().segments());
        assertEquals(2 * MiB, allocator.snapshot().inactiveSplitBytes(),
                "two 512 KiB holes in the first segment, plus the 1 MiB rest of the second");
        blocks[1].close();
        assertEquals(2 * MiB + 512 * KiB, allocator.snapshot().inactiveSplitBytes(),
                "holes 0..2 merged into one 1.5 MiB block");
        Allocation again = allocator.allocate(MiB);
        assertEquals(oneMiB.address() + MiB, again.address(),
                "best fit: the exact 1 MiB rest of the second segment beats the 1.5 MiB merged hole");
        assertEquals(2, allocator.snapshot().segments());
        assertEquals(MiB + 512 * KiB, allocator.snapshot().inactiveSplitBytes());
        Allocation inMergedHole = allocator.allocate(MiB);
        assertEquals(firstSegmentBase, inMergedHole.address(), "only the merged hole is left to fit it");
        assertEquals(2, allocator.snapshot().segments());
        inMergedHole.close();
        again.close();
        oneMiB.close();
        blocks[3].close();
        allocator.emptyCache();
        assertEquals(0, allocator.snapshot().segments());
        assertEquals(0, allocator.snapshot().reservedBytes());
        assertEquals(0, raw.usedBytes());
    }

    @Test
    void largeRemaindersAreSplitOffSmallOnesStayWithTheBlock() {
        Allocation a = allocator.allocate(19 * MiB);
        assertEquals(20 * MiB, a.size(), "the 1 MiB rest stays with the block");
        assertEquals(0, allocator.snapshot().inactiveSplitBytes(), "a 1 MiB rest is not kept in the large pool");
        a.close();
        Allocation b = allocator.allocate(19 * MiB - 512);
        assertEquals(1, allocator.snapshot().segments());
        assertEquals(MiB + 512, allocator.snapshot().inactiveSplitBytes(), "a rest above 1 MiB is split off");
        b.close();
    }

    @Test
    void freedBlockIsReusedAsACacheHitWithoutRawAllocation() {
        Allocation first = allocator.allocate(64 * KiB);
        long address = first.address();
        first.close();
        Allocation second = allocator.allocate(64 * KiB);
        assertEquals(address, second.address());
        MemoryStats stats = allocator.snapshot();
        assertEquals(1, stats.rawAllocations());
        assertEquals(1, stats.cacheHits());
        assertEquals(2, stats.allocations());
        assertEquals(1, stats.frees());
        second.close();
    }

    @Test
    void hostViewCoversTheRequestedBytesAndIsWritable() {
        try (Allocation a = allocator.allocate(1000, "scratch")) {
            MemorySegment view = a.segment();
            assertEquals(1000, view.byteSize());
            assertEquals(a.address(), view.address());
            view.set(ValueLayout.JAVA_INT, 996, 42);
            assertEquals(42, view.get(ValueLayout.JAVA_INT, 996));
            assertThrows(IndexOutOfBoundsException.class, () -> view.get(ValueLayout.JAVA_INT, 1000));
        }
    }

    @Test
    void zeroByteRequestGetsAMinimumBlockAndAnEmptyView() {
        try (Allocation a = allocator.allocate(0)) {
            assertEquals(512, a.size());
            assertEquals(0, a.segment().byteSize());
        }
    }

    @Test
    void peaksTrackTheHighestValueAndResetToCurrent() {
        Allocation a = allocator.allocate(MiB);
        Allocation b = allocator.allocate(MiB);
        a.close();
        MemoryStats stats = allocator.snapshot();
        assertEquals(MiB, stats.allocatedBytes());
        assertEquals(2 * MiB, stats.peakAllocatedBytes());
        assertEquals(2 * MiB, stats.peakActiveBytes());
        allocator.resetPeaks();
        stats = allocator.snapshot();
        assertEquals(MiB, stats.peakAllocatedBytes());
        assertEquals(stats.reservedBytes(), stats.peakReservedBytes());
        b.close();
        assertEquals(MiB, allocator.snapshot().peakAllocatedBytes());
        assertEquals(0, allocator.snapshot().allocatedBytes());
    }

    @Test
    void statsPrintReadably() {
        Allocation a = allocator.allocate(3 * MiB, "activations");
        String text = allocator.toString();
        assertTrue(text.contains("allocated       3.0 MiB / 3.0 MiB"), text);
        assertTrue(text.contains("reserved        20.0 MiB / 20.0 MiB"), text);
        assertTrue(text.contains("segments        1 / 1"), text);
        assertTrue(text.contains("limit           unlimited"), text);
        a.close();
    }

    @Test
    void badInputIsRejectedWithAClearMessage() {
        IllegalArgumentException negative = assertThrows(IllegalArgumentException.class, () -> allocator.allocate(-1, "x"));
        assertTrue(negative.getMessage().contains("got -1"), negative.getMessage());
        assertThrows(IllegalArgumentException.class, () -> allocator.allocate(Long.MAX_VALUE));
        assertThrows(NullPointerException.class, () -> allocator.allocate(1, null, "x"));

        try (HostRawAllocator otherRaw = new HostRawAllocator(); CachingAllocator other = new CachingAllocator(otherRaw)) {
            Allocation foreign = other.allocate(512);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> allocator.free(foreign));
            assertTrue(e.getMessage().contains("belongs to another allocator"), e.getMessage());
            assertTrue(foreign.isLive(), "a rejected free leaves the allocation alone");
            foreign.close();
        }
        assertThrows(IllegalArgumentException.class, () -> new AllocatorConfig(0, false, HostStream.DEFAULT, false));
    }

    @Test
    void closedAllocatorRefusesAllocationsAndReturnsAllMemory() {
        allocator.allocate(MiB).close();
        allocator.close();
        assertEquals(0, raw.usedBytes());
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> allocator.allocate(1));
        assertTrue(e.getMessage().contains("is closed"), e.getMessage());
        assertThrows(IllegalStateException.class, allocator::emptyCache);
        allocator.close(); // twice is fine
    }

    @Test
    void leakedAllocationOutsideDebugModeIsReleasedAtCloseAndUnusableAfter() {
        Allocation leaked = allocator.allocate(MiB, "activations");
        allocator.close();
        assertFalse(leaked.isLive());
        assertEquals(0, raw.usedBytes());
        IllegalStateException e = assertThrows(IllegalStateException.class, leaked::address);
        assertTrue(e.getMessage().contains("released when its allocator was closed"), e.getMessage());
    }
}
