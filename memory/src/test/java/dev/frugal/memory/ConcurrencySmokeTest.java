package dev.frugal.memory;

import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

class ConcurrencySmokeTest {

    @Test
    void threadsAllocatingAndFreingConcurrentlyNeverShareMemory() throws Exception {
        int threads = 4;
        try (HostRawAllocator raw = new HostRawAllocator();
                CachingAllocator allocator = new CachingAllocator(raw, AllocatorConfig.defaults().withDebug(false));
                ExecutorService pool = Executors.newFixedThreadPool(threads)) {
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                long seed = t;
                done.add(pool.submit(() -> {
                    Random random = new Random(seed);
                    List<Allocation> mine = new ArrayList<>();
                    for (int i = 0; i < 5000; i++) {
                        if (mine.size() < 32 && random.nextBoolean()) {
                            Allocation a = allocator.allocate(random.nextInt(256 * 1024));
                            // Each thread stamps its id: another thread's allocation over these bytes would show.
                            a.segment().fill((byte) seed);
                            mine.add(a);
                        } else if (!mine.isEmpty()) {
                            Allocation a = mine.remove(random.nextInt(mine.size()));
                            var view = a.segment();
                            for (long off = 0; off < view.byteSize(); off += 997) {
                                assertEquals((byte) seed, view.get(java.lang.foreign.ValueLayout.JAVA_BYTE, off));
                            }
                            a.close();
                        }
                    }
                    mine.forEach(Allocation::close);
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get();
            }
            MemoryStats stats = allocator.snapshot();
            assertEquals(0, stats.allocatedBytes());
            assertEquals(stats.allocations(), stats.frees());
            assertEquals(raw.usedBytes(), stats.reservedBytes());
        }
    }
}
