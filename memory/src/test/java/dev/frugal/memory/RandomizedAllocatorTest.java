package dev.frugal.memory;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Drives the allocator with random allocate, free, cross-stream free and cache-release steps, and
 * after every step checks it against a plain model: the live allocations it handed out never
 * overlap, each keeps the bytes written into it, and every byte is accounted for in the stats.
 */
class RandomizedAllocatorTest {

    private static final long MiB = 1L << 20;
    private static final int STEPS = 1500;

    private record Live(Allocation allocation, byte pattern) {
    }

    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3, 4})
    void matchesTheModelUnderRandomWorkloads(long seed) {
        Random random = new Random(seed);
        ManualStream[] streams = {new ManualStream(1), new ManualStream(2)};
        try (HostRawAllocator raw = new HostRawAllocator(96 * MiB);
                CachingAllocator allocator = new CachingAllocator(raw,
                        AllocatorConfig.defaults().withDebug(false).withDefaultStream(streams[0]))) {
            List<Live> live = new ArrayList<>();
            long expectedOoms = 0;
            for (int step = 0; step < STEPS; step++) {
                int action = random.nextInt(100);
                if (action < 55 || live.isEmpty()) {
                    long bytes = randomSize(random);
                    ManualStream stream = streams[random.nextInt(streams.length)];
                    try {
                        Allocation a = allocator.allocate(bytes, stream, "t" + (step % 7));
                        byte pattern = (byte) random.nextInt(256);
                        Live l = new Live(a, pattern);
                        writePattern(l);
                        live.add(l);
                    } catch (FrugalOutOfMemoryException oom) {
                        expectedOoms++;
                        assertTrue(oom.reservedBytes() + BlockSizes.segmentSize(BlockSizes.roundRequest(bytes)) > 96 * MiB,
                                "an OOM only when a new segment truly does not fit: " + oom.getMessage());
                    }
                } else if (action < 90) {
                    Live victim = live.remove(random.nextInt(live.size()));
                    verifyPattern(victim);
                    if (action < 70) {
                        allocator.recordStream(victim.allocation(), streams[random.nextInt(streams.length)]);
                    }
                    victim.allocation().close();
                } else if (action < 97) {
                    streams[random.nextInt(streams.length)].completeAll();
                } else {
                    allocator.emptyCache();
                }
                checkInvariants(allocator, raw, live);
                assertEquals(expectedOoms, allocator.snapshot().outOfMemoryErrors());
            }
            for (Live l : live) {
                verifyPattern(l);
                l.allocation().close();
            }
            allocator.emptyCache();
            MemoryStats end = allocator.snapshot();
            assertEquals(0, end.reservedBytes());
            assertEquals(0, end.activeBytes());
            assertEquals(0, end.inactiveSplitBytes());
            assertEquals(end.allocations(), end.frees());
            assertEquals(end.rawAllocations(), end.rawFrees());
            assertEquals(0, raw.usedBytes());
        }
    }

    private static long randomSize(Random random) {
        return switch (random.nextInt(10)) {
            case 0, 1, 2, 3, 4 -> random.nextInt(16 * 1024);
            case 5, 6, 7 -> random.nextInt((int) MiB) + 1;
            case 8 -> MiB + random.nextInt((int) (9 * MiB));
            default -> 10 * MiB + random.nextInt((int) (14 * MiB));
        };
    }

    /** Samples 64 offsets plus the last byte: enough to catch overlap, cheap even for 24 MiB blocks. */
    private static long[] sampleOffsets(long byteSize) {
        if (byteSize == 0) {
            return new long[0];
        }
        long stride = Math.max(1, byteSize / 64);
        return java.util.stream.LongStream.concat(
                java.util.stream.LongStream.iterate(0, o -> o < byteSize, o -> o + stride),
                java.util.stream.LongStream.of(byteSize - 1)).toArray();
    }

    private static void writePattern(Live l) {
        var view = l.allocation().segment();
        for (long offset : sampleOffsets(view.byteSize())) {
            view.set(ValueLayout.JAVA_BYTE, offset, l.pattern());
        }
    }

    private static void verifyPattern(Live l) {
        var view = l.allocation().segment();
        for (long offset : sampleOffsets(view.byteSize())) {
            assertEquals(l.pattern(), view.get(ValueLayout.JAVA_BYTE, offset),
                    "bytes of " + l.allocation() + " were overwritten at offset " + offset);
        }
    }

    private static void checkInvariants(CachingAllocator allocator, HostRawAllocator raw, List<Live> live) {
        MemoryStats stats = allocator.snapshot();
        List<Allocation> sorted = live.stream().map(Live::allocation)
                .sorted(Comparator.comparingLong(Allocation::address)).toList();
        for (int i = 1; i < sorted.size(); i++) {
            Allocation before = sorted.get(i - 1);
            assertTrue(before.address() + before.size() <= sorted.get(i).address(),
                    before + " overlaps " + sorted.get(i));
        }
        assertEquals(live.stream().mapToLong(l -> l.allocation().size()).sum(), stats.allocatedBytes());
        assertEquals(live.stream().mapToLong(l -> l.allocation().requestedSize()).sum(), stats.requestedBytes());
        assertEquals(live.size(), stats.allocations() - stats.frees());
        assertEquals(raw.usedBytes(), stats.reservedBytes(), "reserved bytes are exactly what the raw source handed out");
        assertEquals(stats.rawAllocations() - stats.rawFrees(), stats.segments());
        assertTrue(stats.activeBytes() >= stats.allocatedBytes());
        assertTrue(stats.activeBytes() + stats.inactiveSplitBytes() <= stats.reservedBytes());
        assertTrue(stats.reservedBytes() <= 96 * MiB);
        assertEquals(live.size(), allocator.liveAllocations().size());
    }
}
